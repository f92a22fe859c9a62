package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// stateOf is the board's content hash (db, -wal, -journal): what must
// not change while it is marked damaged.
func stateOf(t testing.TB, db string) string {
	t.Helper()
	h, err := board.ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// damageTable zeroes every page of table (and of its indexes) in the
// board file, as the field loses pages. The board must be closed by
// every connection, so its file holds every page.
func damageTable(t testing.TB, db, table string) {
	t.Helper()
	pages, ps, err := fixtures.TablePages(db, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := fixtures.ZeroPages(db, ps, pages...); err != nil {
		t.Fatal(err)
	}
}

// oneLine fails unless s is exactly one line containing every want.
func oneLine(t testing.TB, what, s string, want ...string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s: stderr %q, want one line", what, s)
		return
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: stderr %q lacks %q", what, s, w)
		}
	}
}

const fixDefault = "To repair it run: kanban-recover auto --board default\n"

// Issue 10, reproduction 2: damage the pages of task_links. `show` fails
// with the repair hint and marks the board; every later write (the very
// next create first) exits 1 with one line and leaves the db and its
// -wal byte-identical; reads that avoid the damaged pages still work,
// with one warning line.
func TestReproduction2_detectionIsSticky(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			parent := b.createTask(t, "parent")
			child := b.createTask(t, "child")
			b.mustRun(t, "link", parent, child)
			for i := range 20 {
				b.mustRun(t, "create", "linked "+string(rune('a'+i)), "--parent", parent, "--parent", child)
			}
			damageTable(t, b.db, "task_links")
			ctx := context.Background()

			r, err := b.run(ctx, nil, "show", child)
			if err != nil || r.code != 1 || r.stdout != "" {
				t.Fatalf("show on the damaged board: %v (err %v)", r, err)
			}
			oneLine(t, "show", r.stderr, "Refusing to open corrupt kanban DB", fixDefault)
			d, err := board.ReadDamage(b.db)
			if d == nil || err != nil {
				t.Fatalf("no damage marker after show: %v", err)
			}
			// SQLite's "malformed", or the open-time root-page check's finding.
			if !(strings.Contains(d.Seen, "malformed") || strings.Contains(d.Seen, "root page of table task_links")) || len(d.Command) < 2 || d.Command[1] != "show" || d.PID <= 0 || d.Snapshot == "" {
				t.Errorf("marker %+v", d)
			}
			if _, err := os.Stat(d.Snapshot); err != nil {
				t.Errorf("the marker's forensic copy: %v", err)
			}
			before := stateOf(t, b.db)

			r, err = b.run(ctx, nil, "create", "written into a damaged board")
			if err != nil || r.code != 1 || r.stdout != "" {
				t.Fatalf("create after the detection: %v (err %v)", r, err)
			}
			oneLine(t, "create", r.stderr, "is marked damaged (seen ", "by kanban show "+child, fixDefault)
			for _, args := range [][]string{{"comment", parent, "no"}, {"complete", parent}, {"init"}, {"dispatch"}} {
				r, err := b.run(ctx, nil, args...)
				if err != nil || r.code != 1 {
					t.Errorf("%v (err %v)", r, err)
				}
				oneLine(t, args[0], r.stderr, "is marked damaged", fixDefault)
			}
			r, err = b.run(ctx, nil, "stats")
			if err != nil || r.code != 0 || !strings.Contains(r.stdout, "ready") {
				t.Errorf("stats on the marked board: %v (err %v)", r, err)
			}
			oneLine(t, "stats", r.stderr, "kanban: warning: board "+b.db+" is marked damaged", fixDefault)
			if after := stateOf(t, b.db); after != before {
				t.Error("the marked board changed")
			}
			if _, err := os.Stat(board.Journal(b.db)); err == nil {
				t.Error("a -journal was left next to the marked board")
			}
		})
	}
}

