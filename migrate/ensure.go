package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/lockd"
)

// ErrForeignFile is a database that has tables but no tasks table: a
// damaged schema or somebody else's file. No board is created inside it.
var ErrForeignFile = errors.New("migrate: file has tables but no tasks table")

// EnsureOptions say where the board lives and how long to wait for it.
type EnsureOptions struct {
	DB           string        // board path, for <db>.init.lock
	Lease        *lockd.Lease  // the caller's write lease of the board
	LeaseTimeout time.Duration // <= 0: until ctx is done
	InitTimeout  time.Duration // <= 0: lockd.DefaultInitTimeout, as upstream
	Op           string        // lease holder op ("schema init" if empty)
	Now          int64         // epoch second for synthesized runs
}

// Ensure brings the board open in c up to date, as `kanban` does on every
// open. The plan is read without any lock; only when something is pending
// does it take the init lock (shared with upstream) and the write lease,
// and apply in one transaction that re-plans inside it, so racing
// initialisers never double-apply (upstream #21708). If the init lock
// stays busy past its bound it proceeds, like upstream: the lease and the
// single transaction still keep the board whole. It returns the steps run.
func Ensure(ctx context.Context, c *sqlite3.Conn, o EnsureOptions) ([]Step, error) {
	steps, err := Plan(ctx, c, Options{Now: o.Now})
	if err != nil || len(steps) == 0 {
		return nil, err
	}
	if err := refuseForeign(ctx, c); err != nil {
		return nil, err
	}
	il, err := lockd.LockInit(ctx, o.DB, o.InitTimeout)
	if err == nil {
		defer il.Close()
	} else if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	op := o.Op
	if op == "" {
		op = "schema init"
	}
	if err := o.Lease.Acquire(ctx, op, o.LeaseTimeout); err != nil {
		return nil, err
	}
	defer o.Lease.Release()
	return Apply(ctx, c, Options{Now: o.Now})
}

// refuseForeign stops a migration from creating kanban tables inside a
// file that has content but no tasks table.
func refuseForeign(ctx context.Context, c *sqlite3.Conn) error {
	insp, err := Inspect(ctx, c)
	if err != nil || insp.HasTable("tasks") || len(insp.Tables) == 0 {
		return err
	}
	return fmt.Errorf("%w (%d tables)", ErrForeignFile, len(insp.Tables))
}
