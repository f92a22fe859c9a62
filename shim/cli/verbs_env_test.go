package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// verbsEnv is a private hermes root for end-to-end tests of the verbs:
// every call goes through Run and Exit exactly as the binary does.
type verbsEnv struct {
	t    *testing.T
	root string
	vars map[string]string
}

func newVerbsEnv(t testing.TB) *verbsEnv {
	root := t.TempDir()
	for _, p := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(root, "profiles", p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tt, _ := t.(*testing.T)
	return &verbsEnv{t: tt, root: root, vars: map[string]string{
		"HERMES_HOME": root, "HOME": filepath.Join(root, "userhome"), "TZ": "UTC",
		"KANBANSHIM_PEER_SQLITE": "3.51.3", "PATH": os.Getenv("PATH"),
	}}
}

// environ is the child-process environment for re-exec'd helpers.
func (e *verbsEnv) environ() []string {
	out := []string{}
	for k, v := range e.vars {
		out = append(out, k+"="+v)
	}
	return out
}

func (e *verbsEnv) app() (*App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	env := home.Env{UserHome: e.vars["HOME"], Getenv: func(k string) string { return e.vars[k] }}
	return &App{Stdout: &out, Stderr: &errb, Env: env, Prog: "kanban"}, &out, &errb
}

// run executes one command line and returns stdout, stderr and the exit code.
func (e *verbsEnv) run(tb testing.TB, args ...string) (string, string, int) {
	tb.Helper()
	a, out, errb := e.app()
	ctx := context.Background()
	code := Exit(ctx, Run(ctx, a, args), a.Stderr)
	return out.String(), errb.String(), code
}

// must runs a command that has to succeed and returns its stdout.
func (e *verbsEnv) must(tb testing.TB, args ...string) string {
	tb.Helper()
	out, errs, code := e.run(tb, args...)
	if code != 0 {
		tb.Fatalf("kanban %q: exit %d, stderr %q", args, code, errs)
	}
	return out
}

var taskIDRe = regexp.MustCompile(`"id": "(t_[0-9a-f]+)"`)

// create makes a task and returns its id.
func (e *verbsEnv) create(tb testing.TB, args ...string) string {
	tb.Helper()
	out := e.must(tb, append(append([]string{"create"}, args...), "--json")...)
	m := taskIDRe.FindStringSubmatch(out)
	if m == nil {
		tb.Fatalf("no id in %q", out)
	}
	return m[1]
}

func (e *verbsEnv) dbPath() string { return filepath.Join(e.root, "kanban.db") }

// startHelper starts a child process running one kanban command line
// through TestVerbsHelperProcess in this home, and returns its stdout to
// read and its stderr as it fills.
func (e *verbsEnv) startHelper(t *testing.T, args ...string) (*exec.Cmd, io.ReadCloser, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestVerbsHelperProcess$", "--"}, args...)...)
	cmd.Env = append(e.environ(), "KANBANSHIM_VERBS_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, stdout, &stderr
}

// TestVerbsHelperProcess is not a test: re-exec'd by the signal tests, it
// runs one command line after "--" the way cmd/kanban's main does, with
// lockd.Drain turning signals into cancellation.
func TestVerbsHelperProcess(t *testing.T) {
	if os.Getenv("KANBANSHIM_VERBS_HELPER") != "1" {
		t.Skip("helper process")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	ctx, stop := lockd.Drain(context.Background())
	app := NewApp()
	code := Exit(ctx, Run(ctx, app, args), app.Stderr)
	stop()
	os.Exit(code)
}
