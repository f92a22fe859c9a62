package lockd

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

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
	if _, ferr := proc.FlockHolders(OpenPath(db)); ferr == nil && !strings.Contains(err.Error(), strconv.Itoa(child.pid())) {
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
		h, err := HoldOpen(db)
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
	a, err := HoldOpen(db)
	if err != nil {
		t.Fatal(err)
	}
	b, err := HoldOpen(db)
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
