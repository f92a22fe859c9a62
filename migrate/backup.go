package migrate

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
)

// BackupKeep is how many pre-migrate backups a database keeps.
const BackupKeep = board.BackupKeep

// Backup writes an online backup (SQLite's backup API, never a file copy,
// so the copy is a consistent snapshot even with a WAL and live peers) of
// the main database of c, the board at db, into dir as one of db's backup
// sets (board.Backup: <db name>.pre-migrate-<UTC ts>.db), and returns its
// path. The copy is written under a temporary name, switched to DELETE
// mode so it is one self-contained file, quick-checked, synced and only
// then renamed into place; a killed backup leaves at most a temporary
// file, which the next Backup of that database removes. db's older
// backups beyond BackupKeep are pruned afterwards; other databases'
// backups in dir, and backups of earlier versions (whose names do not say
// which database they belong to), are never touched.
func Backup(ctx context.Context, c *sqlite3.Conn, db, dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	board.Backup.RemoveTemps(dir, db)
	final := board.Backup.NewPath(dir, db, now, "", "")
	tmp := board.TempPath(final)
	if err := backupTo(ctx, c, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := board.Publish(board.OSFS{}, tmp, final); err != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("backup: %w", err)
	}
	if _, err := board.Backup.Prune(board.OSFS{}, dir, db, BackupKeep, final); err != nil {
		return final, err
	}
	return final, nil
}

// backupTo copies the main database of c to path and checks the copy.
func backupTo(ctx context.Context, c *sqlite3.Conn, path string) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if err := c.Backup("main", path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	dst, err := sqlite3.Open(path)
	if err != nil {
		return fmt.Errorf("open backup: %w", err)
	}
	defer dst.Close()
	// The page copy carries the source's WAL flag; the backup is private
	// (no other opener), so it may be switched to a single-file mode.
	if err := dst.Exec("PRAGMA journal_mode=DELETE"); err != nil {
		return fmt.Errorf("backup journal mode: %w", err)
	}
	msgs, err := QuickCheck(dst)
	if err != nil {
		return fmt.Errorf("check backup: %w", err)
	}
	if len(msgs) > 0 {
		return fmt.Errorf("backup fails quick_check: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// Restore copies the backup at path back over the main database of c with
// the backup API: one write transaction on the live board, seen by every
// connection (the WAL is not bypassed, no file is replaced).
func Restore(ctx context.Context, c *sqlite3.Conn, path string) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	if err := c.Restore("main", path); err != nil {
		return fmt.Errorf("restore from %s: %w", path, err)
	}
	return nil
}
