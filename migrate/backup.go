package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"
)

// BackupKeep is how many pre-migrate backups a board keeps.
const BackupKeep = 5

const (
	backupPrefix = "pre-migrate-"
	backupSuffix = ".db"
	backupStamp  = "20060102T150405Z"
)

// Backup writes an online backup (SQLite's backup API, never a file copy,
// so the copy is a consistent snapshot even with a WAL and live peers) of
// the main database of c to dir/pre-migrate-<UTC ts>.db, and returns its
// path. The copy is written under a temporary name, switched to DELETE
// mode so it is one self-contained file, quick-checked, synced and only
// then renamed into place; a killed backup leaves at most a *.tmp file,
// which the next Backup removes. Older backups beyond BackupKeep are
// pruned afterwards.
func Backup(ctx context.Context, c *sqlite3.Conn, dir string, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	removeStaleTemps(dir)
	final := uniqueBackupName(dir, now)
	tmp := final + ".tmp"
	if err := backupTo(ctx, c, tmp); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := publish(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := PruneBackups(dir, BackupKeep); err != nil {
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

// publish fsyncs tmp, renames it to final and fsyncs the directory, so
// the backup exists under its name only once it is complete and durable.
func publish(tmp, final string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync backup: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync backup: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return syncDir(filepath.Dir(final))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// uniqueBackupName picks pre-migrate-<ts>.db, adding -2, -3, … when a
// backup with that second already exists.
func uniqueBackupName(dir string, now time.Time) string {
	base := backupPrefix + now.UTC().Format(backupStamp)
	name := filepath.Join(dir, base+backupSuffix)
	for n := 2; fileExists(name); n++ {
		name = filepath.Join(dir, fmt.Sprintf("%s-%d%s", base, n, backupSuffix))
	}
	return name
}

func fileExists(p string) bool { _, err := os.Lstat(p); return err == nil }

// removeStaleTemps deletes *.tmp backups left by a killed run. Only one
// migration runs per board at a time (init lock and lease), so any such
// file is dead.
func removeStaleTemps(dir string) {
	ms, _ := filepath.Glob(filepath.Join(dir, backupPrefix+"*"+backupSuffix+".tmp*"))
	for _, m := range ms {
		_ = os.Remove(m)
	}
}

// BackupInfo is one pre-migrate backup of a board.
type BackupInfo struct {
	Path  string `json:"path"`
	Stamp string `json:"stamp"`
	seq   int
}

// ListBackups returns the pre-migrate backups in dir, oldest first.
func ListBackups(dir string) ([]BackupInfo, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []BackupInfo
	for _, e := range ents {
		if b, ok := parseBackupName(e.Name()); ok && e.Type().IsRegular() {
			b.Path = filepath.Join(dir, e.Name())
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Stamp != out[j].Stamp {
			return out[i].Stamp < out[j].Stamp
		}
		return out[i].seq < out[j].seq
	})
	return out, nil
}

func parseBackupName(name string) (BackupInfo, bool) {
	if !strings.HasPrefix(name, backupPrefix) || !strings.HasSuffix(name, backupSuffix) {
		return BackupInfo{}, false
	}
	mid := strings.TrimSuffix(strings.TrimPrefix(name, backupPrefix), backupSuffix)
	stamp, seq := mid, 1
	if i := strings.IndexByte(mid, '-'); i >= 0 {
		n, err := strconv.Atoi(mid[i+1:])
		if err != nil || n < 2 {
			return BackupInfo{}, false
		}
		stamp, seq = mid[:i], n
	}
	if _, err := time.Parse(backupStamp, stamp); err != nil {
		return BackupInfo{}, false
	}
	return BackupInfo{Stamp: stamp, seq: seq}, true
}

// PruneBackups keeps the newest keep pre-migrate backups in dir.
func PruneBackups(dir string, keep int) error {
	bs, err := ListBackups(dir)
	if err != nil {
		return err
	}
	var errs []error
	for len(bs) > keep {
		if err := os.Remove(bs[0].Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		bs = bs[1:]
	}
	return errors.Join(errs...)
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
