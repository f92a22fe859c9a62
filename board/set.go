package board

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// A set is one kept state of a database: a quarantine directory (the
// damaged files kanban met, or the original a swap replaced), a
// pre-migrate backup, or a verified snapshot. Sets of several databases
// may share one directory (boards given with --db next to each other),
// so every set's name starts with its database's file name and every
// listing, dedupe and prune works on one database's sets only:
//
//	quarantine/<db>.<UTC ts>-<hash8>[-<tag>][-<n>]/   directory holding <db>, <db>-wal, …
//	backups/<db>.pre-migrate-<UTC ts>[-<n>].db        one self-contained file
//	snapshots/<db>.snapshot-<UTC ts>[-<n>].db         one self-contained file
//
// <UTC ts> is 20060102T150405Z, so name order within a database is age
// order; <n> (2, 3, …) tells apart sets made in the same second. Names
// written by earlier versions are recognised too: quarantine directories
// <UTC ts>-<hash8>[-tag] are attributed to the database whose file they
// hold, and backups pre-migrate-<UTC ts>[-<n>].db, which cannot be, are
// listed but never pruned.

// Kind is one family of sets.
type Kind struct {
	Name string // "quarantine", "backup", "snapshot"
	Dir  string // the directory next to the board that holds them
	Keep int    // how many sets of one database pruning keeps by default

	label  string // between the db name and the time stamp
	ext    string // after the name
	isDir  bool   // a set is a directory (else one file)
	hashed bool   // the name carries the state's content hash

	re, legacyRE *regexp.Regexp
}

// How many sets of one database each kind keeps by default.
const (
	QuarantineKeep = 10
	BackupKeep     = 5
	SnapshotKeep   = 3
)

// The kinds of sets.
var (
	// Quarantine sets hold damaged or replaced board states, deduplicated
	// by content hash.
	Quarantine = newKind(Kind{Name: "quarantine", Dir: "quarantine", Keep: QuarantineKeep, isDir: true, hashed: true},
		`^(\d{8}T\d{6}Z)-([0-9a-f]{8})(?:-([a-z0-9-]+))?$`)
	// Backup sets are kanban-migrate's pre-migrate copies.
	Backup = newKind(Kind{Name: "backup", Dir: "backups", Keep: BackupKeep, label: "pre-migrate-", ext: ".db"},
		`^pre-migrate-(\d{8}T\d{6}Z)()(?:-(\d+))?\.db$`)
	// Snapshot sets are verified copies of a healthy board.
	Snapshot = newKind(Kind{Name: "snapshot", Dir: "snapshots", Keep: SnapshotKeep, label: "snapshot-", ext: ".db"}, "")
)

// stampFormat starts every set's time stamp.
const stampFormat = "20060102T150405Z"

// originalMark, inside a quarantine set, says the set holds a board's
// original that a swap replaced. Pruning keeps the newest such set of
// each database. A dot file, so `cp set/kanban.db* …` never copies it.
const originalMark = ".original"

func newKind(k Kind, legacy string) Kind {
	hash := ""
	if k.hashed {
		hash = `-([0-9a-f]{8})`
	} else {
		hash = `()`
	}
	k.re = regexp.MustCompile(`^(.+)\.` + regexp.QuoteMeta(k.label) + `(\d{8}T\d{6}Z)` + hash +
		`(?:-([a-z][a-z0-9]*))?(?:-(\d+))?` + regexp.QuoteMeta(k.ext) + `$`)
	if legacy != "" {
		k.legacyRE = regexp.MustCompile(legacy)
	}
	return k
}

// DefaultDir is the kind's directory next to the database file (the CLIs
// pass the board directory's instead, which for the default board is
// not the database's).
func (k Kind) DefaultDir(db string) string { return filepath.Join(filepath.Dir(db), k.Dir) }

// Set is one set of a database.
type Set struct {
	Path  string
	DB    string    // the database's file name; "" for a legacy set that cannot be attributed
	When  time.Time // from the name
	Hash8 string    // the content hash's first 8 hex digits (quarantine)
	Tag   string    // "detected", "repair", … ("" for a swap's set)
	Seq   int       // 1, or the -<n> of a same-second set
	// Legacy marks a name written by an earlier version.
	Legacy bool
	// Original marks a quarantine set holding a board's original that a
	// swap replaced (or the held files of a swap that diverged).
	Original bool
}

// NewPath returns a free path in dir for a new set of db: the name for
// now (and, for quarantine sets, the first 8 hex digits of the content
// hash) and tag, with -2, -3, … added when a set of that second exists.
// It creates nothing.
func (k Kind) NewPath(dir, db string, now time.Time, hash, tag string) string {
	base := filepath.Base(db) + "." + k.label + now.UTC().Format(stampFormat)
	if k.hashed {
		base += "-" + hash[:min(8, len(hash))]
	}
	if tag != "" {
		base += "-" + tag
	}
	p := filepath.Join(dir, base+k.ext)
	for n := 2; exists(p); n++ {
		p = filepath.Join(dir, base+"-"+strconv.Itoa(n)+k.ext)
	}
	return p
}

// ListAll returns every set of this kind in dir, of every database,
// attributed or not, oldest first. A missing dir has none.
func (k Kind) ListAll(dir string) ([]Set, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Set
	for _, e := range ents {
		if e.IsDir() != k.isDir || (!k.isDir && !e.Type().IsRegular()) {
			continue
		}
		if s, ok := k.parse(dir, e.Name()); ok {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.When.Equal(b.When) {
			return a.When.Before(b.When)
		}
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.Path < b.Path
	})
	return out, nil
}

