package recover

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// repairBusyTimeout is upstream's SQLite busy_timeout, Repair's default.
const repairBusyTimeout = 120 * time.Second

// Repair outcomes (upstream's RepairResult.status).
const (
	RepairOK       = "ok"
	RepairRepaired = "repaired"
	RepairCorrupt  = "corrupt"
	RepairMissing  = "missing"
)

// RepairResult is what `kanban repair` and Auto's REINDEX report.
type RepairResult struct {
	Status     string
	DBPath     string
	Messages   []string // integrity_check rows (or why SQLite refused the file)
	PostRepair []string // integrity_check after REINDEX
	BackupPath string   // quarantine snapshot taken before any change, "" when none
	Reindexed  []string // indexes rebuilt
	// Marker is the board's damage marker when the board stays corrupt
	// (recorded by this check unless one was there); MarkerCleared the
	// marker a passing integrity_check or a verified REINDEX removed.
	Marker, MarkerCleared *board.Damage
}

// RepairOptions configures Repair.
type RepairOptions struct {
	BusyTimeout   time.Duration
	LeaseTimeout  time.Duration
	QuarantineDir string
	Now           func() time.Time
}

// indexOnlyRe are the integrity_check messages that name damage confined
// to an index: the table b-tree is intact and REINDEX rebuilds the index
// from it without loss.
var indexOnlyRe = []*regexp.Regexp{
	regexp.MustCompile(`^wrong # of entries in index (.+)$`),
	regexp.MustCompile(`^row \d+ missing from index (.+)$`),
}

// Repair checks a board with PRAGMA integrity_check and repairs the one
// case that is safe to repair in place: damage confined to indexes. It is
// upstream's repair_db with kanbanshim's locks: it opens the file with
// SQLite directly (no schema initialisation, and it never creates a
// missing file), holds the init lock like upstream, snapshots the board
// into quarantine before changing anything, and rebuilds indexes inside
// BEGIN IMMEDIATE … COMMIT under the write lease. Anything else is
// reported as corrupt and left untouched. A busy or unreadable file is an
// error, not corruption.
func Repair(ctx context.Context, path string, o RepairOptions) (*RepairResult, error) {
	path = resolvePath(path)
	res := &RepairResult{DBPath: path}
	var ee *board.EmptyDBError
	if errors.As(board.CheckEmpty(path), &ee) {
		// Not a missing or empty board: its -wal or -journal holds data
		// SQLite would delete. Corrupt, kept and marked; nothing opened.
		r := &repairer{path: path, o: o, res: res}
		res.Status, res.Messages = RepairCorrupt, []string{ee.Error()}
		r.snapshot()
		return res, r.mark(nil)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		res.Status = RepairMissing
		return res, nil
	}
	if il, err := lockd.LockInit(ctx, path, 0); err == nil {
		defer il.Close()
	} else if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	} // a wedged init lock holder must not stop a repair (upstream proceeds too)
	if g, err := lockd.HoldOpen(ctx, path); err == nil {
		defer g.Close()
	} else if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	r := &repairer{path: path, o: o, res: res}
	seen, _ := board.ReadDamage(path)
	if err := r.run(ctx); err != nil {
		return res, err
	}
	return res, r.mark(seen)
}

// mark applies the outcome to the damage marker: a board left corrupt is
// marked (the first detection is kept); integrity_check ok after a
// REINDEX clears the marker; integrity_check ok without one clears the
// marker that was there before the check (seen), which was stale. Only a
// marker that could not be cleared is an error: writes stay refused.
func (r *repairer) mark(seen *board.Damage) error {
	var err error
	switch r.res.Status {
	case RepairCorrupt:
		// A marker that cannot be written does not change the verdict.
		d, _, werr := board.RecordDamage(r.path, board.Damage{Seen: "integrity_check: " + strings.Join(head(r.res.Messages, 3), "; "),
			Snapshot: r.res.BackupPath})
		if werr == nil {
			r.res.Marker = &d
		}
	case RepairRepaired:
		if seen, _ = board.ReadDamage(r.path); seen != nil {
			err = board.ClearDamage(r.path)
			r.res.MarkerCleared = seen
		}
	case RepairOK:
		var cleared bool
		if cleared, err = board.ClearStaleDamage(r.path, seen); cleared {
			r.res.MarkerCleared = seen
		}
	}
	return err
}

func head(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// resolvePath is Python's Path.resolve(): absolute, symlinks followed
// where the file exists.
func resolvePath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real
	}
	return p
}

type repairer struct {
	path string
	o    RepairOptions
	res  *RepairResult
	conn *sqlite3.Conn
}

