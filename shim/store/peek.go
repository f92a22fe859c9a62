package store

import (
	"context"
	"os"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// PeekCounts counts a board's tasks by status without creating, migrating
// or writing anything (for listings of every board): no checkpoint on
// close, and a hot -journal is rolled back only in a private copy. A missing file counts
// as empty; an unreadable one returns its error.
func PeekCounts(ctx context.Context, path string) (map[string]int64, int64, error) {
	counts := map[string]int64{}
	st, err := os.Stat(path)
	if err != nil || st.Size() == 0 {
		return counts, 0, nil
	}
	if err := checkHeader(path); err != nil {
		return counts, 0, err
	}
	c, dir, err := migrate.OpenLiveRead(ctx, path, sqlite3.OPEN_READONLY)
	if err != nil {
		return counts, 0, err
	}
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	defer c.Close()
	c.SetInterrupt(ctx)
	_ = c.BusyTimeout(DefaultBusyTimeout)
	var total int64
	err = sqlx.Query(c, "SELECT status, COUNT(*) AS n FROM tasks GROUP BY status", nil, func(r *sqlx.Row) error {
		counts[r.Text("status")] = r.Int("n")
		total += r.Int("n")
		return nil
	})
	return counts, total, err
}
