package lockd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

func TestLease_MutualExclusion(t *testing.T) {
	db := testDB(t)
	const goroutines, procs, each = 6, 3, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() { errs <- incrementN(db, each) })
	}
	var helpers []*helper
	for range procs {
		helpers = append(helpers, startHelper(t, "increment", db, helperCountEnv+"="+strconv.Itoa(each)))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range helpers {
		if err := h.wait(); err != nil {
			t.Fatalf("helper %d: %v", h.pid(), err)
		}
	}
	data, err := os.ReadFile(db + ".counter")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(data)), strconv.Itoa((goroutines+procs)*each); got != want {
		t.Fatalf("counter = %s, want %s (lost updates)", got, want)
	}
}

func TestLease_Acquire_record(t *testing.T) {
	db := testDB(t)
	l := NewLease(db)
	before := time.Now()
	if err := l.Acquire(context.Background(), "complete t_1", time.Second); err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	h, ok, err := ReadHolder(db)
	if err != nil || !ok {
		t.Fatalf("ReadHolder = %v, %v", ok, err)
	}
	if h.PID != os.Getpid() || h.Op != "complete t_1" || h.Maintenance || h.Tool != "" {
		t.Errorf("holder = %+v", h)
	}
	if h.Host != hostname() || len(h.Argv) == 0 || h.Argv[0] != os.Args[0] {
		t.Errorf("holder host/argv = %q %q", h.Host, h.Argv)
	}
	if h.Since.Before(before.Add(-time.Second)) || h.Since.After(time.Now()) || h.Since.Location() != time.UTC {
		t.Errorf("holder since = %v", h.Since)
	}
	raw, err := os.ReadFile(board.LeasePath(db))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(raw), "\n") != 1 || !strings.HasSuffix(string(raw), "\n") {
		t.Errorf("record is not one line: %q", raw)
	}
	for _, key := range []string{`"pid":`, `"host":`, `"argv":`, `"op":`, `"since":`, `"maintenance":`, `"tool":`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("record lacks %s: %s", key, raw)
		}
	}
}

func TestLease_Acquire_reentrant(t *testing.T) {
	l := NewLease(testDB(t))
	ctx := context.Background()
	if err := l.Acquire(ctx, "a", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := l.Acquire(ctx, "b", time.Second); !errors.Is(err, ErrReentrant) {
		t.Fatalf("second Acquire = %v, want ErrReentrant", err)
	}
	for range 2 {
		if err := l.Release(); err != nil {
			t.Fatalf("Release = %v", err)
		}
	}
	if err := l.Acquire(ctx, "c", time.Second); err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLease_Acquire_busy(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "lease", db)
	child.expect(t, "ready")

	start := time.Now()
	err := NewLease(db).Acquire(context.Background(), "complete", 300*time.Millisecond)
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Acquire = %v, want *BusyError", err)
	}
	if !errors.Is(err, ErrLeaseBusy) || errors.Is(err, ErrMaintenance) {
		t.Errorf("errors.Is: busy %v, maintenance %v", errors.Is(err, ErrLeaseBusy), errors.Is(err, ErrMaintenance))
	}
	if !busy.HolderKnown || busy.Holder.PID != child.pid() {
		t.Errorf("holder = %+v known %v, want pid %d", busy.Holder, busy.HolderKnown, child.pid())
	}
	if busy.Waited < 300*time.Millisecond || time.Since(start) > 2*time.Second {
		t.Errorf("waited %v (wall %v), want ~300ms", busy.Waited, time.Since(start))
	}
	re := regexp.MustCompile(`^board write lease busy: held by pid (\d+) \((.+)\) for 0s$`)
	m := re.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("message %q does not match %s", err, re)
	}
	exe, _ := os.Executable()
	if m[1] != strconv.Itoa(child.pid()) || !strings.HasPrefix(m[2], filepath.Base(exe)+" ") {
		t.Errorf("message %q: want pid %d running %s", err, child.pid(), filepath.Base(exe))
	}
	child.finish(t)
}

// The message says how long the holder has held the lease, not how long
// the waiter waited: a holder stuck for minutes must not read "for 0s".
func TestLease_Acquire_busyHeldFor(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "lease", db)
	child.expect(t, "ready")
	h, ok, err := ReadHolder(db)
	if err != nil || !ok {
		t.Fatalf("ReadHolder = %v, %v", ok, err)
	}
	h.Since = time.Now().UTC().Add(-42 * time.Second) // as if taken 42 s ago
	if err := writeHolderFile(board.LeasePath(db), h); err != nil {
		t.Fatal(err)
	}
	err = NewLease(db).Acquire(context.Background(), "complete", 200*time.Millisecond)
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("Acquire = %v, want *BusyError", err)
	}
	if busy.Held < 42*time.Second || busy.Held > 50*time.Second {
		t.Errorf("Held = %v, want ~42s", busy.Held)
	}
	if want := fmt.Sprintf("held by pid %d (%s) for 42s", child.pid(), h.Command()); !strings.HasSuffix(err.Error(), want) {
		t.Errorf("message %q, want suffix %q", err, want)
	}
	child.finish(t)
}

