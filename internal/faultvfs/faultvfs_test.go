package faultvfs

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/vfs"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// openVia opens path through the named VFS ("" = default).
func openVia(t *testing.T, path, vfsName string) *sqlite3.Conn {
	t.Helper()
	name := path
	flags := sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE
	if vfsName != "" {
		name = (&url.URL{Scheme: "file", Path: path, RawQuery: "vfs=" + url.QueryEscape(vfsName)}).String()
		flags |= sqlite3.OPEN_URI
	}
	c, err := sqlite3.OpenFlags(name, flags)
	if err != nil {
		t.Fatalf("open %s via %q: %v", path, vfsName, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func exec(t *testing.T, c *sqlite3.Conn, sql string) {
	t.Helper()
	if err := c.Exec(sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, c *sqlite3.Conn) int64 {
	t.Helper()
	n, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM t")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func integrity(t *testing.T, path string) {
	t.Helper()
	c := openVia(t, path, "")
	got, _, err := sqlx.QueryText(c, "PRAGMA integrity_check")
	if err != nil || got != "ok" {
		t.Fatalf("integrity_check = %q, %v", got, err)
	}
}

// newDB makes a database with table t(x) in the given journal mode,
// through the default VFS.
func newDB(t *testing.T, mode string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.db")
	c := openVia(t, path, "")
	exec(t, c, "PRAGMA journal_mode="+mode)
	exec(t, c, "CREATE TABLE t(x)")
	exec(t, c, "INSERT INTO t VALUES (1)")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRegister_forwardsWAL checks that a WAL database opened through the
// wrapper shares its WAL index with a connection through the default VFS,
// and that file controls (persist-WAL, lock state) reach the base file.
func TestRegister_forwardsWAL(t *testing.T) {
	in := Register("faultvfs-test-wal")
	t.Cleanup(in.Unregister) // after the connections close (cleanups run last-in first-out)
	path := newDB(t, "wal")
	a := openVia(t, path, in.Name())
	b := openVia(t, path, "")
	mode, _, err := sqlx.QueryText(a, "PRAGMA journal_mode")
	if err != nil || mode != "wal" {
		t.Fatalf("journal_mode via wrapper = %q, %v", mode, err)
	}
	exec(t, a, "INSERT INTO t VALUES (2)")
	exec(t, b, "INSERT INTO t VALUES (3)")
	if n := count(t, a); n != 3 {
		t.Errorf("wrapper sees %d rows, want 3", n)
	}
	if n := count(t, b); n != 3 {
		t.Errorf("default VFS sees %d rows, want 3", n)
	}
	exec(t, a, "BEGIN IMMEDIATE")
	lk, err := a.FileControl("main", sqlite3.FCNTL_LOCKSTATE)
	// WAL writers hold SHARED on the main file (the write lock is in the
	// WAL index); an unforwarded lock state would be an error.
	if err != nil || lk != vfs.LOCK_SHARED {
		t.Errorf("FCNTL_LOCKSTATE in BEGIN IMMEDIATE = %v, %v; want SHARED", lk, err)
	}
	exec(t, a, "COMMIT")
	if _, err := a.FileControl("main", sqlite3.FCNTL_PERSIST_WAL, true); err != nil {
		t.Fatalf("FCNTL_PERSIST_WAL: %v", err)
	}
	b.Close()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("persist-WAL not forwarded: -wal gone after last close: %v", err)
	}
	if in.Count(OpWrite, WAL) == 0 || in.Count(OpSync, WAL) == 0 {
		t.Errorf("no WAL writes/syncs counted: %v", in.Counts())
	}
	integrity(t, path)
}

func TestInjector_errorCodes(t *testing.T) {
	full := sqlite3.ExtendedErrorCode(sqlite3.FULL)
	cases := []struct {
		name  string
		mode  string
		rule  Rule
		want  sqlite3.ExtendedErrorCode
		errno syscall.Errno
	}{
		{"enospc write main", "delete", Rule{Op: OpWrite, File: MainDB, Fault: ENOSPC}, full, syscall.ENOSPC},
		{"enospc write journal", "delete", Rule{Op: OpWrite, File: Journal, Fault: ENOSPC}, full, syscall.ENOSPC},
		{"short write wal", "wal", Rule{Op: OpWrite, File: WAL, Fault: ShortWrite}, full, syscall.ENOSPC},
		{"eio write wal", "wal", Rule{Op: OpWrite, File: WAL, Fault: EIO}, sqlite3.IOERR_WRITE, syscall.EIO},
		{"eio sync journal", "delete", Rule{Op: OpSync, File: Journal, Fault: EIO}, sqlite3.IOERR_FSYNC, syscall.EIO},
		{"eio sync wal", "wal", Rule{Op: OpSync, File: WAL, Fault: EIO}, sqlite3.IOERR_FSYNC, syscall.EIO},
		{"eio read main", "delete", Rule{Op: OpRead, File: MainDB, Fault: EIO}, sqlite3.IOERR_READ, syscall.EIO},
		{"eio lock main", "delete", Rule{Op: OpLock, File: MainDB, Fault: EIO}, sqlite3.IOERR_LOCK, syscall.EIO},
		{"eio delete journal", "delete", Rule{Op: OpDelete, File: Journal, Fault: EIO}, sqlite3.IOERR_DELETE, syscall.EIO},
		{"eio open journal", "delete", Rule{Op: OpOpen, File: Journal, Fault: EIO}, sqlite3.ExtendedErrorCode(sqlite3.CANTOPEN), syscall.EIO},
	}
	in := Register("faultvfs-test-codes")
	t.Cleanup(in.Unregister) // after the connections close (cleanups run last-in first-out)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in.Reset()
			path := newDB(t, tc.mode)
			c := openVia(t, path, in.Name())
			if n := count(t, c); n != 1 {
				t.Fatalf("rows before = %d", n)
			}
			in.Arm(tc.rule)
			err := c.Exec("INSERT INTO t VALUES (2)")
			if in.Fired() != 1 {
				t.Fatalf("fired %d times, want 1 (counts %v)", in.Fired(), in.Counts())
			}
			switch {
			case err == nil:
				t.Fatal("INSERT succeeded with the fault armed")
			case tc.rule.Code() != tc.want:
				t.Errorf("Rule.Code() = %d, want %d", tc.rule.Code(), tc.want)
			case !errors.Is(err, tc.want):
				t.Errorf("err = %v (%T), want code %d", err, err, tc.want)
			case in.Hits()[0].Errno != tc.errno:
				t.Errorf("hit errno = %v, want %v", in.Hits()[0].Errno, tc.errno)
			}
			in.Disarm()
			if err := c.Close(); err != nil {
				t.Logf("close: %v", err)
			}
			integrity(t, path)
			if n := count(t, openVia(t, path, "")); n != 1 {
				t.Errorf("rows after the failed INSERT = %d, want 1 (rolled back)", n)
			}
		})
	}
}

// TestInjector_shm fails the WAL index of the next main-database open:
// the connection cannot read, and nothing is created in its place.
func TestInjector_shm(t *testing.T) {
	in := Register("faultvfs-test-shm")
	t.Cleanup(in.Unregister) // after the connections close (cleanups run last-in first-out)
	path := newDB(t, "wal")
	in.Arm(Rule{Op: OpShm, File: SHM, Fault: EIO})
	c := openVia(t, path, in.Name())
	_, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM t")
	if err == nil {
		t.Fatal("read through a broken WAL index succeeded")
	}
	if !errors.Is(err, sqlite3.CANTOPEN) {
		t.Errorf("err = %v, want CANTOPEN", err)
	}
	if in.Fired() != 1 {
		t.Errorf("fired %d, want 1", in.Fired())
	}
	c.Close()
	in.Disarm()
	c = openVia(t, path, in.Name())
	if n := count(t, c); n != 1 {
		t.Errorf("rows after the fault = %d, want 1", n)
	}
}

// TestInjector_shortWrite writes half the buffer and reports SQLITE_FULL.
func TestInjector_shortWrite(t *testing.T) {
	in := Register("faultvfs-test-short")
	t.Cleanup(in.Unregister) // after the connections close (cleanups run last-in first-out)
	f, _, err := vfs.Find(in.Name()).Open("", vfs.OPEN_MAIN_DB|vfs.OPEN_READWRITE|vfs.OPEN_CREATE|vfs.OPEN_DELETEONCLOSE)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in.Arm(Rule{Op: OpWrite, File: MainDB, Fault: ShortWrite})
	n, err := f.WriteAt([]byte("12345678"), 0)
	if n != 4 || err == nil || in.Hits()[0].Errno != syscall.ENOSPC {
		t.Errorf("WriteAt = %d, %v; want 4, ENOSPC", n, err)
	}
	if size, _ := f.Size(); size != 4 {
		t.Errorf("size after short write = %d, want 4", size)
	}
	if n, err := f.WriteAt([]byte("abcd"), 4); n != 4 || err != nil {
		t.Errorf("second WriteAt = %d, %v; want 4, nil (rule fires once)", n, err)
	}
	buf := make([]byte, 8)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "1234abcd" {
		t.Errorf("content = %q, %v", buf, err)
	}
}

func TestRule_fires(t *testing.T) {
	cases := []struct {
		rule Rule
		want string // seen 1..8: x fires, . passes
	}{
		{Rule{}, "x......."},
		{Rule{N: 3}, "..x....."},
		{Rule{N: 3, Times: 2}, "..xx...."},
		{Rule{N: 2, Times: Forever}, ".xxxxxxx"},
	}
	for _, tc := range cases {
		got := ""
		for seen := 1; seen <= 8; seen++ {
			if tc.rule.fires(seen) {
				got += "x"
			} else {
				got += "."
			}
		}
		if got != tc.want {
			t.Errorf("%v fires %s, want %s", tc.rule, got, tc.want)
		}
	}
}

// TestInjector_counts checks per-rule counting on a matching class only,
// and that Reset clears rules and counters.
func TestInjector_counts(t *testing.T) {
	in := newInjector("x")
	in.Arm(Rule{Op: OpWrite, File: WAL, N: 2, Fault: EIO})
	for i, tc := range []struct {
		op    Op
		class string
		fail  bool
	}{
		{OpWrite, MainDB, false}, {OpWrite, WAL, false}, {OpRead, WAL, false},
		{OpWrite, WAL, true}, {OpWrite, WAL, false},
	} {
		err := in.check(tc.op, tc.class, "db", 0, 0)
		if (err != nil) != tc.fail {
			t.Errorf("op %d (%v %q): err = %v, want fail=%v", i, tc.op, tc.class, err, tc.fail)
		}
	}
	if n := in.Count(OpWrite, WAL); n != 3 {
		t.Errorf("Count(write, wal) = %d, want 3", n)
	}
	if n := in.Count(OpWrite, AnyFile); n != 4 {
		t.Errorf("Count(write, any) = %d, want 4", n)
	}
	h := in.Hits()
	if len(h) != 1 || h[0].Op != OpWrite || h[0].File != WAL || h[0].Errno != syscall.EIO {
		t.Errorf("Hits = %+v", h)
	}
	in.Reset()
	if in.Count(OpWrite, AnyFile) != 0 || in.Fired() != 0 || in.check(OpWrite, WAL, "db", 0, 0) != nil {
		t.Error("Reset kept counters, hits or rules")
	}
}

func TestParse(t *testing.T) {
	for _, o := range []Op{OpOpen, OpRead, OpWrite, OpSync, OpTruncate, OpSize, OpLock, OpUnlock, OpDelete, OpAccess, OpShm} {
		if got, ok := ParseOp(o.String()); !ok || got != o {
			t.Errorf("ParseOp(%q) = %v, %v", o.String(), got, ok)
		}
	}
	for _, f := range []Fault{ENOSPC, EIO, ShortWrite} {
		if got, ok := ParseFault(f.String()); !ok || got != f {
			t.Errorf("ParseFault(%q) = %v, %v", f.String(), got, ok)
		}
	}
	if _, ok := ParseOp("rename"); ok {
		t.Error("ParseOp(rename) ok")
	}
}

func TestParseRule(t *testing.T) {
	good := []struct {
		spec string
		want Rule
	}{
		{"enospc:-wal:1", Rule{Op: OpWrite, File: WAL, N: 1, Fault: ENOSPC}},
		{"short:main:2", Rule{Op: OpWrite, File: MainDB, N: 2, Fault: ShortWrite}},
		{"eio-sync:-journal:1", Rule{Op: OpSync, File: Journal, N: 1, Fault: EIO}},
		{"eio-read:*:5+", Rule{Op: OpRead, File: AnyFile, N: 5, Times: Forever, Fault: EIO}},
		{"eio-shm:-shm:1", Rule{Op: OpShm, File: SHM, N: 1, Fault: EIO}},
		{"eio-lock::3", Rule{Op: OpLock, File: MainDB, N: 3, Fault: EIO}},
	}
	for _, tc := range good {
		got, err := ParseRule(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	for _, spec := range []string{"", "enospc", "enospc:-wal", "full:-wal:1", "eio-rename:main:1", "eio:-db:1", "eio:main:0", "eio:main:x", "eio:main:1:2"} {
		if r, err := ParseRule(spec); err == nil {
			t.Errorf("ParseRule(%q) = %+v, want an error", spec, r)
		}
	}
}
