package cli

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// seedBoard fills a new WAL board with n tasks in one transaction, the
// shape a long-lived board has: every status, a created event each, todo
// tasks waiting on an open parent and blocked tasks blocked on purpose
// (so list's recompute_ready scans them all and promotes none).
func seedBoard(b testing.TB, e *verbsEnv, n int) string {
	b.Helper()
	e.must(b, "init")
	return seedBoardMode(b, e, n, "wal")
}

// seedBoardMode is seedBoard on a board created in the given journal
// mode (or the existing board, which must be in it).
func seedBoardMode(b testing.TB, e *verbsEnv, n int, mode string) string {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.dbPath(), store.Options{JournalMode: mode,
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} }})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if st.JournalMode() != mode {
		b.Fatalf("board is %s, want %s", st.JournalMode(), mode)
	}
	var last string
	err = st.Write(ctx, "bench seed", func() error {
		for i := 0; i < n; i++ {
			last = fmt.Sprintf("t_%08x", i)
			status := []string{"ready", "todo", "triage", "done", "blocked"}[i%5]
			if _, err := sqlx.Exec(st.Conn(), `INSERT INTO tasks (id, title, body, assignee, status, priority, created_by, created_at,
				workspace_kind, tenant, skills, completion_contract) VALUES (?, ?, ?, ?, ?, ?, 'user', ?, 'scratch', ?, '["review"]', 'local-only')`,
				last, fmt.Sprintf("task number %d with a realistic title", i), "a body that says what to do", []string{"alice", "bob", "carol"}[i%3],
				status, int64(i%4), int64(1_780_000_000+i), "acme"); err != nil {
				return err
			}
			if _, err := sqlx.Exec(st.Conn(), "INSERT INTO task_events (task_id, kind, payload, created_at) VALUES (?, 'created', ?, ?)",
				last, `{"assignee": "alice", "status": "ready"}`, int64(1_780_000_000+i)); err != nil {
				return err
			}
			if err := seedGate(st, status, last, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return last
}

// seedGate keeps todo and blocked tasks where they are: todo waits on the
// triage task seeded just after it, blocked has an explicit block.
func seedGate(st *store.Store, status, id string, i int) error {
	switch status {
	case "todo":
		_, err := sqlx.Exec(st.Conn(), "INSERT INTO task_links (parent_id, child_id) VALUES (?, ?)", fmt.Sprintf("t_%08x", i+1), id)
		return err
	case "blocked":
		_, err := sqlx.Exec(st.Conn(), "INSERT INTO task_events (task_id, kind, payload, created_at) VALUES (?, 'blocked', NULL, ?)", id, int64(1_780_000_000+i))
		return err
	}
	return nil
}

// BenchmarkListJSON10k is the full `kanban list --json` path on a
// 10,000-task board: open, recompute_ready, query, render, print.
func BenchmarkListJSON10k(b *testing.B) {
	e := newVerbsEnv(b)
	seedBoard(b, e, 10_000)
	e.must(b, "list") // a no-op recompute: nothing left to promote
	ctx := context.Background()
	for b.Loop() {
		a, _, errb := e.app()
		a.Stdout = io.Discard
		if err := Run(ctx, a, []string{"list", "--json"}); err != nil {
			b.Fatal(err, errb.String())
		}
	}
}

// BenchmarkStartupShow is the start-up cost of a read verb: open the board
// (header check, open guard, PRAGMAs, schema check) and show one task.
func BenchmarkStartupShow(b *testing.B) {
	e := newVerbsEnv(b)
	id := seedBoard(b, e, 100)
	ctx := context.Background()
	for b.Loop() {
		a, _, errb := e.app()
		a.Stdout = io.Discard
		if err := Run(ctx, a, []string{"show", id}); err != nil {
			b.Fatal(err, errb.String())
		}
	}
}

// BenchmarkListBaselineSQL10k is the baseline for BenchmarkListJSON10k,
// measured on the same kind of board in the same run: one connection
// reading every column of every task, nothing rendered.
func BenchmarkListBaselineSQL10k(b *testing.B) {
	e := newVerbsEnv(b)
	seedBoard(b, e, 10_000)
	ctx := context.Background()
	for b.Loop() {
		st, err := store.Open(ctx, e.dbPath(), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		err = sqlx.Query(st.Conn(), "SELECT * FROM tasks WHERE status != 'archived' ORDER BY priority DESC, created_at ASC", nil, func(r *sqlx.Row) error {
			for i := range r.Columns() {
				_ = r.ValueAt(i)
			}
			n++
			return nil
		})
		st.Close()
		if err != nil || n != 10_000 {
			b.Fatal(n, err)
		}
	}
}