// writeHolderFile replaces the record in a lease file someone else holds.
func writeHolderFile(path string, h Holder) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return errors.Join(writeHolder(f, h), f.Close())
}

func TestLease_Acquire_afterKill(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "lease", db)
	child.expect(t, "ready")
	if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.wait()
	start := time.Now()
	l := NewLease(db)
	if err := l.Acquire(context.Background(), "after kill", 100*time.Millisecond); err != nil {
		t.Fatalf("Acquire after SIGKILL = %v", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("took %v after the holder died, want < 100ms", d)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestLease_Acquire_maintenance(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "maintenance", db)
	child.expect(t, "ready")

	err := NewLease(db).Acquire(context.Background(), "complete", 200*time.Millisecond)
	if !errors.Is(err, ErrMaintenance) {
		t.Fatalf("Acquire = %v, want ErrMaintenance", err)
	}
	re := regexp.MustCompile(`^board under maintenance by kanban-recover \(pid (\d+)\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	m := re.FindStringSubmatch(err.Error())
	if m == nil || m[1] != strconv.Itoa(child.pid()) {
		t.Fatalf("message %q: want %s with pid %d", err, re, child.pid())
	}
	child.finish(t)
}

func TestLease_Acquire_tornRecord(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "lease", db)
	child.expect(t, "ready")
	if err := os.WriteFile(board.LeasePath(db), []byte(`{"pid": 12`), 0o644); err != nil {
		t.Fatal(err)
	}
	checkUnknownHolder(t, db, child.pid())
	child.finish(t)
}

func TestLease_Acquire_staleRecord(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "lease", db)
	child.expect(t, "ready")
	// A record left by an earlier maintenance holder that has since gone.
	stale := `{"pid":999999999,"maintenance":true,"tool":"kanban-recover"}` + "\n"
	if err := os.WriteFile(board.LeasePath(db), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.FlockHolders(board.LeasePath(db)); errors.Is(err, ErrUnsupported) {
		t.Skip("no /proc/locks to contradict the record")
	}
	checkUnknownHolder(t, db, child.pid())
	child.finish(t)
}

// checkUnknownHolder expects a BusyError without a trusted record that
// still names pid when /proc/locks can show it.
func checkUnknownHolder(t *testing.T, db string, pid int) {
	t.Helper()
	err := NewLease(db).Acquire(context.Background(), "complete", 200*time.Millisecond)
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrLeaseBusy) {
		t.Fatalf("Acquire = %v, want *BusyError matching ErrLeaseBusy", err)
	}
	if busy.HolderKnown {
		t.Errorf("HolderKnown = true for holder %+v", busy.Holder)
	}
	if _, ferr := proc.FlockHolders(board.LeasePath(db)); ferr != nil {
		if !strings.Contains(err.Error(), "held by another process") {
			t.Errorf("message %q, want 'held by another process'", err)
		}
		return
	}
	want := fmt.Sprintf("board write lease busy: held by pid %d (", pid)
	if busy.Holder.PID != pid || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q (pid %d), want prefix %q", err, busy.Holder.PID, want)
	}
}

func TestLease_Acquire_cancel(t *testing.T) {
	db := testDB(t)
	holder := NewLease(db)
	if err := holder.Acquire(context.Background(), "hold", time.Second); err != nil {
		t.Fatal(err)
	}
	defer holder.Release()

	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(&SignalError{Signal: syscall.SIGTERM}) })
	err := NewLease(db).Acquire(ctx, "wait", 0)
	var se *SignalError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &se) {
		t.Fatalf("Acquire = %v, want context.Canceled caused by SIGTERM", err)
	}
}

func BenchmarkLeaseAcquireRelease(b *testing.B) {
	l := NewLease(filepath.Join(b.TempDir(), "kanban.db"))
	ctx := context.Background()
	for b.Loop() {
		if err := l.Acquire(ctx, "bench", time.Second); err != nil {
			b.Fatal(err)
		}
		if err := l.Release(); err != nil {
			b.Fatal(err)
		}
	}
}
