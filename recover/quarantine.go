package recover

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

// MaxQuarantineSets is how many quarantined sets a board keeps. kanban's
// own detection snapshots (shim/store Quarantine) share the directory and
// the limit.
const MaxQuarantineSets = 10

// quarantineTimeFormat starts every set's name, so name order is age order.
const quarantineTimeFormat = "20060102T150405Z"

// setNameRE matches the sets of the quarantine directory: ours are
// <ts>-<hash8>, kanban's detection snapshots <ts>-<hash8>-<tag>.
var setNameRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-([0-9a-f]{8})(-[a-z0-9-]+)?$`)

// DefaultQuarantineDir is <dir of db>/quarantine; the CLI passes the board
// directory's quarantine instead, as kanban does.
func DefaultQuarantineDir(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "quarantine")
}

// ContentHash is the identity of a board state: see store.ContentHash.
func ContentHash(dbPath string) (string, error) { return store.ContentHash(dbPath) }

// findSet returns the set already holding exactly the board state with
// hash sum (the db and -wal inside it named like the live ones, same
// sizes, same combined hash), or "".
func findSet(qdir, db, sum string) string {
	base := filepath.Base(db)
	ents, _ := os.ReadDir(qdir)
	for _, e := range ents {
		m := setNameRE.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil || m[1] != sum[:8] {
			continue
		}
		dir := filepath.Join(qdir, e.Name())
		if sameSize(db, filepath.Join(dir, base)) && sameSize(db+"-wal", filepath.Join(dir, base+"-wal")) &&
			sameSize(db+"-journal", filepath.Join(dir, base+"-journal")) {
			if got, err := ContentHash(filepath.Join(dir, base)); err == nil && got == sum {
				return dir
			}
		}
	}
	return ""
}

// sameSize reports whether two files have the same size, an absent file
// counting as empty; a file that cannot be read never matches.
func sameSize(a, b string) bool {
	size := func(p string) (int64, bool) {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return 0, true
		}
		if err != nil {
			return 0, false
		}
		return fi.Size(), true
	}
	sa, oka := size(a)
	sb, okb := size(b)
	return oka && okb && sa == sb
}

// newSetName picks <ts>-<hash8>, adding a counter in the unlikely case
// that name is taken by a set of different content.
func newSetName(qdir, sum string, now time.Time) string {
	name := now.UTC().Format(quarantineTimeFormat) + "-" + sum[:8]
	for i := 2; ; i++ {
		if _, err := os.Lstat(filepath.Join(qdir, name)); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%s-%d", now.UTC().Format(quarantineTimeFormat), sum[:8], i)
	}
}

// linkOrCopy hard-links src to dst, copying (and fsyncing) instead when
// the file system does not support links.
func linkOrCopy(fsys FS, src, dst string) error {
	err := fsys.Link(src, dst)
	if err == nil || !linkUnsupported(err) {
		return err
	}
	return copyInto(fsys, src, dst)
}

// linkUnsupported reports the errors with which file systems refuse hard
// links as such (rather than failing).
func linkUnsupported(err error) bool {
	for _, e := range []error{syscall.EXDEV, syscall.EPERM, syscall.ENOTSUP, syscall.EOPNOTSUPP, syscall.EMLINK} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// copyInto copies src to a new file dst and fsyncs it. dst must not exist.
func copyInto(fsys FS, src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			_ = fsys.Remove(dst)
		}
	}()
	if _, err := io.CopyBuffer(out, in, make([]byte, 1<<20)); err != nil {
		return err
	}
	return out.Sync()
}

// pruneSets removes the oldest sets beyond keep, never protect (the set
// this swap just made or reused). Only directories named like sets are
// counted or removed. It returns what it removed.
func pruneSets(fsys FS, qdir string, keep int, protect string) ([]string, error) {
	ents, err := os.ReadDir(qdir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && setNameRE.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	var removed []string
	var errs []error
	for i := 0; len(names)-len(removed) > keep && i < len(names); i++ {
		p := filepath.Join(qdir, names[i])
		if p == protect {
			continue
		}
		if err := fsys.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
