package lockd

import (
	"context"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

// ResolveSwap finishes or undoes an interrupted kanban-recover swap of the
// board at db (board.ResolveSwap) while tool holds the board for
// maintenance (Maintain: the write lease, which waits for a live swap to
// end, and the open guard), and says what it did ("" when no swap was
// pending). kanban resolves on open and kanban-recover before a check or
// a swap, both here. fsys nil means board.OSFS.
func ResolveSwap(ctx context.Context, fsys board.FS, db, tool string, timeout time.Duration) (string, error) {
	if !board.SwapPending(db) {
		return "", nil
	}
	m, err := Maintain(ctx, db, tool, "resolve swap", timeout)
	if err != nil {
		return "", err
	}
	defer m.Release()
	if fsys == nil {
		fsys = board.OSFS{}
	}
	return board.ResolveSwap(fsys, db)
}
