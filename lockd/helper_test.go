package lockd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment of a helper process: which role to play, on which path.
const (
	helperRoleEnv  = "LOCKD_TEST_HELPER"
	helperPathEnv  = "LOCKD_TEST_PATH"
	helperCountEnv = "LOCKD_TEST_COUNT"
)

// TestHelperProcess is not a test: it is the body of the child processes
// the other tests start by re-executing the test binary.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperRoleEnv)
	if role == "" {
		return
	}
	if err := runHelper(role, os.Getenv(helperPathEnv)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runHelper plays one role. Holding roles print "ready" once the lock or
// file is held, then hold it until stdin reaches EOF.
func runHelper(role, path string) error {
	ctx := context.Background()
	switch role {
	case "lease":
		l := NewLease(path)
		if err := l.Acquire(ctx, "helper", 10*time.Second); err != nil {
			return err
		}
		return holdUntilEOF(l.Release)
	case "maintenance":
		l := NewLease(path)
		if err := l.AcquireMaintenance(ctx, "kanban-recover", "swap", 10*time.Second); err != nil {
			return err
		}
		return holdUntilEOF(l.Release)
	case "hold-open":
		g, err := HoldOpen(ctx, path)
		if err != nil {
			return err
		}
		return holdUntilEOF(g.Close)
	case "open-file":
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		return holdUntilEOF(f.Close)
	case "flock-ex", "flock-sh":
		fl, err := OpenLockFile(path)
		if err != nil {
			return err
		}
		if err := fl.Lock(ctx, role == "flock-ex", 10*time.Second); err != nil {
			return err
		}
		return holdUntilEOF(fl.Close)
	case "increment":
		n, _ := strconv.Atoi(os.Getenv(helperCountEnv))
		return incrementN(path, n)
	case "drain", "drain-stubborn":
		return drainHelper(role == "drain-stubborn")
	}
	return fmt.Errorf("unknown role %q", role)
}

// holdUntilEOF announces readiness, waits for the parent to close stdin,
// then runs release.
func holdUntilEOF(release func() error) error {
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return release()
}

// drainHelper runs Drain and reports how the context ended. A stubborn
// helper ignores the cancellation so only a second signal can stop it.
func drainHelper(stubborn bool) error {
	ctx, stop := Drain(context.Background())
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("cause:", context.Cause(ctx))
	if stubborn {
		time.Sleep(10 * time.Second)
		return nil
	}
	code, ok := SignalExitCode(ctx)
	if !ok {
		return fmt.Errorf("no signal cause: %v", context.Cause(ctx))
	}
	os.Exit(code)
	return nil
}

// incrementN bumps the counter next to dbPath n times under the lease.
func incrementN(dbPath string, n int) error {
	for range n {
		l := NewLease(dbPath)
		if err := l.Acquire(context.Background(), "increment", 30*time.Second); err != nil {
			return err
		}
		err := increment(dbPath + ".counter")
		if rerr := l.Release(); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// increment does an unprotected read-modify-write of a decimal counter;
// only the lease keeps concurrent increments from being lost.
func increment(path string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return os.WriteFile(path, []byte(strconv.Itoa(v+1)), 0o644)
}

// helper is a running child process playing a role.
type helper struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	done   chan struct{}
	waited bool
}

// startHelper starts a child playing role on path and, for roles that
// hold something, waits for its "ready" line.
func startHelper(t *testing.T, role, path string, env ...string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperRoleEnv+"="+role, helperPathEnv+"="+path)
	// The race detector otherwise sleeps 1 s in every exiting child.
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 16), done: make(chan struct{})}
	go h.readLines(stdout)
	t.Cleanup(func() {
		_ = stdin.Close()
		if !h.waited {
			_ = cmd.Process.Kill()
			_ = h.wait()
		}
	})
	return h
}

// readLines forwards the child's stdout lines until EOF.
func (h *helper) readLines(r io.Reader) {
	defer close(h.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		h.lines <- sc.Text()
	}
	close(h.lines)
}

// expect waits up to 10 s for the child's next line and checks it.
func (h *helper) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got, ok := <-h.lines:
		if !ok || got != want {
			t.Fatalf("helper line = %q (open %v), want %q", got, ok, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("helper did not print %q within 10s", want)
	}
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// wait discards unread stdout and reaps the child.
func (h *helper) wait() error {
	for range h.lines {
	}
	<-h.done
	h.waited = true
	return h.cmd.Wait()
}

// finish closes the child's stdin (releasing what it holds) and reaps it.
func (h *helper) finish(t *testing.T) {
	t.Helper()
	_ = h.stdin.Close()
	if err := h.wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
}

// testDB returns a database path in a fresh directory. The database file
// itself need not exist for the lock files next to it.
func testDB(t *testing.T) string {
	return filepath.Join(t.TempDir(), "kanban.db")
}
