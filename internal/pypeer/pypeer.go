// Package pypeer runs a Python stand-in for upstream hermes against a
// board, for interop tests: peer.py connects and writes the way upstream's
// kanban_db does (its PRAGMAs, BEGIN IMMEDIATE with a 5x retry on
// "database is locked", its statement shapes for create, claim, heartbeat,
// comment and complete) through Python's own sqlite3 module, which uses
// POSIX record locks where kanbanshim's driver uses OFD locks. It takes
// none of kanbanshim's lock files, exactly like upstream.
package pypeer

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed peer.py
var script []byte

// ErrNoPython reports that no python3 interpreter was found.
var ErrNoPython = errors.New("pypeer: python3 not found")

// Script returns the peer's source.
func Script() []byte { return append([]byte(nil), script...) }

// Peer is the Python side of one board.
type Peer struct {
	Python string // interpreter
	Script string // peer.py on disk
	DB     string // board database
}

// New writes peer.py into dir and returns a peer for db. It fails with
// ErrNoPython when python3 is not on PATH.
func New(dir, db string) (*Peer, error) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPython, err)
	}
	path := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(path, script, 0o644); err != nil {
		return nil, fmt.Errorf("pypeer: %w", err)
	}
	return &Peer{Python: py, Script: path, DB: db}, nil
}

// Command returns the peer invocation `peer.py DB args…`.
func (p *Peer) Command(ctx context.Context, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, p.Python, append([]string{p.Script, p.DB}, args...)...)
}

// WorkOptions selects a work run.
type WorkOptions struct {
	// Writes is the number of write commands, in cycles of create,
	// claim, heartbeat, comment, complete on the peer's own tasks.
	Writes int
	// Tag is stored as tasks.created_by and the comment author, so the
	// peer's rows can be told apart.
	Tag string
	// ForeignComments sends each comment to a random task that another
	// writer created (when one exists): the peer must see their rows.
	ForeignComments bool
}

// WorkResult is the JSON a work run prints.
type WorkResult struct {
	Tag              string   `json:"tag"`
	Created          []string `json:"created"`
	Writes           int      `json:"writes"`
	ForeignCommented []string `json:"foreign_commented"`
	Errors           []string `json:"errors"`
	LockedRetries    int      `json:"locked_retries"`
	JournalMode      string   `json:"journal_mode"`
}

// Run is a work run in progress.
type Run struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

// Start begins a work run in the background.
func (p *Peer) Start(ctx context.Context, o WorkOptions) (*Run, error) {
	args := []string{"work", "--writes", strconv.Itoa(o.Writes), "--tag", o.Tag}
	if o.ForeignComments {
		args = append(args, "--foreign-comments")
	}
	r := &Run{cmd: p.Command(ctx, args...)}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pypeer: start: %w", err)
	}
	return r, nil
}

// Wait waits for the run and decodes its result. A run whose writes
// failed returns its result and an error naming the failures.
func (r *Run) Wait() (WorkResult, error) {
	err := r.cmd.Wait()
	var res WorkResult
	if jerr := json.Unmarshal(r.stdout.Bytes(), &res); jerr != nil {
		return res, fmt.Errorf("pypeer: work: %w (stdout %q, stderr %q)", errors.Join(err, jerr), r.stdout.String(), r.stderr.String())
	}
	if len(res.Errors) > 0 {
		return res, fmt.Errorf("pypeer: work: %d write(s) failed, first: %s", len(res.Errors), res.Errors[0])
	}
	if err != nil {
		return res, fmt.Errorf("pypeer: work: %w (stderr %q)", err, r.stderr.String())
	}
	return res, nil
}

// Work runs a work run to completion.
func (p *Peer) Work(ctx context.Context, o WorkOptions) (WorkResult, error) {
	r, err := p.Start(ctx, o)
	if err != nil {
		return WorkResult{}, err
	}
	return r.Wait()
}

// Comment adds one comment to taskID from Python.
func (p *Peer) Comment(ctx context.Context, taskID, text string) error {
	out, err := p.Command(ctx, "comment", taskID, text).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pypeer: comment %s: %w: %s", taskID, err, out)
	}
	return nil
}

// Hold is a peer write transaction kept open on purpose.
type Hold struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
}

// StartHold makes the peer add a comment to taskID inside a write
// transaction it keeps open for d. It returns once the peer holds
// SQLite's write lock (BEGIN IMMEDIATE succeeded and the row is written).
func (p *Peer) StartHold(ctx context.Context, taskID string, d time.Duration) (*Hold, error) {
	h := &Hold{cmd: p.Command(ctx, "hold", taskID, seconds(d))}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pypeer: hold: %w", err)
	}
	h.cmd.Stderr = &h.stderr
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pypeer: hold: %w", err)
	}
	h.out = bufio.NewReader(stdout)
	line, err := h.out.ReadString('\n')
	var msg struct {
		Holding bool `json:"holding"`
	}
	if err != nil || json.Unmarshal([]byte(line), &msg) != nil || !msg.Holding {
		werr := h.cmd.Wait()
		return nil, fmt.Errorf("pypeer: hold did not start: %q: %w (stderr %q)", line, errors.Join(err, werr), h.stderr.String())
	}
	return h, nil
}

// Wait waits for the held transaction to commit and returns the id of
// the comment it added.
func (h *Hold) Wait() (int64, error) {
	rest, _ := io.ReadAll(h.out)
	if err := h.cmd.Wait(); err != nil {
		return 0, fmt.Errorf("pypeer: hold: %w (stderr %q)", err, h.stderr.String())
	}
	var res struct {
		CommentID int64 `json:"comment_id"`
	}
	if err := json.Unmarshal(rest, &res); err != nil {
		return 0, fmt.Errorf("pypeer: hold: %w (%q)", err, rest)
	}
	return res.CommentID, nil
}

