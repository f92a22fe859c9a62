package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Environment of a helper process: which role to play, on which path.
const (
	helperRoleEnv = "PROC_TEST_HELPER"
	helperPathEnv = "PROC_TEST_PATH"
)

// TestHelperProcess is not a test: it is the body of the child processes
// the other tests start by re-executing the test binary. A holding role
// prints "ready" once it holds the file, then holds it until stdin ends.
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

func runHelper(role, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	switch role {
	case "open-file":
	case "flock-ex", "flock-sh":
		how := syscall.LOCK_SH
		if role == "flock-ex" {
			how = syscall.LOCK_EX
		}
		if err := syscall.Flock(int(f.Fd()), how); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// helper is a running child process playing a role.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startHelper starts a child playing role on path and waits for "ready".
func startHelper(t *testing.T, role, path string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperRoleEnv+"="+role, helperPathEnv+"="+path,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
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
	h := &helper{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() { ready <- h.out.Scan() && h.out.Text() == "ready" }()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("helper %s did not get ready", role)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("helper %s: no ready line within 10s", role)
	}
	return h
}

func (h *helper) pid() int { return h.cmd.Process.Pid }

// finish lets the child release what it holds and waits for it to exit.
func (h *helper) finish(t *testing.T) {
	t.Helper()
	_ = h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("helper exit: %v", err)
	}
}
