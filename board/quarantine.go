package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/fsutil"
)

// FindQuarantine returns the quarantine set in dir already holding
// exactly the state of the board db whose ContentHash is sum: one of db's
// sets, named after sum, whose db, -wal and -journal have the live ones'
// sizes and the same combined hash. "" when there is none.
func FindQuarantine(dir, db, sum string) string {
	sets, _ := Quarantine.List(dir, db)
	base := filepath.Base(db)
	for _, s := range sets {
		if len(sum) < 8 || s.Hash8 != sum[:8] {
			continue
		}
		kept := filepath.Join(s.Path, base)
		if sameSize(db, kept) && sameSize(WAL(db), WAL(kept)) && sameSize(Journal(db), Journal(kept)) {
			if got, err := ContentHash(kept); err == nil && got == sum {
				return s.Path
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

// QuarantineCopy keeps a forensic copy of the board db (the db, -wal,
// -shm and -journal) in a new quarantine set in dir ("": next to db)
// tagged tag ("detected", "repair"), once per distinct state: a state
// already quarantined returns that set. It only reads the board. Then
// db's sets are pruned to Quarantine.Keep. set is the set's path whenever
// the copy is complete; err then reports what pruning could not remove.
func QuarantineCopy(db, dir, tag string, now time.Time) (set string, err error) {
	if dir == "" {
		dir = Quarantine.DefaultDir(db)
	}
	sum, err := ContentHash(db)
	if err != nil {
		return "", err
	}
	if existing := FindQuarantine(dir, db, sum); existing != "" {
		return existing, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for attempt := 0; ; attempt++ {
		set = Quarantine.NewPath(dir, db, now, sum, tag)
		err := os.Mkdir(set, 0o755)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt == 3 {
			return "", err
		} // another process took the name meanwhile: take the next
	}
	for _, suf := range WithSidecars {
		err := fsutil.CopyNew(db+suf, filepath.Join(set, filepath.Base(db)+suf), 0o644, true)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("quarantine %s: %w", db+suf, err)
		}
	}
	if err := (OSFS{}).SyncDir(set); err != nil {
		return "", err
	}
	_, err = Quarantine.Prune(OSFS{}, dir, db, 0, set)
	return set, err
}