// While a marker exists every kanban verb that writes exits 1 with one
// line naming the repair, before it touches the board; every read gives
// the stdout it gives without the marker, with one warning line on
// stderr. Here the board is sound: the marker alone decides.
func TestMarker_writesRefusedReadsWarn(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			id := b.createTask(t, "first")
			other := b.createTask(t, "second")
			b.mustRun(t, "comment", id, "hello")
			att := filepath.Join(b.home, "att.txt")
			if err := os.WriteFile(att, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			reads := [][]string{{"list", "--json"}, {"list"}, {"show", id, "--json"}, {"runs", id, "--json"},
				{"assignees", "--json"}, {"context", id}, {"notify-list", "--json"}, {"attachments", id, "--json"},
				{"dispatch", "--dry-run", "--json"}}
			clean := map[string]string{}
			for _, args := range reads {
				r, err := b.run(ctx, nil, args...)
				if err != nil || r.code != 0 || r.stderr != "" {
					t.Fatalf("%v (err %v)", r, err)
				}
				clean[strings.Join(args, " ")] = r.stdout
			}
			if _, _, err := board.RecordDamage(b.db, board.Damage{Seen: "test: database disk image is malformed"}); err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, b.db)

			writes := [][]string{
				{"create", "refused"}, {"comment", id, "refused"}, {"complete", id}, {"complete", id, other},
				{"block", id, "why"}, {"unblock", id}, {"schedule", id}, {"promote", id}, {"claim", id},
				{"heartbeat", id}, {"assign", id, "alice"}, {"reassign", id, "bob"}, {"reclaim", id},
				{"set-model", id, "m"}, {"link", id, other}, {"unlink", id, other}, {"archive", id},
				{"edit", id, "--title", "t"}, {"request-review", id}, {"request-changes", id, "why"},
				{"reopen-review", id}, {"gc"}, {"init"}, {"dispatch"},
				{"notify-subscribe", id, "--platform", "p", "--chat-id", "c"},
				{"notify-unsubscribe", id, "--platform", "p", "--chat-id", "c"},
				{"attach", id, att}, {"attach-rm", "1"},
				{"supervise", "--task", id, "--run", "1", "--", "true"},
			}
			for _, args := range writes {
				r, err := b.run(ctx, nil, args...)
				if err != nil || r.code != 1 || r.stdout != "" {
					t.Errorf("%v (err %v): want exit 1, nothing on stdout", r, err)
				}
				oneLine(t, strings.Join(args, " "), r.stderr, "kanban: board "+b.db+" is marked damaged (seen ", fixDefault)
			}
			for _, args := range reads {
				r, err := b.run(ctx, nil, args...)
				key := strings.Join(args, " ")
				if err != nil || r.code != 0 {
					t.Errorf("%v (err %v)", r, err)
				}
				if r.stdout != clean[key] {
					t.Errorf("%s: stdout changed by the marker:\n%s\nwant\n%s", key, r.stdout, clean[key])
				}
				oneLine(t, key, r.stderr, "kanban: warning: board "+b.db+" is marked damaged (seen ", fixDefault)
			}
			if after := stateOf(t, b.db); after != before {
				t.Error("the marked board changed")
			}
		})
	}
}

// A supervisor whose board is marked while its worker runs cannot record
// the exit: it says so in the task log and exits with the worker's code,
// and the board is not written.
func TestMarker_supervisorRecordRefused(t *testing.T) {
	b := newTestBoard(t, "wal")
	id := b.createTask(t, "supervised")
	b.mustRun(t, "claim", id)
	ctx := context.Background()
	gate := filepath.Join(b.home, "go")
	cmd := b.command(ctx, []string{"HERMES_KANBAN_TASK=" + id, "HERMES_KANBAN_RUN_ID=1"},
		"supervise", "--task", id, "--run", "1", "--max-workers", "1", "--",
		"sh", "-c", `touch "$0.started"; while [ ! -e "$0" ]; do sleep 0.05; done; exit 3`, gate)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, gate+".started")
	if _, _, err := board.RecordDamage(b.db, board.Damage{Seen: "test"}); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, b.db)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 3 {
		t.Errorf("supervise: %v, want the worker's exit code 3", err)
	}
	if after := stateOf(t, b.db); after != before {
		t.Error("the supervisor wrote the marked board")
	}
	log, _ := os.ReadFile(filepath.Join(b.home, "kanban", "logs", id+".log"))
	if !strings.Contains(string(log), "could not record the worker's exit: board "+b.db+" is marked damaged") {
		t.Errorf("task log:\n%s", log)
	}
}

func waitFor(t testing.TB, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear", path)
}

