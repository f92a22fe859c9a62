package pypeer

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// newBoard creates a board with the canonical schema in the given journal
// mode, the way kanban creates one (nobody else has it open yet).
func newBoard(t *testing.T, mode string) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "kanban.db")
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec("PRAGMA journal_mode=" + mode); err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(context.Background(), c, migrate.Options{Now: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	return db
}

func newPeer(t *testing.T, db string) *Peer {
	t.Helper()
	p, err := New(t.TempDir(), db)
	if errors.Is(err, ErrNoPython) {
		t.Skip("python3 is not installed")
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A work run writes whole cycles through upstream's shapes, leaves the
// journal mode alone, and its rows read back as the statuses upstream
// would leave them.
func TestPeer_Work(t *testing.T) {
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			db := newBoard(t, mode)
			p := newPeer(t, db)
			ctx := context.Background()
			res, err := p.Work(ctx, WorkOptions{Writes: 10, Tag: "py"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Writes != 10 || len(res.Created) != 2 || res.JournalMode != mode {
				t.Fatalf("result = %+v, want 10 writes, 2 tasks, mode %s", res, mode)
			}
			chk, err := p.Check(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !chk.OK() || chk.JournalMode != mode {
				t.Fatalf("check = %+v", chk)
			}
			want := map[string]int64{"tasks": 2, "task_comments": 2, "task_runs": 2, "task_events": 10}
			for table, n := range want {
				if chk.Counts[table] != n {
					t.Errorf("%s = %d rows, want %d", table, chk.Counts[table], n)
				}
			}
			c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READONLY)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			kinds, err := sqlx.QueryStrings(c, "SELECT kind FROM task_events WHERE task_id = ? ORDER BY id", res.Created[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(kinds, ","); got != "created,claimed,heartbeat,commented,completed" {
				t.Errorf("events = %s", got)
			}
			n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM tasks WHERE status = 'done' AND current_run_id IS NULL AND created_by = 'py'")
			if err != nil || n != 2 {
				t.Errorf("done tasks = %d, %v; want 2", n, err)
			}
			n, _, err = sqlx.QueryInt(c, "SELECT count(*) FROM task_runs WHERE outcome = 'completed' AND ended_at IS NOT NULL")
			if err != nil || n != 2 {
				t.Errorf("closed runs = %d, %v; want 2", n, err)
			}
		})
	}
}

// With ForeignComments the peer comments on tasks it did not create.
func TestPeer_Work_foreignComments(t *testing.T) {
	db := newBoard(t, "wal")
	p := newPeer(t, db)
	ctx := context.Background()
	other, err := p.Work(ctx, WorkOptions{Writes: 1, Tag: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Work(ctx, WorkOptions{Writes: 5, Tag: "py", ForeignComments: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ForeignCommented) != 1 || res.ForeignCommented[0] != other.Created[0] {
		t.Errorf("foreign comments = %v, want [%s]", res.ForeignCommented, other.Created[0])
	}
}

// The peer never creates a board: a missing file is exit 2, and no file
// appears.
func TestPeer_missingBoard(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	p := newPeer(t, db)
	_, err := p.Work(context.Background(), WorkOptions{Writes: 1, Tag: "py"})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("Work on a missing board = %v, want exit 2", err)
	}
	if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the peer created %s (stat: %v)", db, err)
	}
}

func TestPeer_Comment_unknownTask(t *testing.T) {
	p := newPeer(t, newBoard(t, "delete"))
	if err := p.Comment(context.Background(), "t_00000000", "hi"); err == nil || !strings.Contains(err.Error(), "unknown task t_00000000") {
		t.Fatalf("Comment = %v, want unknown task", err)
	}
}

// While the peer holds its write transaction, a Go connection cannot
// start one (Python's POSIX locks and ncruces' OFD locks see each other);
// it gets in once the peer commits.
func TestPeer_StartHold(t *testing.T) {
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			db := newBoard(t, mode)
			p := newPeer(t, db)
			ctx := context.Background()
			res, err := p.Work(ctx, WorkOptions{Writes: 1, Tag: "py"})
			if err != nil {
				t.Fatal(err)
			}
			h, err := p.StartHold(ctx, res.Created[0], 500*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			c, err := sqlite3.Open(db)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Exec("BEGIN IMMEDIATE"); !errors.Is(err, sqlite3.BUSY) {
				t.Fatalf("BEGIN IMMEDIATE while the peer holds = %v, want SQLITE_BUSY", err)
			}
			id, err := h.Wait()
			if err != nil || id <= 0 {
				t.Fatalf("Wait = %d, %v", id, err)
			}
			if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
				t.Fatalf("BEGIN IMMEDIATE after the peer committed = %v", err)
			}
			n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM task_comments WHERE id = ?", id)
			if err != nil || n != 1 {
				t.Errorf("held comment rows = %d, %v; want 1", n, err)
			}
			if err := c.Exec("ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
