package lockd

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// ResolveSwap resolves only under the maintenance lease: while another
// process holds the write lease it waits, then gives up with a
// *BusyError and leaves the swap journal alone; once the lease is free
// it resolves (here: a journal torn before anything moved is removed).
// With no journal it does nothing and takes no lock.
func TestResolveSwap_underLease(t *testing.T) {
	db := testDB(t)
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if note, err := ResolveSwap(ctx, nil, db, "kanban", time.Second); note != "" || err != nil {
		t.Fatalf("no journal: %q, %v", note, err)
	}
	if err := os.WriteFile(board.SwapPendingPath(db), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	holder := startHelper(t, "lease", db)
	holder.expect(t, "ready")
	_, err := ResolveSwap(ctx, nil, db, "kanban", 200*time.Millisecond)
	var be *BusyError
	if !errors.As(err, &be) || !board.SwapPending(db) {
		t.Fatalf("lease held: err = %v, journal there = %v; want a BusyError and the journal kept", err, board.SwapPending(db))
	}
	holder.finish(t)
	note, err := ResolveSwap(ctx, nil, db, "kanban", time.Second)
	if err != nil || note != "removed an incomplete swap journal" || board.SwapPending(db) {
		t.Fatalf("lease free: %q, %v, journal there = %v", note, err, board.SwapPending(db))
	}
}
