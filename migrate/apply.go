package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ncruces/go-sqlite3"
)

// Points where Hooks.At is called, in the order Upgrade reaches them.
const (
	PointAfterBackup    = "after-backup"     // backup written, nothing changed yet
	PointBeforeLastStep = "before-last-step" // inside the transaction
	PointBeforeCommit   = "before-commit"    // inside, after the in-transaction verify
	PointAfterCommit    = "after-commit"     // committed, not yet re-verified
)

// Hooks let kanban-migrate's tests stop or fail a migration at a named
// point (a Point* constant). An error returned by At fails the migration
// there: before the transaction nothing has changed, inside it rolls back,
// after the commit the board is restored from the backup.
type Hooks struct {
	At func(ctx context.Context, point string) error
}

func (h *Hooks) at(ctx context.Context, point string) error {
	if h == nil || h.At == nil {
		return nil
	}
	if err := h.At(ctx, point); err != nil {
		return fmt.Errorf("at %s: %w", point, err)
	}
	return nil
}

// Apply plans and runs every pending step on c in one BEGIN IMMEDIATE …
// COMMIT, so a board is either fully migrated or untouched, even when the
// process is killed half-way. The caller holds the board's init lock and
// write lease. It returns the steps it ran.
func Apply(ctx context.Context, c *sqlite3.Conn, opts Options) ([]Step, error) {
	return applyTx(ctx, c, opts, false, nil)
}

// applyTx is Apply, optionally verifying the result (integrity_check and
// schema conformity) inside the transaction, so a migration that would
// leave a damaged or non-conforming board is rolled back, never committed.
func applyTx(ctx context.Context, c *sqlite3.Conn, opts Options, verify bool, hooks *Hooks) (steps []Step, err error) {
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			rollback(c)
			steps = nil
		}
	}()
	steps, err = Plan(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	if err := runSteps(ctx, c, steps, hooks); err != nil {
		return nil, err
	}
	if verify {
		if err := Verify(ctx, c); err != nil {
			return nil, err
		}
	}
	if err := hooks.at(ctx, PointBeforeCommit); err != nil {
		return nil, err
	}
	if err := c.Exec("COMMIT"); err != nil {
		return nil, fmt.Errorf("commit migration: %w", err)
	}
	return steps, nil
}

func runSteps(ctx context.Context, c *sqlite3.Conn, steps []Step, hooks *Hooks) error {
	for i, st := range steps {
		if i == len(steps)-1 {
			if err := hooks.at(ctx, PointBeforeLastStep); err != nil {
				return err
			}
		}
		for _, sql := range st.Statements {
			if err := ctx.Err(); err != nil {
				return context.Cause(ctx)
			}
			if err := c.Exec(sql); err != nil {
				if ctx.Err() != nil && errors.Is(err, sqlite3.INTERRUPT) {
					return context.Cause(ctx)
				}
				return fmt.Errorf("migration step %s (%s): %w", st.N, st.Name, err)
			}
		}
	}
	return nil
}

// rollback ends a failed transaction even when the connection's context
// was cancelled (a drained signal must still roll back).
func rollback(c *sqlite3.Conn) {
	old := c.SetInterrupt(context.Background())
	if !c.GetAutocommit() {
		_ = c.Exec("ROLLBACK")
	}
	c.SetInterrupt(old)
}