// The daemon's health check: with a 1 s interval, pages of a table no
// tick reads (task_comments) destroyed between ticks are found by the
// next quick_check; the board is marked, one line names the repair, and
// the daemon spawns nothing there from then on (its file stays as it
// was) while it keeps serving the other board.
func TestDaemon_healthCheckMarksBoard(t *testing.T) {
	b := newTestBoard(t, "wal")
	b.mustRun(t, "boards", "create", "side")
	side := filepath.Join(b.home, "kanban", "boards", "side", "kanban.db")
	// carol has no profile yet: her task waits on the side board.
	r, err := b.run(context.Background(), nil, "--board", "side", "create", "waits for carol", "--assignee", "carol")
	if err != nil || r.code != 0 {
		t.Fatalf("%v (err %v)", r, err)
	}
	waiting, _ := createdID(r.stdout)
	for i := range 40 {
		b.mustRun(t, "--board", "side", "comment", waiting, strings.Repeat("comment ", 20)+string(rune('a'+i%26)))
	}
	worker := filepath.Join(b.home, "fake-hermes")
	script := "#!/bin/sh\nexec " + b.bin + " complete \"$HERMES_KANBAN_TASK\" --result ok\n"
	if err := os.WriteFile(worker, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The daemon's snapshots are off: this is about the health check.
	dl := startDaemon(t, b, "HERMES_BIN="+worker, "HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS=1", "HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS=0")
	time.Sleep(500 * time.Millisecond) // the start-up check passed, ticks run
	if d, _ := board.ReadDamage(side); d != nil {
		t.Fatalf("the sound side board was marked: %+v", d)
	}
	damageTable(t, side, "task_comments")
	waitFor(t, board.DamagedPath(side))
	d, _ := board.ReadDamage(side)
	// Found by the health check's quick_check, or first by a tick's open
	// (the root-page check: task_comments' root page is among those zeroed).
	if d == nil || !(strings.Contains(d.Seen, "quick_check") || strings.Contains(d.Seen, "root page of table task_comments")) ||
		!strings.Contains(strings.Join(d.Command, " "), "daemon") {
		t.Errorf("marker %+v", d)
	}
	before := stateOf(t, side)

	// carol appears: the side board's task would be spawned now, and
	// a task of hers on the default board is.
	if err := os.MkdirAll(filepath.Join(b.home, "profiles", "carol"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.home, "profiles", "carol", "config.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = b.run(context.Background(), nil, "create", "for carol on default", "--assignee", "carol")
	if err != nil || r.code != 0 {
		t.Fatalf("%v (err %v)", r, err)
	}
	onDefault, _ := createdID(r.stdout)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.mustRun(t, "show", onDefault), "done") {
		if time.Now().After(deadline) {
			t.Fatal("the daemon stopped serving the default board")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // more ticks and another health round
	dl.stop()

	if after := stateOf(t, side); after != before {
		t.Error("the daemon wrote the marked board")
	}
	c := openReadOnly(t, side)
	status, _, err := sqlx.QueryText(c, "SELECT status FROM tasks WHERE id = ?", waiting)
	if err != nil || status != "ready" {
		t.Errorf("carol's task on the marked board is %q (err %v), want still ready", status, err)
	}
	health := dl.matching(regexp.MustCompile(`board side|` + regexp.QuoteMeta(side)))
	if len(health) != 1 || !(strings.Contains(health[0], "board side failed its health check (") && strings.Contains(health[0], "quick_check") ||
		strings.Contains(health[0], "board side is damaged; not dispatching it") && strings.Contains(health[0], "root page of table task_comments")) ||
		!strings.HasSuffix(health[0], "To repair it run: kanban-recover auto --board side") {
		t.Errorf("daemon lines about the side board: %q, want one naming the repair", health)
	}
}

// openReadOnly opens a copy of the board (the board's own files stay as
// they are) for queries.
func openReadOnly(t testing.TB, db string) *sqlite3.Conn {
	t.Helper()
	dir := t.TempDir()
	cp := filepath.Join(dir, "copy.db")
	for _, suf := range []string{"", board.WALSuffix} {
		data, err := os.ReadFile(db + suf)
		if err != nil {
			continue
		}
		if err := os.WriteFile(cp+suf, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return openDB(t, cp)
}
