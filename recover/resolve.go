package recover

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// ResolveSwap undoes or finishes an interrupted swap (board.ResolveSwap)
// under the write lease in maintenance mode and the open guard. It
// returns what it did ("" when there was nothing to do).
func ResolveSwap(ctx context.Context, o SwapOptions) (string, error) {
	if o.DBPath == "" {
		return "", errors.New("resolve swap: DBPath is required")
	}
	db, err := filepath.Abs(o.DBPath)
	if err != nil {
		return "", err
	}
	if !board.SwapPending(db) {
		return "", nil
	}
	m, err := lockd.Maintain(ctx, db, ToolName, "resolve swap", o.LeaseTimeout)
	if err != nil {
		return "", err
	}
	defer m.Release()
	fsys := o.FS
	if fsys == nil {
		fsys = board.OSFS{}
	}
	return board.ResolveSwap(fsys, db)
}
