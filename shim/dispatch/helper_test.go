package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/cli"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// binDir holds the kanban command (this test binary, re-executed).
var binDir string

// TestMain re-executes this binary as the real `kanban` CLI or as a fake
// hermes worker, depending on the name it was started under.
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "kanban":
		os.Exit(runKanban())
	case "fakeworker":
		os.Exit(fakeWorker(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "dispatch-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := linkSelf(filepath.Join(dir, "kanban")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runKanban() int {
	ctx, stop := lockd.Drain(context.Background())
	defer stop()
	app := cli.NewApp()
	return cli.Exit(ctx, cli.Run(ctx, app, os.Args[1:]), app.Stderr)
}

// linkSelf makes path run this test binary (a hard link, else a copy), so
// os.Args[0] names the role.
func linkSelf(path string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.Link(exe, path); err == nil {
		return nil
	}
	in, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// fakeWorker is the stand-in for `hermes -p P --cli … chat -q "work kanban
// task T"`. FAKE_MODE picks the behaviour:
//
//	complete  sleep FAKE_SLEEP, heartbeat, complete through the store (default)
//	crash     sleep FAKE_SLEEP, exit FAKE_CODE
//	hang      start FAKE_CHILDREN children, then sleep for ever
//
// FAKE_IGNORE_TERM=1 makes the worker and its children ignore SIGTERM.
func fakeWorker(args []string) int {
	if os.Getenv("FAKE_IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if len(args) > 0 && args[0] == "child" {
		time.Sleep(time.Hour)
		return 0
	}
	task := os.Getenv("HERMES_KANBAN_TASK")
	fmt.Printf("fake worker for %s (run %s): %s\n", task, os.Getenv("HERMES_KANBAN_RUN_ID"), strings.Join(args, " "))
	sleep, _ := strconv.ParseFloat(os.Getenv("FAKE_SLEEP"), 64)
	switch os.Getenv("FAKE_MODE") {
	case "crash":
		time.Sleep(time.Duration(sleep * float64(time.Second)))
		code, _ := strconv.Atoi(os.Getenv("FAKE_CODE"))
		return code
	case "hang":
		n, _ := strconv.Atoi(os.Getenv("FAKE_CHILDREN"))
		for i := 0; i < n; i++ {
			c := exec.Command(os.Args[0], "child")
			if err := c.Start(); err != nil {
				return 1
			}
			fmt.Printf("child pid %d\n", c.Process.Pid)
		}
		time.Sleep(time.Hour)
		return 0
	}
	time.Sleep(time.Duration(sleep * float64(time.Second)))
	return completeTask(task)
}

// completeTask heartbeats and completes the worker's own task through the
// store (the CLI path is covered by the testscripts).
func completeTask(task string) int {
	run, err := strconv.ParseInt(os.Getenv("HERMES_KANBAN_RUN_ID"), 10, 64)
	if err != nil {
		fmt.Println("no run id:", err)
		return 1
	}
	ctx := context.Background()
	st, err := store.Open(ctx, os.Getenv("HERMES_KANBAN_DB"), store.Options{Board: os.Getenv("HERMES_KANBAN_BOARD")})
	if err != nil {
		fmt.Println("open board:", err)
		return 1
	}
	defer st.Close()
	note, result := "working", "ok"
	if ok, err := st.HeartbeatWorker(ctx, task, &note, &run); err != nil || !ok {
		fmt.Println("heartbeat:", ok, err)
		return 1
	}
	if ok, err := st.CompleteTask(ctx, task, store.Completion{Result: &result, ExpectedRun: &run}); err != nil || !ok {
		fmt.Println("complete:", ok, err)
		return 1
	}
	return 0
}

// testHome is an isolated HERMES_HOME with profiles alice and bob and a
// fake worker of its own (so process scans never see another test's).
type testHome struct {
	t    *testing.T
	dir  string
	fake string
	env  []string
}

func newHome(t *testing.T, extra ...string) *testHome {
	t.Helper()
	dir := t.TempDir()
	h := &testHome{t: t, dir: dir, fake: filepath.Join(dir, "bin", "fakeworker")}
	for _, p := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(dir, "home", "profiles", p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "home", "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(h.fake), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := linkSelf(h.fake); err != nil {
		t.Fatal(err)
	}
	h.env = append(os.Environ(), "HERMES_HOME="+filepath.Join(dir, "home"), "HOME="+filepath.Join(dir, "userhome"),
		"HERMES_BIN="+h.fake, "KANBANSHIM_PEER_SQLITE=3.51.3", "TZ=UTC", "HERMES_KANBAN_CRASH_GRACE_SECONDS=0",
		"HERMES_KANBAN_RECLAIM_GRACE_SECONDS=2")
	h.env = append(h.env, extra...)
	t.Cleanup(h.killAll)
	return h
}

// killAll SIGKILLs every process this home started (workers, their
// children, supervisors, daemons): anything whose command line names a
// path under the home's directory.
func (h *testHome) killAll() {
	for _, pid := range proc.PIDs() {
		if pid == os.Getpid() {
			continue
		}
		if strings.Contains(strings.Join(cmdline(pid), " "), h.dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func (h *testHome) cmd(args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(binDir, "kanban"), args...)
	c.Env = h.env
	return c
}

// kanban runs the CLI and returns stdout, stderr and the exit code.
func (h *testHome) kanban(args ...string) (string, string, int) {
	h.t.Helper()
	c := h.cmd(args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		h.t.Fatalf("kanban %v: %v", args, err)
	}
	return out.String(), errb.String(), 0
}

// must runs the CLI and fails the test unless it exits 0.
func (h *testHome) must(args ...string) string {
	h.t.Helper()
	out, errOut, code := h.kanban(args...)
	if code != 0 {
		h.t.Fatalf("kanban %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// create makes a task and returns its id.
func (h *testHome) create(title string, args ...string) string {
	h.t.Helper()
	out := h.must(append([]string{"create", title, "--assignee", "alice", "--json"}, args...)...)
	i := strings.Index(out, `"id": "`)
	if i < 0 {
		h.t.Fatalf("no id in %s", out)
	}
	return strings.SplitN(out[i+7:], `"`, 2)[0]
}

func (h *testHome) db() string { return filepath.Join(h.dir, "home", "kanban.db") }

// open opens the board for assertions.
func (h *testHome) open() *store.Store {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.db(), store.Options{Board: "default"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	return st
}

func (h *testHome) task(id string) *store.Task {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.db(), store.Options{Board: "default"})
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	t, err := st.GetTask(id)
	if err != nil || t == nil {
		h.t.Fatalf("task %s: %v", id, err)
	}
	return t
}

func (h *testHome) events(id string) []store.Event {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.db(), store.Options{Board: "default"})
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	ev, err := st.ListEvents(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return ev
}

func (h *testHome) runs(id string) []store.Run {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.db(), store.Options{Board: "default"})
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(id, "", "")
	if err != nil {
		h.t.Fatal(err)
	}
	return runs
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// workers lists the live fake workers of this home (not their children:
// a child a worker forks carries its command line until it execs). A
// /proc scan is not atomic, so only workers still alive when the scan
// ends are counted: they were all alive together at that instant.
func (h *testHome) workers() []int {
	scanned := h.scanWorkers()
	cand := map[int]bool{}
	for _, pid := range scanned {
		cand[pid] = true
	}
	var out []int
	for _, pid := range scanned {
		if !cand[parentOf(pid)] && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func (h *testHome) scanWorkers() []int {
	var out []int
	for _, pid := range proc.PIDs() {
		argv := cmdline(pid)
		if len(argv) > 1 && argv[0] == h.fake && argv[1] == "-p" {
			out = append(out, pid)
		}
	}
	return out
}

// parentOf reads a process's parent pid (0 when unknown).
func parentOf(pid int) int {
	st, _ := proc.ReadStat(pid)
	return st.PPID
}

// fakeChildren lists live children started by this home's fake workers.
func (h *testHome) fakeChildren() []int {
	var out []int
	for _, pid := range proc.PIDs() {
		argv := cmdline(pid)
		if len(argv) > 1 && argv[0] == h.fake && argv[1] == "child" && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid int) []string { return proc.Cmdline(pid) }

func alive(pid int) bool { return proc.Alive(pid) }

// integrityOK runs PRAGMA integrity_check on the board.
func (h *testHome) integrityOK() string {
	h.t.Helper()
	st := h.open()
	var out []string
	stmt, _, err := st.Conn().Prepare("PRAGMA integrity_check")
	if err != nil {
		h.t.Fatal(err)
	}
	defer stmt.Close()
	for stmt.Step() {
		out = append(out, stmt.ColumnText(0))
	}
	return strings.Join(out, "; ")
}

func kinds(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func hasKind(evs []store.Event, kind string) bool {
	for _, e := range evs {
		if e.Kind == kind {
			return true
		}
	}
	return false
}
