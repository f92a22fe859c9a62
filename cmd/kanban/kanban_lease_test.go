package main

// Helpers for the tests that drive real `kanban` processes against a board:
// the concurrency, interop, SIGKILL, SIGTERM and `kanban locks` tests. They
// run a statically linked kanban built once per test process, lazily, so
// the script tests do not pay for it; thousands of short processes start
// faster from it than from this test binary.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
)

var (
	kanbanOnce sync.Once
	kanbanPath string
	kanbanErr  error
)

// kanbanBinary builds ./cmd/kanban once per test process, next to the
// test binary (go test removes that directory when it is done), and
// returns its path.
func kanbanBinary(t testing.TB) string {
	t.Helper()
	kanbanOnce.Do(func() { kanbanPath, kanbanErr = buildKanban() })
	if kanbanErr != nil {
		t.Fatalf("build kanban: %v", kanbanErr)
	}
	return kanbanPath
}

func buildKanban() (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	dir, err := binDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kanban")
	// -tags testhooks: the KANBANSHIM_TEST_* switches (pause in a
	// transaction) exist only in such builds.
	cmd := exec.Command(goBin, "build", "-tags", "testhooks", "-o", bin, "./cmd/kanban")
	// Static: ~20% less start-up CPU per process (no dynamic loader),
	// and the tests start thousands of them.
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kanban: %w\n%s", err, out)
	}
	return bin, nil
}

// binDir is a fresh directory next to the test binary, or under the
// system temp dir when that is not writable.
func binDir() (string, error) {
	if exe, err := os.Executable(); err == nil {
		if dir, err := os.MkdirTemp(filepath.Dir(exe), "kanban-bin-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "kanbanshim-kanban-bin-")
}

// peerSQLite is the KANBANSHIM_PEER_SQLITE value that makes kanban create
// a new board in each journal mode: a fixed SQLite gives WAL, one with
// the WAL-reset bug gives DELETE (as upstream does).
var peerSQLite = map[string]string{"wal": "3.51.3", "delete": "3.40.1"}

// testBoard is a default board under its own HERMES_HOME.
type testBoard struct {
	bin  string
	home string
	db   string
	mode string
	env  []string
}

// newTestBoard creates a board in mode ("wal" or "delete") with
// `kanban init` and checks the mode it got.
func newTestBoard(t testing.TB, mode string) *testBoard {
	t.Helper()
	home := t.TempDir()
	b := &testBoard{bin: kanbanBinary(t), home: home, db: filepath.Join(home, "kanban.db"), mode: mode}
	b.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(home, "userhome"),
		"HERMES_HOME=" + home,
		"HERMES_BIN=" + filepath.Join(home, "no-hermes"),
		"KANBANSHIM_PEER_SQLITE=" + peerSQLite[mode],
		"TZ=UTC",
	}
	b.mustRun(t, "init")
	if got := journalMode(t, b.db); got != mode {
		t.Fatalf("new board is in %s mode, want %s", got, mode)
	}
	return b
}

// result is one finished kanban command.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("kanban %s: exit %d, stdout %q, stderr %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// command prepares a kanban invocation with the board's environment plus
// extra variables.
func (b *testBoard) command(ctx context.Context, extra []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Env = append(append([]string(nil), b.env...), extra...)
	return cmd
}

// run runs kanban to completion. Only failures to start are errors; the
// exit code is in the result.
func (b *testBoard) run(ctx context.Context, extra []string, args ...string) (result, error) {
	cmd := b.command(ctx, extra, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		return r, err
	}
	return r, nil
}

// mustRun runs kanban and fails the test unless it exits 0 with an
// empty stderr; it returns stdout.
func (b *testBoard) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	r, err := b.run(context.Background(), nil, args...)
	if err != nil || r.code != 0 || r.stderr != "" {
		t.Fatalf("%v (err %v)", r, err)
	}
	return r.stdout
}

var createdRe = regexp.MustCompile(`(?m)^Created (t_[0-9a-f]{8,})\b`)