// NamedLock is upstream's lock on <db>.init.lock or <db>.dispatch.lock,
// taken by the peer.
type NamedLock struct {
	cmd     *exec.Cmd
	stderr  bytes.Buffer
	drained chan struct{} // closed once stdout is read to EOF
	// Locked reports whether the peer got the lock.
	Locked bool
}

// StartLock makes the peer take <db>.<which>.lock ("init" or "dispatch")
// as upstream does: fcntl.flock LOCK_EX|LOCK_NB, polled every 50 ms for up
// to wait for init, tried once for dispatch. It returns once the peer
// knows whether it got the lock; a held lock is kept for hold.
func (p *Peer) StartLock(ctx context.Context, which string, hold, wait time.Duration) (*NamedLock, error) {
	l := &NamedLock{cmd: p.Command(ctx, "lock", which, seconds(hold), "--wait", seconds(wait))}
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pypeer: lock: %w", err)
	}
	l.cmd.Stderr = &l.stderr
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pypeer: lock: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var msg struct {
		Locked *bool `json:"locked"`
	}
	if err != nil || json.Unmarshal([]byte(line), &msg) != nil || msg.Locked == nil {
		werr := l.cmd.Wait()
		return nil, fmt.Errorf("pypeer: lock: %q: %w (stderr %q)", line, errors.Join(err, werr), l.stderr.String())
	}
	l.Locked = *msg.Locked
	l.drained = make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stdout); close(l.drained) }()
	return l, nil
}

// Wait waits for the peer to release the lock and exit.
func (l *NamedLock) Wait() error {
	<-l.drained // Wait closes the pipe: finish reading first
	if err := l.cmd.Wait(); err != nil {
		return fmt.Errorf("pypeer: lock: %w (stderr %q)", err, l.stderr.String())
	}
	return nil
}

// Stop kills the peer (the kernel releases its lock) and reaps it.
func (l *NamedLock) Stop() {
	_ = l.cmd.Process.Kill()
	<-l.drained
	_ = l.cmd.Wait()
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// CheckResult is what the peer's SQLite says about the board.
type CheckResult struct {
	Integrity     []string         `json:"integrity"`
	JournalMode   string           `json:"journal_mode"`
	Counts        map[string]int64 `json:"counts"`
	SQLiteVersion string           `json:"sqlite_version"`
}

// OK reports whether integrity_check returned the single row "ok".
func (c CheckResult) OK() bool { return len(c.Integrity) == 1 && c.Integrity[0] == "ok" }

// Check runs PRAGMA integrity_check and counts rows through Python's
// SQLite, a second opinion next to the Go driver's.
func (p *Peer) Check(ctx context.Context) (CheckResult, error) {
	var res CheckResult
	out, err := p.Command(ctx, "check").Output()
	if err != nil {
		return res, fmt.Errorf("pypeer: check: %w: %s", err, stderrOf(err))
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return res, fmt.Errorf("pypeer: check: %w (%q)", err, out)
	}
	return res, nil
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// Keeper is a peer holding the board open after commits made with
// automatic checkpoints off: while it lives, the board's -wal holds them.
type Keeper struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  bytes.Buffer
	Created []string // the tasks it created, oldest first
}

// Keep makes the peer create n tasks, each committed on its own, with
// wal_autocheckpoint=0, and keep its connection open until Close. It
// returns once the commits are made.
func (p *Peer) Keep(ctx context.Context, n int) (*Keeper, error) {
	k := &Keeper{cmd: p.Command(ctx, "keep", strconv.Itoa(n))}
	stdout, err := k.cmd.StdoutPipe()
	if err == nil {
		k.stdin, err = k.cmd.StdinPipe()
	}
	if err != nil {
		return nil, fmt.Errorf("pypeer: keep: %w", err)
	}
	k.cmd.Stderr = &k.stderr
	if err := k.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pypeer: keep: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var msg struct {
		Created []string `json:"created"`
	}
	if err != nil || json.Unmarshal([]byte(line), &msg) != nil || len(msg.Created) != n {
		_ = k.cmd.Process.Kill()
		werr := k.cmd.Wait()
		return nil, fmt.Errorf("pypeer: keep: %q: %w (stderr %q)", line, errors.Join(err, werr), k.stderr.String())
	}
	k.Created = msg.Created
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return k, nil
}

// Close lets the peer close its connection and exit.
func (k *Keeper) Close() error {
	k.stdin.Close()
	if err := k.cmd.Wait(); err != nil {
		return fmt.Errorf("pypeer: keep: %w (stderr %q)", err, k.stderr.String())
	}
	return nil
}

// DieInTxn makes the peer spill an uncommitted transaction of n long
// comments on taskID ("-": the oldest task) into the database file and kills it there
// (SIGKILL): on a rollback-mode board it leaves a hot -journal.
func (p *Peer) DieInTxn(ctx context.Context, taskID string, n int) error {
	cmd := p.Command(ctx, "die", taskID, strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("pypeer: die: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pypeer: die: %w", err)
	}
	line, rerr := bufio.NewReader(stdout).ReadString('\n')
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if rerr != nil || !strings.Contains(line, `"dying"`) {
		return fmt.Errorf("pypeer: die: %q: %v (stderr %q)", line, rerr, stderr.String())
	}
	return nil
}
