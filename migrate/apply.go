package migrate

import (
	"context"
	"fmt"

	"github.com/ncruces/go-sqlite3"
)

// Apply plans and runs every pending step on c in one BEGIN IMMEDIATE …
// COMMIT, so a board is either fully migrated or untouched, even when the
// process is killed half-way. The caller holds the board's init lock and
// write lease. It returns the steps it ran.
func Apply(ctx context.Context, c *sqlite3.Conn, opts Options) (steps []Step, err error) {
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("begin migration: %w", err)
	}
	defer func() {
		if err != nil {
			_ = c.Exec("ROLLBACK")
			steps = nil
		}
	}()
	steps, err = Plan(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	for _, st := range steps {
		for _, sql := range st.Statements {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := c.Exec(sql); err != nil {
				return nil, fmt.Errorf("migration step %s (%s): %w", st.N, st.Name, err)
			}
		}
	}
	if err := c.Exec("COMMIT"); err != nil {
		return nil, fmt.Errorf("commit migration: %w", err)
	}
	return steps, nil
}
