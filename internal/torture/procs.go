package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	osproc "github.com/kanbanshim/kanbanshim/internal/proc"
)

// linkOrCopy makes dst the same program as src (a hard link, else a
// copy), so the name it is started under can pick its role.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// procs scans /proc.
type procInfo struct {
	pid  int
	argv []string
}

func listProcs() []procInfo {
	var out []procInfo
	for _, pid := range osproc.PIDs() {
		if argv := osproc.Cmdline(pid); argv != nil {
			out = append(out, procInfo{pid: pid, argv: argv})
		}
	}
	return out
}

// workers are the live fake workers started from hermesPath. Children a
// worker forks carry its command line until they exec, so a process whose
// parent is a worker is not one. A /proc scan is not atomic, so only
// workers still alive when the scan ends count: they were all alive
// together at that instant.
func workers(hermesPath string) []int {
	cand := map[int]bool{}
	for _, p := range listProcs() {
		if len(p.argv) > 1 && p.argv[0] == hermesPath && p.argv[1] == "-p" {
			cand[p.pid] = true
		}
	}
	var live []int
	for pid := range cand {
		if !cand[parentOf(pid)] && osproc.Alive(pid) {
			live = append(live, pid)
		}
	}
	return live
}

// parentOf reads a process's parent pid (0 when unknown).
func parentOf(pid int) int {
	st, _ := osproc.ReadStat(pid)
	return st.PPID
}

// supervisors are the live `kanban supervise` processes of this run.
func supervisors(dir string) []int {
	var out []int
	for _, p := range listProcs() {
		if len(p.argv) > 1 && strings.HasPrefix(p.argv[0], dir) && p.argv[1] == "supervise" && osproc.Alive(p.pid) {
			out = append(out, p.pid)
		}
	}
	return out
}

// killUnder SIGKILLs every process whose command line mentions dir.
func killUnder(dir string) int {
	n := 0
	for _, p := range listProcs() {
		if p.pid != os.Getpid() && strings.Contains(strings.Join(p.argv, " "), dir) && syscall.Kill(p.pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

// bg is a background process with its output in a file.
type bg struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  string
}

func startBG(name, bin string, env []string, logPath string, args ...string) (*bg, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c := exec.Command(bin, args...)
	c.Env, c.Stdout, c.Stderr = env, f, f
	if err := c.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	b := &bg{name: name, cmd: c, done: make(chan error, 1), log: logPath}
	go func() { b.done <- c.Wait(); f.Close() }()
	return b, nil
}

// stop sends sig and waits up to d for the exit.
func (b *bg) stop(sig syscall.Signal, d time.Duration) error {
	_ = b.cmd.Process.Signal(sig)
	select {
	case err := <-b.done:
		if sig == syscall.SIGKILL {
			return nil
		}
		return err
	case <-time.After(d):
		_ = b.cmd.Process.Kill()
		return fmt.Errorf("%s did not exit within %v of %v", b.name, d, sig)
	}
}

// describe names each pid's state and parent, for reports.
func describe(pids []int) string {
	var parts []string
	for _, pid := range pids {
		state, ppid := "?", "?"
		if st, ok := osproc.ReadStat(pid); ok {
			state, ppid = string(st.State), strconv.Itoa(st.PPID)
		}
		parts = append(parts, fmt.Sprintf("%d[%s ppid %s]", pid, state, ppid))
	}
	return strings.Join(parts, " ")
}
