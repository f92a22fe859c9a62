package store

// Fault injection (issue 7, "Proof under fire"): every SQLite I/O
// operation of a representative write is made to fail in turn, in WAL
// and DELETE mode, with ENOSPC, EIO and short writes on the main file,
// the journal, the WAL and the WAL index. The window is a whole CLI
// invocation: Open, the write, Close. After each case a fresh
// connection through the default VFS must open the board, find
// integrity_check "ok", and see the write fully in or fully out.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/faultvfs"
	"github.com/kanbanshim/kanbanshim/internal/fsutil"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// faultSweepMax bounds N, the index of the failing operation.
const faultSweepMax = 200

// faultClock makes timestamps, and so the expected states, deterministic.
var faultClock = time.Unix(1_760_000_000, 0)

type faultMode struct{ name, peer string }

// The peer version picks the journal mode of the new base board.
var faultModes = []faultMode{{"wal", "3.51.3"}, {"delete", "3.40.1"}}

// faultKind is one row of the matrix: a rule whose N the sweep fills.
type faultKind struct {
	name string
	rule faultvfs.Rule
	mode string // "" both, else only this journal mode
}

func kind(name string, op faultvfs.Op, file string, f faultvfs.Fault, mode string) faultKind {
	return faultKind{name: name, rule: faultvfs.Rule{Op: op, File: file, Fault: f}, mode: mode}
}

func (k faultKind) onwards() faultKind {
	k.name += "+"
	k.rule.Times = faultvfs.Forever
	return k
}