// List returns the sets of the database db (its file name decides) in
// dir, oldest first.
func (k Kind) List(dir, db string) ([]Set, error) {
	all, err := k.ListAll(dir)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(db)
	var out []Set
	for _, s := range all {
		if s.DB == base {
			out = append(out, s)
		}
	}
	return out, nil
}

// parse recognises a set's name, new or legacy.
func (k Kind) parse(dir, name string) (Set, bool) {
	s := Set{Path: filepath.Join(dir, name), Seq: 1}
	stamp := ""
	if m := k.re.FindStringSubmatch(name); m != nil {
		s.DB, stamp, s.Hash8, s.Tag = m[1], m[2], m[3], m[4]
		if m[5] != "" {
			s.Seq, _ = strconv.Atoi(m[5])
		}
	} else if k.legacyRE != nil {
		m := k.legacyRE.FindStringSubmatch(name)
		if m == nil {
			return Set{}, false
		}
		s.Legacy, stamp, s.Hash8, s.Tag = true, m[1], m[2], m[3]
		if n, err := strconv.Atoi(s.Tag); err == nil { // a counter, not a tag
			s.Tag, s.Seq = "", n
		}
		if k.isDir {
			s.DB = legacyOwner(s.Path)
		}
	} else {
		return Set{}, false
	}
	when, err := time.Parse(stampFormat, stamp)
	if err != nil || s.Seq < 1 {
		return Set{}, false
	}
	s.When = when
	if k.isDir {
		// A legacy set without a tag was made by a swap.
		s.Original = exists(filepath.Join(s.Path, originalMark)) || (s.Legacy && s.Tag == "")
	}
	return s, true
}

// legacyOwner attributes a legacy quarantine set to the database whose
// file it holds: the one file that is neither a sidecar nor a kept
// duplicate (<name>.1). "" when there is no such file or more than one.
func legacyOwner(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	owner := ""
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || isSidecarName(n) || isDuplicateName(n) {
			continue
		}
		if owner != "" {
			return ""
		}
		owner = n
	}
	return owner
}

func isSidecarName(n string) bool {
	for _, suf := range Sidecars {
		if strings.HasSuffix(n, suf) {
			return true
		}
	}
	return false
}

// isDuplicateName matches the <name>.<n> a reused set keeps a differing
// file under (see shelve).
func isDuplicateName(n string) bool {
	i := strings.LastIndexByte(n, '.')
	if i < 0 {
		return false
	}
	_, err := strconv.Atoi(n[i+1:])
	return err == nil && isSidecarName(n[:i])
}

// Prune removes the oldest sets of the database db in dir until keep are
// left (keep <= 0: the kind's Keep). It never removes a path in protect,
// the newest set holding the database's original, another database's
// set, or a set it cannot attribute. It returns what it removed; a set
// that cannot be removed is reported in the error and skipped.
func (k Kind) Prune(fsys FS, dir, db string, keep int, protect ...string) ([]string, error) {
	if keep <= 0 {
		keep = k.Keep
	}
	sets, err := k.List(dir, db)
	if err != nil {
		return nil, err
	}
	lastOriginal := -1
	for i, s := range sets {
		if s.Original {
			lastOriginal = i
		}
	}
	left := len(sets)
	var removed []string
	var errs []error
	for i, s := range sets {
		if left <= keep {
			break
		}
		if i == lastOriginal || containsPath(protect, s.Path) {
			continue
		}
		rm := fsys.Remove
		if k.isDir {
			rm = fsys.RemoveAll
		}
		if err := rm(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("prune %s: %w", s.Path, err))
			continue
		}
		removed = append(removed, s.Path)
		left--
	}
	return removed, errors.Join(errs...)
}

func containsPath(paths []string, p string) bool {
	for _, q := range paths {
		if filepath.Clean(q) == filepath.Clean(p) {
			return true
		}
	}
	return false
}

// TempPath is where a single-file set is written before it is renamed to
// final: in the same directory, so the rename is atomic.
func TempPath(final string) string { return final + ".tmp" }

// Publish puts a single-file set written at tmp (TempPath) in place:
// tmp is fsynced, renamed to final and the directory fsynced, so the set
// exists under its name only once it is complete and durable.
func Publish(fsys FS, tmp, final string) error {
	f, err := fsys.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := fsys.Rename(tmp, final); err != nil {
		return err
	}
	return fsys.SyncDir(filepath.Dir(final))
}

// RemoveTemps deletes the temporary files (TempPath) of db's sets in dir
// that a killed writer left. Only one writer makes a database's sets at a
// time (it holds the board's locks), so any such file is dead.
func (k Kind) RemoveTemps(dir, db string) {
	ms, _ := filepath.Glob(filepath.Join(dir, globQuote(filepath.Base(db))+"."+k.label+"*"+k.ext+".tmp*"))
	for _, m := range ms {
		_ = os.Remove(m)
	}
}

// globQuote escapes the characters filepath.Match treats specially.
func globQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markOriginal marks a quarantine set as holding a board's original (see
// originalMark); an existing mark is left as it is.
func markOriginal(fsys FS, set string) error {
	p := filepath.Join(set, originalMark)
	if exists(p) {
		return nil
	}
	f, err := fsys.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("mark %s: %w", set, err)
	}
	_, err = fmt.Fprintf(f, "the board's original, replaced by kanban-recover swap at %s\n", time.Now().UTC().Format(time.RFC3339))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = fsys.Remove(p)
		return fmt.Errorf("mark %s: %w", set, err)
	}
	return nil
}
