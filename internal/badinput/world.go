package badinput

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/shim/cli"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// KanbanTimeout bounds one in-process kanban command.
const KanbanTimeout = 20 * time.Second

// World is one case's HERMES_HOME holding a copy of a template board.
type World struct {
	Dir  string // scratch directory of the case
	Home string // HERMES_HOME
	DB   string // the board database
	Env  map[string]string
	IDs  TaskIDs
}

// TaskIDs are a template board's tasks, one per status verbs care about.
type TaskIDs struct {
	Ready, Running, Done, Blocked, Review string
}

// Kanban runs `kanban args…` in process with this world's environment.
func (w *World) Kanban(timeout time.Duration, args ...string) Result {
	return Kanban(timeout, w.Env, w.Dir, args)
}

// Kanban is kanban's main with injected streams and environment
// (timeout 0: KanbanTimeout).
func Kanban(timeout time.Duration, env map[string]string, userHome string, args []string) Result {
	if timeout == 0 {
		timeout = KanbanTimeout
	}
	return Run(timeout, func(ctx context.Context, stdout, stderr io.Writer) int {
		app := cli.NewApp()
		app.Stdin = strings.NewReader("")
		app.Stdout, app.Stderr = stdout, stderr
		app.Interactive = false
		app.Env = home.Env{Getenv: func(k string) string { return env[k] }, UserHome: userHome}
		return cli.Exit(ctx, cli.Run(ctx, app, args), app.Stderr)
	})
}

// BaseEnv is the environment of a case under dir: the scripts' settings
// (no real hermes, a WAL-capable peer unless mode is "delete").
func BaseEnv(dir, mode string) map[string]string {
	peer := "3.51.3"
	if mode == "delete" {
		peer = "3.45.0" // has the WAL-reset bug: new boards are DELETE
	}
	return map[string]string{
		"HERMES_HOME":            filepath.Join(dir, "home"),
		"HOME":                   dir,
		"TZ":                     "UTC",
		"HERMES_BIN":             filepath.Join(dir, "no-hermes"),
		"KANBANSHIM_PEER_SQLITE": peer,
	}
}

// Template is a board with one task in each interesting status, made by
// the real CLI.
type Template struct {
	DB  string
	IDs TaskIDs
}

// MakeTemplate builds a template board of journal mode ("wal" or
// "delete") under dir.
func MakeTemplate(t testing.TB, dir, mode string) Template {
	t.Helper()
	env := BaseEnv(dir, mode)
	must := func(args ...string) string {
		t.Helper()
		r := Kanban(0, env, dir, args)
		if r.Code != 0 {
			t.Fatalf("template: kanban %s: exit %d: %s", strings.Join(args, " "), r.Code, r.Stderr)
		}
		return r.Stdout
	}
	create := func(title string) string {
		var obj struct{ ID string }
		if err := json.Unmarshal([]byte(must("create", title, "--json")), &obj); err != nil {
			t.Fatal(err)
		}
		return obj.ID
	}
	var ids TaskIDs
	ids.Ready = create("ready task")
	ids.Running = create("running task")
	must("claim", ids.Running)
	ids.Done = create("done task")
	must("complete", ids.Done, "--result", "ok")
	ids.Blocked = create("blocked task")
	must("block", ids.Blocked, "waiting")
	ids.Review = create("review task")
	must("claim", ids.Review)
	must("request-review", ids.Review, "--summary", "please look", "--force")
	db := filepath.Join(env["HERMES_HOME"], "kanban.db")
	if got := JournalMode(t, db); got != mode {
		t.Fatalf("template board is %s, want %s", got, mode)
	}
	return Template{DB: db, IDs: ids}
}

// JournalMode reads a board's mode from its header: bytes 18 and 19 are 2
// for WAL.
func JournalMode(t testing.TB, db string) string {
	t.Helper()
	f, err := os.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := make([]byte, 20)
	if _, err := io.ReadFull(f, hdr); err != nil {
		t.Fatal(err)
	}
	if hdr[18] == 2 {
		return "wal"
	}
	return "delete"
}

// Templates are the template boards of a suite, by journal mode.
type Templates map[string]Template

// NewTemplates builds the template board of each mode under t's
// temporary directory.
func NewTemplates(t testing.TB, modes ...string) Templates {
	t.Helper()
	tps := Templates{}
	for _, m := range modes {
		tps[m] = MakeTemplate(t, filepath.Join(t.TempDir(), m), m)
	}
	return tps
}

// NewWorld copies a template into a fresh HERMES_HOME (with profiles
// alice and bob, and a small file to attach).
func NewWorld(t testing.TB, tp Template, mode string) *World {
	t.Helper()
	dir := t.TempDir()
	env := BaseEnv(dir, mode)
	w := &World{Dir: dir, Home: env["HERMES_HOME"], Env: env, IDs: tp.IDs}
	w.DB = filepath.Join(w.Home, "kanban.db")
	for _, p := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(w.Home, "profiles", p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := CopyBoard(tp.DB, w.DB); err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(dir, "attach-me.txt"), []byte("hello\n"))
	return w
}

// Expand replaces the placeholders of a case's arguments: {ready},
// {running}, {done}, {blocked}, {review} (task ids), {file} (a small
// file), {dir} (the case's directory), {db} (the board).
func (w *World) Expand(args []string) []string {
	r := strings.NewReplacer("{ready}", w.IDs.Ready, "{running}", w.IDs.Running, "{done}", w.IDs.Done,
		"{blocked}", w.IDs.Blocked, "{review}", w.IDs.Review, "{file}", filepath.Join(w.Dir, "attach-me.txt"),
		"{dir}", w.Dir, "{db}", w.DB)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}
