package recover

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/kanbanshim/kanbanshim/lockd"
)

// ResolveSwap undoes or finishes an interrupted swap of o.DBPath as
// kanban-recover (lockd.ResolveSwap, the one implementation kanban's open
// uses too), with o's lease timeout and file system. It returns what it
// did ("" when there was nothing to do).
func ResolveSwap(ctx context.Context, o SwapOptions) (string, error) {
	if o.DBPath == "" {
		return "", errors.New("resolve swap: DBPath is required")
	}
	db, err := filepath.Abs(o.DBPath)
	if err != nil {
		return "", err
	}
	return lockd.ResolveSwap(ctx, o.FS, db, ToolName, o.LeaseTimeout)
}
