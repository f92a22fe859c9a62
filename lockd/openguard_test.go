package lockd

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

func TestTryExclusive(t *testing.T) {
	db := testDB(t)
	child := startHelper(t, "hold-open", db)
	child.expect(t, "ready")

	_, err := TryExclusive(db)
	if !errors.Is(err, ErrBoardInUse) {
		t.Fatalf("TryExclusive = %v, want ErrBoardInUse", err)
	}
	if _, ferr := proc.FlockHolders(board.OpenPath(db)); ferr == nil && !strings.Contains(err.Error(), strconv.Itoa(child.pid())) {
		t.Errorf("message %q does not name pid %d", err, child.pid())
	}
	child.finish(t)

	g, err := TryExclusive(db)
	if err != nil {
		t.Fatalf("TryExclusive after the holder exited = %v", err)
	}
	// A process opening the board now waits for the swap to finish.
	opened := make(chan error, 1)
	go func() {
		h, err := HoldOpen(context.Background(), db)
		if err == nil {
			err = h.Close()
		}
		opened <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-opened:
		t.Fatalf("HoldOpen returned during the swap: %v", err)
	default:
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-opened; err != nil {
		t.Fatalf("HoldOpen after the swap = %v", err)
	}
}

func TestHoldOpen_shared(t *testing.T) {
	db := testDB(t)
	a, err := HoldOpen(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HoldOpen(context.Background(), db)
	if err != nil {
		t.Fatalf("second HoldOpen = %v", err)
	}
	if _, err := TryExclusive(db); !errors.Is(err, ErrBoardInUse) {
		t.Fatalf("TryExclusive = %v, want ErrBoardInUse", err)
	}
	for _, g := range []*OpenGuard{a, b, a} {
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHoldOpen_cancel: a HoldOpen waiting for a swap's exclusive guard
// returns as soon as its context is cancelled (a drain signal), with the
// cause, instead of waiting out its 30 s.
func TestHoldOpen_cancel(t *testing.T) {
	db := testDB(t)
	ex, err := TryExclusive(db)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	stop := errors.New("SIGTERM")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(stop) })
	start := time.Now()
	g, err := HoldOpen(ctx, db)
	if err == nil {
		g.Close()
		t.Fatal("HoldOpen succeeded while a swap held the guard")
	}
	if !errors.Is(err, stop) {
		t.Errorf("err = %v, want the cancel cause", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("HoldOpen returned after %v, not at the cancel", d)
	}
}

// TestMaintain: the lease is taken in maintenance mode and the guard
// exclusively; with another holder of the guard, GuardBusy says so and
// the lease is still held; Release frees both.
func TestMaintain(t *testing.T) {
	db := testDB(t)
	m, err := Maintain(context.Background(), db, "kanban-recover", "swap", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.GuardBusy || m.Guard == nil {
		t.Fatalf("guard busy %v on a free board", m.GuardBusy)
	}
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if g, err := HoldOpen(short, db); err == nil {
		g.Close()
		t.Error("HoldOpen got the guard while Maintain held it")
	}
	if err := m.Release(); err != nil {
		t.Fatal(err)
	}
	g, err := HoldOpen(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	m, err = Maintain(context.Background(), db, "kanban-recover", "swap", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if !m.GuardBusy || m.Guard != nil {
		t.Errorf("GuardBusy = %v with the board held open", m.GuardBusy)
	}
	held, _, err := LockState(board.LeasePath(db))
	if err != nil || !held {
		t.Errorf("lease held = %v (%v)", held, err)
	}
}
