package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// A kanban process SIGKILLed inside a write transaction (holding the
// write lease, the open guard and SQLite's write lock) releases all of
// them at once: the lease can be taken within 100 ms, the next kanban
// writer gets through with a 100 ms lease bound, and the killed
// transaction left nothing behind.
func TestLease_holderKilled(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			id := b.createTask(t, "victim")
			p := b.startPaused(t, "comment", "comment", id, "never committed")
			if code := p.signal(t, syscall.SIGKILL); code != -1 {
				t.Errorf("exit code %d, want death by SIGKILL", code)
			}
			l := lockd.NewLease(b.db)
			if err := l.Acquire(context.Background(), "probe", 100*time.Millisecond); err != nil {
				t.Fatalf("lease after SIGKILL: %v", err)
			}
			if err := l.Release(); err != nil {
				t.Fatal(err)
			}
			checkNoLocks(t, b.db)
			r, err := b.run(context.Background(), []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=0.1"}, "comment", id, "after the kill")
			if err != nil || r.code != 0 || r.stderr != "" {
				t.Fatalf("next writer: %v (err %v)", r, err)
			}
			c := openDB(t, b.db)
			bodies, err := sqlx.QueryStrings(c, "SELECT body FROM task_comments WHERE task_id = ?", id)
			if err != nil {
				t.Fatal(err)
			}
			if len(bodies) != 1 || bodies[0] != "after the kill" {
				t.Errorf("comments = %q, want only the one after the kill", bodies)
			}
			checkIntegrity(t, c)
		})
	}
}

// busyRe is the lease timeout message of a kanban write.
var busyRe = regexp.MustCompile(`^kanban: board write lease busy: held by pid (\d+) \((.*)\) for (\d+)s\n$`)

// A stuck holder makes the next writer give up after the lease timeout,
// with exit 1 and one line naming the holder's pid, its command and how
// long it has held the lease. Reads never wait for the lease.
func TestLease_stuckHolder(t *testing.T) {
	for _, mode := range journalModes {
		t.Run(mode, func(t *testing.T) {
			b := newTestBoard(t, mode)
			id := b.createTask(t, "contended")
			p := b.startPaused(t, "comment", "comment", id, "stuck")
			ctx := context.Background()
			fast := []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=1"}
			for _, read := range [][]string{{"list"}, {"show", id}, {"stats"}} {
				if r, err := b.run(ctx, fast, read...); err != nil || r.code != 0 {
					t.Errorf("read while the lease is held: %v (err %v)", r, err)
				}
			}
			start := time.Now()
			r, err := b.run(ctx, fast, "comment", id, "waiting")
			if err != nil {
				t.Fatal(err)
			}
			waited := time.Since(start)
			m := busyRe.FindStringSubmatch(r.stderr)
			if r.code != 1 || r.stdout != "" || m == nil {
				t.Fatalf("%v; want exit 1 and stderr matching %s", r, busyRe)
			}
			if m[1] != strconv.Itoa(p.pid()) || m[2] != "kanban comment "+id+" stuck" {
				t.Errorf("message names pid %s (%s), want pid %d (kanban comment %s stuck)", m[1], m[2], p.pid(), id)
			}
			if secs, _ := strconv.Atoi(m[3]); secs < 1 {
				t.Errorf("holder held for %ds, but we waited %v for it", secs, waited)
			}
			if waited < time.Second {
				t.Errorf("gave up after %v, before the 1s lease timeout", waited)
			}
			if code := p.signal(t, syscall.SIGTERM); code != 143 {
				t.Errorf("holder exit code %d after SIGTERM, want 143", code)
			}
			checkIntegrity(t, openDB(t, b.db))
		})
	}
}

// The lease timeout comes from config.yaml kanban.lease_timeout_seconds,
// overridden by HERMES_KANBAN_LEASE_TIMEOUT_SECONDS.
func TestLease_timeoutConfig(t *testing.T) {
	b := newTestBoard(t, "wal")
	id := b.createTask(t, "contended")
	cfg := "kanban:\n  lease_timeout_seconds: 0.5\n"
	if err := os.WriteFile(filepath.Join(b.home, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := b.startPaused(t, "comment", "comment", id, "stuck")
	ctx := context.Background()
	tests := []struct {
		name     string
		env      []string
		min, max time.Duration
	}{
		// Without the config the default is 30 s: finishing in 10 s
		// shows the config was used.
		{"config", nil, 500 * time.Millisecond, 10 * time.Second},
		{"env over config", []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=2"}, 2 * time.Second, 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r, err := b.run(ctx, tt.env, "comment", id, "waiting")
			if err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			if r.code != 1 || !busyRe.MatchString(r.stderr) {
				t.Fatalf("%v; want a lease timeout", r)
			}
			if d < tt.min || d > tt.max {
				t.Errorf("gave up after %v, want between %v and %v", d, tt.min, tt.max)
			}
		})
	}
	p.signal(t, syscall.SIGTERM)
}

// While a maintenance tool holds the lease, writers say so.
func TestLease_maintenance(t *testing.T) {
	b := newTestBoard(t, "wal")
	id := b.createTask(t, "during recovery")
	l := lockd.NewLease(b.db)
	if err := l.AcquireMaintenance(context.Background(), "kanban-recover", "swap", time.Second); err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	r, err := b.run(context.Background(), []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=0.3"}, "comment", id, "waiting")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^kanban: board under maintenance by kanban-recover \(pid (\d+)\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$`)
	m := re.FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil || m[1] != strconv.Itoa(os.Getpid()) {
		t.Fatalf("%v; want exit 1 and %s naming pid %d", r, re, os.Getpid())
	}
}