var faultKinds = []faultKind{
	kind("enospc-write-main", faultvfs.OpWrite, faultvfs.MainDB, faultvfs.ENOSPC, ""),
	kind("short-write-main", faultvfs.OpWrite, faultvfs.MainDB, faultvfs.ShortWrite, ""),
	kind("eio-write-main", faultvfs.OpWrite, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-read-main", faultvfs.OpRead, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-sync-main", faultvfs.OpSync, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-truncate-main", faultvfs.OpTruncate, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-size-main", faultvfs.OpSize, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-lock-main", faultvfs.OpLock, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-unlock-main", faultvfs.OpUnlock, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("eio-open-main", faultvfs.OpOpen, faultvfs.MainDB, faultvfs.EIO, ""),
	kind("enospc-write-any", faultvfs.OpWrite, faultvfs.AnyFile, faultvfs.ENOSPC, "").onwards(),
	kind("eio-read-any", faultvfs.OpRead, faultvfs.AnyFile, faultvfs.EIO, "").onwards(),

	kind("enospc-write-journal", faultvfs.OpWrite, faultvfs.Journal, faultvfs.ENOSPC, "delete"),
	kind("short-write-journal", faultvfs.OpWrite, faultvfs.Journal, faultvfs.ShortWrite, "delete"),
	kind("eio-write-journal", faultvfs.OpWrite, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-read-journal", faultvfs.OpRead, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-sync-journal", faultvfs.OpSync, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-truncate-journal", faultvfs.OpTruncate, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-open-journal", faultvfs.OpOpen, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-delete-journal", faultvfs.OpDelete, faultvfs.Journal, faultvfs.EIO, "delete"),
	kind("eio-access-journal", faultvfs.OpAccess, faultvfs.Journal, faultvfs.EIO, "delete"),

	kind("enospc-write-wal", faultvfs.OpWrite, faultvfs.WAL, faultvfs.ENOSPC, "wal"),
	kind("short-write-wal", faultvfs.OpWrite, faultvfs.WAL, faultvfs.ShortWrite, "wal"),
	kind("eio-write-wal", faultvfs.OpWrite, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-read-wal", faultvfs.OpRead, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-sync-wal", faultvfs.OpSync, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-truncate-wal", faultvfs.OpTruncate, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-size-wal", faultvfs.OpSize, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-open-wal", faultvfs.OpOpen, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-delete-wal", faultvfs.OpDelete, faultvfs.WAL, faultvfs.EIO, "wal"),
	kind("eio-shm", faultvfs.OpShm, faultvfs.SHM, faultvfs.EIO, "wal"),
}

// faultOp is a representative write.
type faultOp struct {
	name string
	run  func(ctx context.Context, s *Store, b *faultBase) error
}

var faultOps = []faultOp{
	{"create", func(ctx context.Context, s *Store, _ *faultBase) error {
		body, who := "probe body", "bob"
		_, err := s.CreateTask(ctx, NewTask{Title: "fault probe", Body: &body, Assignee: &who, CreatedBy: "tester", Priority: 2})
		return err
	}},
	{"comment", func(ctx context.Context, s *Store, b *faultBase) error {
		_, err := s.AddComment(ctx, b.commentID, "tester", "probe comment")
		return err
	}},
	{"complete", func(ctx context.Context, s *Store, b *faultBase) error {
		sum, res := "probe done", "probe result"
		ok, err := s.CompleteTask(ctx, b.completeID, Completion{Summary: &sum, Result: &res, ExpectedRun: &b.runID})
		if err == nil && !ok {
			return errors.New("complete: task not completed")
		}
		return err
	}},
}

func faultOpts(dir, peer, vfsName string) Options {
	return Options{
		BusyTimeout:   5 * time.Second,
		LeaseTimeout:  5 * time.Second,
		QuarantineDir: filepath.Join(dir, "quarantine"),
		PeerSQLite: func(context.Context) host.PeerInfo {
			return host.PeerInfo{Python: "test", Version: peer, Affected: host.WALResetAffected(peer)}
		},
		Filesystem: func(string) host.FSInfo { return host.FSInfo{Name: "ext4"} },
		Now:        func() time.Time { return faultClock },
		VFS:        vfsName,
		Paths:      Paths{WorkspacesRoot: filepath.Join(dir, "workspaces")},
	}
}

// faultBase is a closed board with a task to comment on and a claimed
// task to complete; every case starts from a copy of it.
type faultBase struct {
	mode       faultMode
	db         string
	commentID  string
	completeID string
	runID      int64
	taskIDs    map[string]bool
	before     string // normalized dump
}

func newFaultBase(t *testing.T, mode faultMode) *faultBase {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	b := &faultBase{mode: mode, db: filepath.Join(dir, "kanban.db")}
	s, err := Open(ctx, b.db, faultOpts(dir, mode.peer, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.JournalMode() != mode.name {
		t.Fatalf("base board is %s, want %s", s.JournalMode(), mode.name)
	}
	who := "alice"
	if b.commentID, err = s.CreateTask(ctx, NewTask{Title: "comment target", Assignee: &who, CreatedBy: "tester"}); err != nil {
		t.Fatal(err)
	}
	if b.completeID, err = s.CreateTask(ctx, NewTask{Title: "complete target", Assignee: &who, CreatedBy: "tester"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddComment(ctx, b.commentID, "tester", "first comment"); err != nil {
		t.Fatal(err)
	}
	res, err := s.ClaimTask(ctx, b.completeID, 3600, "")
	if err != nil || res.RunID == 0 {
		t.Fatalf("claim: %+v, %v", res, err)
	}
	b.runID = res.RunID
	ids, err := sqlx.QueryStrings(s.Conn(), "SELECT id FROM tasks")
	if err != nil {
		t.Fatal(err)
	}
	b.taskIDs = map[string]bool{}
	for _, id := range ids {
		b.taskIDs[id] = true
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b.before = b.normalize(dumpBoard(t, b.db))
	return b
}

// faultDir is a scratch directory for one case. It is on tmpfs when the
// machine has one: the faults are injected above the filesystem, so its
// fsync costs nothing to the test's meaning, and ext4's fsyncs would
// make the sweep several times slower.
func faultDir(t *testing.T) (dir string, done func()) {
	t.Helper()
	root := "/dev/shm"
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		root = t.TempDir()
	}
	dir, err := os.MkdirTemp(root, "kanban-fault-")
	if err != nil {
		dir, err = os.MkdirTemp(t.TempDir(), "case")
	}
	if err != nil {
		t.Fatal(err)
	}
	done = func() { os.RemoveAll(dir) }
	t.Cleanup(done) // in case the test stops before calling done
	return dir, done
}

// copyTo copies the closed base board into a new directory.
func (b *faultBase) copyTo(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, "kanban.db")
	for _, suffix := range []string{"", "-wal"} {
		if err := fsutil.CopyNew(b.db+suffix, dst+suffix, 0o644, false); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return dst
}

var taskIDPattern = regexp.MustCompile(`t_[0-9a-f]{8}`)

// normalize names the task a create made "t_NEW", so runs compare, and
// re-sorts each table's rows, since renaming can change their order.
func (b *faultBase) normalize(dump string) string {
	dump = taskIDPattern.ReplaceAllStringFunc(dump, func(id string) string {
		if b.taskIDs[id] {
			return id
		}
		return "t_NEW"
	})
	sections := strings.Split(dump, "\n== ")
	for i, sec := range sections {
		lines := strings.Split(sec, "\n")
		sort.Strings(lines[1:])
		sections[i] = strings.Join(lines, "\n")
	}
	return strings.Join(sections, "\n== ")
}

// dumpBoard renders every row of every table, through a fresh store on
// the default VFS, after checking integrity.
func dumpBoard(t *testing.T, db string) string {
	t.Helper()
	dump, err := inspectBoard(db, "")
	if err != nil {
		t.Fatal(err)
	}
	return dump.rows
}

type boardDump struct {
	rows, integrity, mode string
}

func inspectBoard(db, peer string) (boardDump, error) {
	var d boardDump
	s, err := Open(context.Background(), db, faultOpts(filepath.Dir(db), peer, ""))
	if err != nil {
		return d, fmt.Errorf("reopen without faults: %w", err)
	}
	defer s.Close()
	c := s.Conn()
	d.mode = s.JournalMode()
	lines, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil {
		return d, fmt.Errorf("integrity_check: %w", err)
	}
	d.integrity = strings.Join(lines, "\n")
	tables, err := sqlx.QueryStrings(c, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
	if err != nil {
		return d, err
	}
	var out strings.Builder
	for _, tbl := range tables {
		var rows []string
		err := sqlx.Query(c, fmt.Sprintf("SELECT * FROM %q", tbl), nil, func(r *sqlx.Row) error {
			var cells []string
			for i, col := range r.Columns() {
				cells = append(cells, fmt.Sprintf("%s=%v", col, r.ValueAt(i)))
			}
			rows = append(rows, strings.Join(cells, "|"))
			return nil
		})
		if err != nil {
			return d, fmt.Errorf("dump %s: %w", tbl, err)
		}
		fmt.Fprintf(&out, "== %s (%d)", tbl, len(rows))
		for _, r := range rows {
			out.WriteString("\n" + r)
		}
		out.WriteString("\n")
	}
	d.rows = out.String()
	return d, s.Close()
}

// faultOutcome is what one case did.
type faultOutcome struct {
	fired            int
	openErr, opErr   error
	closeErr         error
	panicked         string
	state            string // "before", "after" or "other"
	check            boardDump
	checkErr         error
	openedAfterFault bool
}

// runWindow opens the board through the fault VFS, runs op (nil: none)
// and closes it: one CLI invocation. A panic is caught and reported.
func runWindow(ctx context.Context, db string, opts Options, op func(*Store) error) (o faultOutcome) {
	defer func() {
		if p := recover(); p != nil {
			o.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
		}
	}()
	s, err := Open(ctx, db, opts)
	if err != nil {
		o.openErr = err
		return o
	}
	if op != nil {
		o.opErr = op(s)
	}
	o.closeErr = s.Close()
	return o
}

// faultErr is the error the caller saw.
func (o faultOutcome) faultErr() error {
	if o.openErr != nil {
		return o.openErr
	}
	return o.opErr
}

// errClass buckets an error for the report: its SQLite extended code,
// or "corrupt", or its Go type.
func errClass(err error) string {
	var se *sqlite3.Error
	var xc sqlite3.ExtendedErrorCode
	switch {
	case err == nil:
		return "ok"
	case IsCorrupt(err):
		return "corrupt"
	case errors.As(err, &se):
		return codeName(se.ExtendedCode())
	case errors.As(err, &xc):
		return codeName(xc)
	}
	return fmt.Sprintf("%T", err)
}

var codeNames = map[sqlite3.ExtendedErrorCode]string{
	sqlite3.IOERR_READ:              "IOERR_READ",
	sqlite3.IOERR_SHORT_READ:        "IOERR_SHORT_READ",
	sqlite3.IOERR_WRITE:             "IOERR_WRITE",
	sqlite3.IOERR_FSYNC:             "IOERR_FSYNC",
	sqlite3.IOERR_TRUNCATE:          "IOERR_TRUNCATE",
	sqlite3.IOERR_FSTAT:             "IOERR_FSTAT",
	sqlite3.IOERR_UNLOCK:            "IOERR_UNLOCK",
	sqlite3.IOERR_LOCK:              "IOERR_LOCK",
	sqlite3.IOERR_DELETE:            "IOERR_DELETE",
	sqlite3.IOERR_ACCESS:            "IOERR_ACCESS",
	sqlite3.IOERR_SHMOPEN:           "IOERR_SHMOPEN",
	sqlite3.IOERR_SHMMAP:            "IOERR_SHMMAP",
	sqlite3.IOERR_SHMSIZE:           "IOERR_SHMSIZE",
	sqlite3.IOERR_SHMLOCK:           "IOERR_SHMLOCK",
	sqlite3.IOERR_CHECKRESERVEDLOCK: "IOERR_CHECKRESERVEDLOCK",
	sqlite3.IOERR_SEEK:              "IOERR_SEEK",
	sqlite3.IOERR_DIR_FSYNC:         "IOERR_DIR_FSYNC",
}

// codeName names an extended code for the report.
func codeName(c sqlite3.ExtendedErrorCode) string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	primary := map[sqlite3.ErrorCode]string{
		sqlite3.IOERR: "IOERR", sqlite3.FULL: "FULL", sqlite3.CANTOPEN: "CANTOPEN",
		sqlite3.BUSY: "BUSY", sqlite3.CORRUPT: "CORRUPT", sqlite3.NOTADB: "NOTADB",
	}
	if n, ok := primary[sqlite3.ErrorCode(c)]; ok && sqlite3.ExtendedErrorCode(sqlite3.ErrorCode(c)) == c {
		return n
	}
	return fmt.Sprintf("code %d", int(c))
}

// faultTally counts the cases of one (mode, op, kind).
type faultTally struct {
	cases, fired, failed, committedDespiteError int
	errs                                        map[string]int
	outcomes                                    map[string]int // state, or journal mode of a new board
}

func (ft *faultTally) add(o faultOutcome) {
	ft.cases++
	if ft.outcomes == nil {
		ft.outcomes = map[string]int{}
	}
	ft.outcomes[o.state]++
	if o.fired > 0 {
		ft.fired++
	}
	if o.faultErr() != nil {
		ft.failed++
		if ft.errs == nil {
			ft.errs = map[string]int{}
		}
		ft.errs[errClass(o.faultErr())]++
		if o.state == "after" {
			ft.committedDespiteError++
		}
	}
}

// faultReport collects the tallies of a whole test for its log (and, with
// KANBANSHIM_FAULT_REPORT=<file>, a file for docs/RELIABILITY.md).
type faultReport struct {
	mu   sync.Mutex
	rows map[string]*faultTally
}

func (r *faultReport) tally(key string) *faultTally {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rows == nil {
		r.rows = map[string]*faultTally{}
	}
	if r.rows[key] == nil {
		r.rows[key] = &faultTally{}
	}
	return r.rows[key]
}

func (r *faultReport) write(t *testing.T, title string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := make([]string, 0, len(r.rows))
	for k := range r.rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out strings.Builder
	fmt.Fprintf(&out, "%s\n| mode/op/kind | cases | fired | failed | committed despite error | errors | outcomes |\n|---|---|---|---|---|---|---|\n", title)
	total := faultTally{}
	for _, k := range keys {
		ft := r.rows[k]
		fmt.Fprintf(&out, "| %s | %d | %d | %d | %d | %s | %s |\n", k, ft.cases, ft.fired, ft.failed, ft.committedDespiteError, countList(ft.errs), countList(ft.outcomes))
		total.cases += ft.cases
		total.fired += ft.fired
		total.failed += ft.failed
		total.committedDespiteError += ft.committedDespiteError
	}
	fmt.Fprintf(&out, "| total | %d | %d | %d | %d | | |\n", total.cases, total.fired, total.failed, total.committedDespiteError)
	t.Log("\n" + out.String())
	if f := os.Getenv("KANBANSHIM_FAULT_REPORT"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, _ = io.WriteString(fh, out.String()+"\n")
			fh.Close()
		}
	}
}

// countList renders a counter as "a×2 b×1", sorted.
func countList(m map[string]int) string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// sampleN reports whether sweeps sample N instead of trying every one:
// under -short, and under the race detector (make test), which makes
// SQLite's Wasm-compiled code several times slower and has no
// concurrency to find here (one connection per case).
func sampleN() bool {
	if testing.Short() {
		return true
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return true
			}
		}
	}
	return false
}

// sweepNs are the N a sweep tries: every one, or a Fibonacci sample.
func sweepNs(sample bool) []int {
	var ns []int
	if sample {
		for a, b := 1, 2; a <= faultSweepMax; a, b = b, a+b {
			ns = append(ns, a)
		}
		return ns
	}
	for n := 1; n <= faultSweepMax; n++ {
		ns = append(ns, n)
	}
	return ns
}

var faultVFSSeq struct {
	sync.Mutex
	n int
}

// registerFault registers a fresh fault VFS for one (parallel) subtest.
func registerFault(t *testing.T) *faultvfs.Injector {
	faultVFSSeq.Lock()
	faultVFSSeq.n++
	name := fmt.Sprintf("kanban-fault-%d", faultVFSSeq.n)
	faultVFSSeq.Unlock()
	in := faultvfs.Register(name)
	t.Cleanup(in.Unregister)
	return in
}

// TestFault_writes is the matrix: mode × write × fault kind × N.
func TestFault_writes(t *testing.T) {
	report := &faultReport{}
	t.Cleanup(func() { report.write(t, "TestFault_writes") })
	for _, mode := range faultModes {
		base := newFaultBase(t, mode)
		for _, op := range faultOps {
			after := faultReference(t, base, op)
			for _, k := range faultKinds {
				if k.mode != "" && k.mode != mode.name {
					continue
				}
				t.Run(mode.name+"/"+op.name+"/"+k.name, func(t *testing.T) {
					t.Parallel()
					sweepWrite(t, base, op, k, after, report.tally(mode.name+"/"+op.name+"/"+k.name))
				})
			}
		}
	}
}

// faultReference runs op without faults, twice, and returns the state it
// leaves; the two runs must agree, or comparing states would mean nothing.
func faultReference(t *testing.T, b *faultBase, op faultOp) string {
	t.Helper()
	var dumps [2]string
	for i := range dumps {
		dir, _ := faultDir(t)
		db := b.copyTo(t, dir)
		o := runWindow(context.Background(), db, faultOpts(dir, b.mode.peer, ""), func(s *Store) error { return op.run(context.Background(), s, b) })
		if o.panicked != "" || o.faultErr() != nil || o.closeErr != nil {
			t.Fatalf("%s/%s without faults: %v %v %s", b.mode.name, op.name, o.faultErr(), o.closeErr, o.panicked)
		}
		dumps[i] = b.normalize(dumpBoard(t, db))
	}
	if dumps[0] != dumps[1] {
		t.Fatalf("%s/%s is not deterministic:\n%s\n---\n%s", b.mode.name, op.name, dumps[0], dumps[1])
	}
	if dumps[0] == b.before {
		t.Fatalf("%s/%s changed nothing", b.mode.name, op.name)
	}
	return dumps[0]
}

func sweepWrite(t *testing.T, b *faultBase, op faultOp, k faultKind, after string, tally *faultTally) {
	in := registerFault(t)
	ctx := context.Background()
	for _, n := range sweepNs(sampleN()) {
		dir, done := faultDir(t)
		db := b.copyTo(t, dir)
		rule := k.rule
		rule.N = n
		in.Reset()
		in.Arm(rule)
		o := runWindow(ctx, db, faultOpts(dir, b.mode.peer, in.Name()), func(s *Store) error { return op.run(ctx, s, b) })
		o.fired = in.Fired()
		in.Disarm()
		o.check, o.checkErr = inspectBoard(db, b.mode.peer)
		switch b.normalize(o.check.rows) {
		case b.before:
			o.state = "before"
		case after:
			o.state = "after"
		default:
			o.state = "other"
		}
		tally.add(o)
		judgeWrite(t, rule, fmt.Sprintf("N=%d %v", n, rule), b.mode.name, o)
		done()
		if o.fired == 0 || t.Failed() {
			return
		}
	}
	t.Errorf("%s still fires at N=%d: raise faultSweepMax", k.name, faultSweepMax)
}

// judgeWrite states the rules: no panic; the board reopens, is intact and
// keeps its journal mode; the write is fully in or fully out; a reported
// success is durable; without a fault nothing fails; a failure carries
// the injected code (FULL for ENOSPC, IOERR_FSYNC for a failed fsync, …)
// and is never called corruption.
func judgeWrite(t *testing.T, rule faultvfs.Rule, name, mode string, o faultOutcome) {
	t.Helper()
	switch {
	case o.panicked != "":
		t.Errorf("%s: panic: %s", name, o.panicked)
	case o.checkErr != nil:
		t.Errorf("%s: board unusable after the fault (open err %v, op err %v): %v", name, o.openErr, o.opErr, o.checkErr)
	case o.check.integrity != "ok":
		t.Errorf("%s: integrity_check after the fault: %s", name, o.check.integrity)
	case o.check.mode != mode:
		t.Errorf("%s: journal mode became %s, want %s", name, o.check.mode, mode)
	case o.state == "other":
		t.Errorf("%s: write half in (open err %v, op err %v):\n%s", name, o.openErr, o.opErr, o.check.rows)
	case o.fired == 0 && (o.faultErr() != nil || o.state != "after"):
		t.Errorf("%s: no fault fired, yet err = %v, state %s", name, o.faultErr(), o.state)
	case o.faultErr() == nil && o.state != "after":
		t.Errorf("%s: write reported success but is not on the board (close err %v)", name, o.closeErr)
	case o.faultErr() != nil && IsCorrupt(o.faultErr()):
		t.Errorf("%s: an I/O fault was reported as corruption: %v", name, o.faultErr())
	case o.faultErr() != nil && !errors.Is(o.faultErr(), rule.Code()):
		t.Errorf("%s: err = %v (%s), want code %s", name, o.faultErr(), errClass(o.faultErr()), codeName(rule.Code()))
	}
}

// TestFault_openNewBoard fails each operation of creating a new board:
// afterwards the board must open cleanly (never refuse as damaged), hold
// the full schema, take a write, and be in the mode its creation chose or
// in SQLite's default if the fault came before the mode was set.
func TestFault_openNewBoard(t *testing.T) {
	report := &faultReport{}
	t.Cleanup(func() { report.write(t, "TestFault_openNewBoard") })
	for _, mode := range faultModes {
		for _, k := range faultKinds {
			if k.mode != "" && k.mode != mode.name {
				continue
			}
			t.Run(mode.name+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				sweepOpenNew(t, mode, k, report.tally(mode.name+"/open-new/"+k.name))
			})
		}
	}
}

func sweepOpenNew(t *testing.T, mode faultMode, k faultKind, tally *faultTally) {
	in := registerFault(t)
	ctx := context.Background()
	for _, n := range sweepNs(sampleN()) {
		dir, done := faultDir(t)
		db := filepath.Join(dir, "kanban.db")
		rule := k.rule
		rule.N = n
		in.Reset()
		in.Arm(rule)
		o := runWindow(ctx, db, faultOpts(dir, mode.peer, in.Name()), nil)
		o.fired = in.Fired()
		in.Disarm()
		name := fmt.Sprintf("N=%d %v", n, rule)
		if o.panicked != "" {
			t.Errorf("%s: panic: %s", name, o.panicked)
		}
		if o.fired == 0 && o.openErr != nil {
			t.Errorf("%s: no fault fired, yet Open failed: %v", name, o.openErr)
		}
		if o.openErr != nil && IsCorrupt(o.openErr) {
			t.Errorf("%s: an I/O fault was reported as corruption: %v", name, o.openErr)
		}
		if o.openErr != nil && !errors.Is(o.openErr, rule.Code()) {
			t.Errorf("%s: err = %v (%s), want code %s", name, o.openErr, errClass(o.openErr), codeName(rule.Code()))
		}
		o.state = checkNewBoard(t, name, db, mode, o)
		tally.add(o)
		done()
		if o.fired == 0 || t.Failed() {
			return
		}
	}
	t.Errorf("%s still fires at N=%d: raise faultSweepMax", k.name, faultSweepMax)
}

// checkNewBoard opens the board left by a failed creation without faults,
// proves it is a whole, writable board, and returns its journal mode.
func checkNewBoard(t *testing.T, name, db string, mode faultMode, o faultOutcome) string {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, db, faultOpts(filepath.Dir(db), mode.peer, ""))
	if err != nil {
		t.Errorf("%s: board refuses to open after a failed creation (first err %v): %v", name, o.openErr, err)
		return "unopenable"
	}
	defer s.Close()
	if got, _, err := sqlx.QueryText(s.Conn(), "PRAGMA integrity_check"); err != nil || got != "ok" {
		t.Errorf("%s: integrity_check = %q, %v", name, got, err)
	}
	if o.openErr == nil && s.JournalMode() != mode.name {
		t.Errorf("%s: creation reported success in %s mode, want %s", name, s.JournalMode(), mode.name)
	}
	if _, err := s.CreateTask(ctx, NewTask{Title: "after the fault", CreatedBy: "tester"}); err != nil {
		t.Errorf("%s: board not writable after a failed creation: %v", name, err)
	}
	return s.JournalMode()
}

// TestFault_existingBoardNeverRecreated fails opens and reads of an
// existing board with every N: Open may fail, but the board's rows must
// be exactly as before (never an empty board in its place).
func TestFault_existingBoardNeverRecreated(t *testing.T) {
	for _, mode := range faultModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			b := newFaultBase(t, mode)
			in := registerFault(t)
			ctx := context.Background()
			cases := 0
			defer func() { t.Logf("%d cases", cases) }()
			for _, k := range []faultKind{
				kind("eio-open-main", faultvfs.OpOpen, faultvfs.MainDB, faultvfs.EIO, ""),
				kind("eio-read-main", faultvfs.OpRead, faultvfs.MainDB, faultvfs.EIO, "").onwards(),
				kind("eio-size-main", faultvfs.OpSize, faultvfs.MainDB, faultvfs.EIO, "").onwards(),
				kind("eio-lock-main", faultvfs.OpLock, faultvfs.MainDB, faultvfs.EIO, "").onwards(),
			} {
				for n := 1; n <= faultSweepMax; n++ {
					dir, done := faultDir(t)
					db := b.copyTo(t, dir)
					rule := k.rule
					rule.N = n
					in.Reset()
					in.Arm(rule)
					o := runWindow(ctx, db, faultOpts(dir, mode.peer, in.Name()), nil)
					fired := in.Fired()
					cases++
					in.Disarm()
					if o.panicked != "" {
						t.Fatalf("%v: panic: %s", rule, o.panicked)
					}
					got := b.normalize(dumpBoard(t, db))
					done()
					if got != b.before {
						t.Fatalf("%v: board changed by a failed open (err %v):\n%s", rule, o.openErr, got)
					}
					if fired == 0 {
						break
					}
				}
			}
		})
	}
}