// createdID extracts the id from `kanban create` output.
func createdID(stdout string) (string, bool) {
	m := createdRe.FindStringSubmatch(stdout)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// createTask creates a ready task and returns its id.
func (b *testBoard) createTask(t testing.TB, title string) string {
	t.Helper()
	out := b.mustRun(t, "create", title)
	id, ok := createdID(out)
	if !ok {
		t.Fatalf("create printed %q", out)
	}
	return id
}

// paused is a kanban process stopped inside a write transaction by the
// KANBANSHIM_TEST_PAUSE_IN_TXN hook.
type paused struct {
	cmd    *exec.Cmd
	stderr *lineBuffer
	done   chan struct{}
	err    error // Wait's result, once done is closed
}

// startPaused starts kanban with the pause hook for ops starting with
// prefix and waits until it reports that it is inside the transaction
// (holding the write lease and SQLite's write lock).
func (b *testBoard) startPaused(t testing.TB, prefix string, args ...string) *paused {
	t.Helper()
	cmd := b.command(context.Background(), []string{"KANBANSHIM_TEST_PAUSE_IN_TXN=" + prefix}, args...)
	p := &paused{cmd: cmd, stderr: newLineBuffer(), done: make(chan struct{})}
	cmd.Stdout = io.Discard
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	select {
	case <-p.stderr.match("kanbanshim-test: paused in transaction"):
	case <-p.done:
		t.Fatalf("kanban %s exited before pausing: %v, stderr %q", strings.Join(args, " "), p.err, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("kanban %s did not pause within 30s; stderr %q", strings.Join(args, " "), p.stderr.String())
	}
	return p
}

func (p *paused) pid() int { return p.cmd.Process.Pid }

// signal sends sig and waits (up to 30 s) for the process to exit,
// returning its exit code (-1 when killed by the signal).
func (p *paused) signal(t testing.TB, sig syscall.Signal) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("pid %d still running 30s after %v", p.pid(), sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// lineBuffer collects a process's output and lets a test wait for a line.
type lineBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	waiters []lineWaiter
}

type lineWaiter struct {
	substr string
	ch     chan struct{}
}

func newLineBuffer() *lineBuffer { return &lineBuffer{} }

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.notify()
	return len(p), nil
}

// match returns a channel closed once a complete line contains substr.
func (l *lineBuffer) match(substr string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := lineWaiter{substr: substr, ch: make(chan struct{})}
	l.waiters = append(l.waiters, w)
	l.notify()
	return w.ch
}

func (l *lineBuffer) notify() {
	keep := l.waiters[:0]
	for _, w := range l.waiters {
		if hasLine(l.buf.String(), w.substr) {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	l.waiters = keep
}

// hasLine reports whether a complete (newline-terminated) line of s
// contains substr.
func hasLine(s, substr string) bool {
	lines := strings.Split(s, "\n")
	for _, line := range lines[:len(lines)-1] {
		if strings.Contains(line, substr) {
			return true
		}
	}
	return false
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// openDB opens the board for checks (read-write, never creating it, with
// a long busy timeout so a check waits for live writers).
func openDB(t testing.TB, db string) *sqlite3.Conn {
	t.Helper()
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.BusyTimeout(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	return c
}

// journalMode reads the board's journal mode without changing it. Its
// connection is closed at once, so it does not show up as an opener.
func journalMode(t testing.TB, db string) string {
	t.Helper()
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mode, _, err := sqlx.QueryText(c, "PRAGMA journal_mode")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(mode)
}

// count runs a SELECT count(*)-style query.
func count(t testing.TB, c *sqlite3.Conn, sql string, args ...any) int64 {
	t.Helper()
	n, _, err := sqlx.QueryInt(c, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkIntegrity fails unless PRAGMA integrity_check is the single row ok.
func checkIntegrity(t testing.TB, c *sqlite3.Conn) {
	t.Helper()
	rows, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != "ok" {
		t.Fatalf("integrity_check = %q", rows)
	}
}

// checkNoLocks fails if anyone still holds the board's lease or open
// guard (from /proc/locks).
func checkNoLocks(t testing.TB, db string) {
	t.Helper()
	for _, path := range []string{board.LeasePath(db), board.OpenPath(db)} {
		held, holders, err := lockd.LockState(path)
		if errors.Is(err, lockd.ErrUnsupported) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if held {
			t.Errorf("%s is still held: %+v", filepath.Base(path), holders)
		}
	}
}

// mustStrings returns the first column of a query's rows as text.
func mustStrings(t testing.TB, c *sqlite3.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := sqlx.QueryStrings(c, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}
