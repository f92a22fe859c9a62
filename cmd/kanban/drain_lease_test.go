package main

import (
	"context"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A signal that reaches kanban inside a write transaction drains it: the
// transaction rolls back (nothing of the completion is on the board), the
// process exits 128+signal with no error message, and no lease or open
// guard is left held, so the next writer proceeds at once.
func TestDrain_signalInTransaction(t *testing.T) {
	tests := []struct {
		mode, name string
		sig        syscall.Signal
		code       int
	}{
		{"delete", "SIGTERM", syscall.SIGTERM, 143},
		{"wal", "SIGTERM", syscall.SIGTERM, 143},
		{"wal", "SIGINT", syscall.SIGINT, 130},
		{"delete", "SIGHUP", syscall.SIGHUP, 129},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.name, func(t *testing.T) {
			b := newTestBoard(t, tt.mode)
			id := b.createTask(t, "to complete")
			b.mustRun(t, "claim", id)
			c := openDB(t, b.db)
			before := boardSnapshot(t, b, id)
			p := b.startPaused(t, "complete", "complete", id, "--result", "half done")
			if code := p.signal(t, tt.sig); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if got := strings.TrimSpace(p.stderr.String()); !strings.HasPrefix(got, "kanbanshim-test: paused") || strings.Contains(got, "\n") {
				t.Errorf("stderr %q, want only the pause line", got)
			}
			checkNoLocks(t, b.db)
			if after := boardSnapshot(t, b, id); after != before {
				t.Errorf("board changed by the interrupted transaction:\nbefore %s\nafter  %s", before, after)
			}
			checkIntegrity(t, c)
			r, err := b.run(context.Background(), []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=0.1"}, "complete", id, "--result", "ok")
			if err != nil || r.code != 0 {
				t.Fatalf("next writer: %v (err %v)", r, err)
			}
			if n := count(t, c, "SELECT count(*) FROM tasks WHERE id = ? AND status = 'done'", id); n != 1 {
				t.Errorf("task not done after the retry")
			}
		})
	}
}

// A writer queued behind the drained one gets the lease when it is
// released and completes normally.
func TestDrain_waiterProceeds(t *testing.T) {
	b := newTestBoard(t, "wal")
	id := b.createTask(t, "shared")
	p := b.startPaused(t, "comment", "comment", id, "interrupted")
	done := make(chan result, 1)
	go func() {
		r, err := b.run(context.Background(), nil, "comment", id, "queued")
		if err != nil {
			r.code, r.stderr = -1, err.Error()
		}
		done <- r
	}()
	select {
	case r := <-done:
		t.Fatalf("the queued writer finished while the lease was held: %v", r)
	case <-time.After(time.Second):
	}
	if code := p.signal(t, syscall.SIGTERM); code != 143 {
		t.Errorf("holder exit code %d, want 143", code)
	}
	select {
	case r := <-done:
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("queued writer: %v", r)
		}
	case <-time.After(time.Minute):
		t.Fatal("queued writer still waiting a minute after the holder exited")
	}
	c := openDB(t, b.db)
	bodies := strings.Join(mustStrings(t, c, "SELECT body FROM task_comments WHERE task_id = ? ORDER BY id", id), ",")
	if bodies != "queued" {
		t.Errorf("comments = %q, want only the queued one", bodies)
	}
	checkNoLocks(t, b.db)
}

// boardSnapshot renders a task's row, runs, events and comments, to
// compare before and after an interrupted write.
func boardSnapshot(t *testing.T, b *testBoard, id string) string {
	t.Helper()
	c := openDB(t, b.db)
	var parts []string
	for _, q := range []string{
		"SELECT status || '|' || ifnull(result, '') || '|' || ifnull(current_run_id, '') || '|' || ifnull(claim_lock, '') FROM tasks WHERE id = ?",
		"SELECT id || ':' || status || ':' || ifnull(outcome, '') || ':' || ifnull(ended_at, '') FROM task_runs WHERE task_id = ? ORDER BY id",
		"SELECT kind FROM task_events WHERE task_id = ? ORDER BY id",
		"SELECT body FROM task_comments WHERE task_id = ? ORDER BY id",
	} {
		parts = append(parts, strings.Join(mustStrings(t, c, q, id), ","))
	}
	return strings.Join(parts, " / ")
}

// Long-running commands stop within a second of the first SIGTERM and
// leave no lock behind. (watch and tail exit 143; the daemon, like
// upstream's, reports "(dispatcher stopped)" and exits 0.)
func TestDrain_longRunningCommands(t *testing.T) {
	b := newTestBoard(t, "wal")
	id := b.createTask(t, "watched")
	tests := []struct {
		args  []string
		ready string
		codes []int
	}{
		{[]string{"watch"}, "Watching kanban events", []int{143}},
		{[]string{"tail", id}, "Tailing events for " + id, []int{143}},
		{[]string{"daemon", "--interval", "5"}, "Kanban dispatcher running", []int{0, 143}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			cmd := b.command(t.Context(), nil, tt.args...)
			out := newLineBuffer()
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			select {
			case <-out.match(tt.ready):
			case <-exited:
				t.Fatalf("kanban %s exited early: %q", tt.args[0], out.String())
			case <-time.After(30 * time.Second):
				t.Fatalf("kanban %s did not start: %q", tt.args[0], out.String())
			}
			start := time.Now()
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("kanban %s still running 10s after SIGTERM", tt.args[0])
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("kanban %s took %v to stop after SIGTERM, want < 1s", tt.args[0], d)
			}
			if code := cmd.ProcessState.ExitCode(); !slices.Contains(tt.codes, code) {
				t.Errorf("kanban %s exit code %d, want one of %v; output %q", tt.args[0], code, tt.codes, out.String())
			}
			checkNoLocks(t, b.db)
		})
	}
}