func (r *repairer) run(ctx context.Context) error {
	if err := r.open(ctx); err != nil {
		return r.refused(err)
	}
	defer r.close()
	var de *migrate.DamageError
	if err := migrate.CheckFiles(ctx, r.conn, r.path, true); errors.As(err, &de) {
		// A broken -wal chain passes integrity_check (SQLite shows the
		// board without the commits after the break): report it.
		r.res.Status = RepairCorrupt
		r.res.Messages = []string{de.Detail}
		r.snapshot()
		return nil
	} else if err != nil {
		return r.refused(err)
	}
	msgs, err := r.integrity()
	if err != nil {
		return r.refused(err)
	}
	r.res.Messages = msgs
	if integrityOK(msgs) {
		r.res.Status = RepairOK
		return nil
	}
	r.snapshot()
	r.res.Status = RepairCorrupt
	names := indexOnlyNames(msgs)
	if names == nil {
		return nil
	}
	r.res.Reindexed = names
	if err := r.reindex(ctx, names); err != nil {
		var be *lockd.BusyError
		if errors.As(err, &be) || ctx.Err() != nil {
			return err
		}
		r.res.PostRepair = []string{"REINDEX failed: " + sqliteMessage(err)}
		return nil
	}
	post, err := r.integrity()
	if err != nil {
		r.res.PostRepair = []string{"REINDEX failed: " + sqliteMessage(err)}
		return nil
	}
	r.res.PostRepair = post
	if integrityOK(post) {
		r.res.Status = RepairRepaired
	}
	return nil
}

// refused classifies a failure to open or check the file: SQLite calling
// it corrupt (or not a database) is a corrupt board, snapshotted; busy,
// locked, permissions and the like are errors.
func (r *repairer) refused(err error) error {
	if !isCorrupt(err) {
		return err
	}
	r.res.Status = RepairCorrupt
	r.res.Messages = []string{"sqlite refused to open file: " + sqliteMessage(err)}
	r.snapshot()
	return nil
}

// open opens the board with checkpoint-on-close off: a check that finds
// the board damaged must not fold the -wal into it as it closes (close
// turns it back on after a REINDEX that left the board healthy).
func (r *repairer) open(ctx context.Context) error {
	c, err := migrate.OpenLive(r.path, sqlite3.OPEN_READWRITE)
	if err != nil {
		return err
	}
	r.conn = c
	timeout := r.o.BusyTimeout
	if timeout <= 0 {
		timeout = repairBusyTimeout
	}
	if err := c.BusyTimeout(timeout); err != nil {
		c.Close()
		return err
	}
	c.SetInterrupt(ctx)
	return nil
}

// close closes the connection; only a board this repair wrote and left
// healthy (and without a damage marker) is checkpointed as it closes.
func (r *repairer) close() {
	if r.res.Status == RepairRepaired && board.Refuse(r.path, "") == nil {
		_, _ = r.conn.Config(sqlite3.DBCONFIG_NO_CKPT_ON_CLOSE, false)
	}
	r.conn.Close()
}

func (r *repairer) integrity() ([]string, error) {
	stmt, _, err := r.conn.Prepare("PRAGMA integrity_check")
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	var out []string
	for stmt.Step() {
		if stmt.ColumnType(0) != sqlite3.NULL {
			out = append(out, stmt.ColumnText(0))
		}
	}
	return out, stmt.Err()
}

// snapshot keeps a forensic copy before anything changes the file; a
// failed copy is reported as no backup, as upstream does.
func (r *repairer) snapshot() {
	now := time.Now()
	if r.o.Now != nil {
		now = r.o.Now()
	}
	if snap, _ := board.QuarantineCopy(r.path, r.o.QuarantineDir, "repair", now); snap != "" {
		r.res.BackupPath = snap
	}
}

// reindex rebuilds the named indexes (all indexes if one of the names is
// not rebuildable on its own) in one write transaction under the lease.
func (r *repairer) reindex(ctx context.Context, names []string) (err error) {
	lease := lockd.NewLease(r.path)
	if err := lease.Acquire(ctx, "repair (REINDEX)", r.o.LeaseTimeout); err != nil {
		return err
	}
	defer lease.Release()
	if err := r.conn.Exec("BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil && !r.conn.GetAutocommit() {
			r.conn.SetInterrupt(context.Background())
			_ = r.conn.Exec("ROLLBACK")
		}
	}()
	for _, n := range names {
		if err = r.conn.Exec(`REINDEX "` + strings.ReplaceAll(n, `"`, `""`) + `"`); err != nil {
			if err = r.conn.Exec("REINDEX"); err != nil {
				return err
			}
			break
		}
	}
	return r.conn.Exec("COMMIT")
}

func integrityOK(msgs []string) bool {
	return len(msgs) == 1 && strings.EqualFold(strings.TrimSpace(msgs[0]), "ok")
}

// indexOnlyNames returns the distinct damaged indexes, in order, when
// every message is index-scoped; nil otherwise.
func indexOnlyNames(msgs []string) []string {
	var names []string
	for _, raw := range msgs {
		m := strings.TrimSpace(raw)
		if m == "" {
			continue
		}
		name := ""
		for _, re := range indexOnlyRe {
			if sub := re.FindStringSubmatch(m); sub != nil {
				name = strings.TrimSpace(sub[1])
				break
			}
		}
		if name == "" {
			return nil
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// sqliteMessage is SQLite's own text of an error, without the driver's
// "sqlite3: " prefix (Python's sqlite3 prints the bare message).
func sqliteMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "sqlite3: ")
}
