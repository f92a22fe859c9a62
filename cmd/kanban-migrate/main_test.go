package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	kcli "github.com/kanbanshim/kanbanshim/shim/cli"
)

// TestMain lets testscript (and the process tests) run this binary's main
// as `kanban-migrate`, the real `kanban` CLI as a concurrent writer, and
// helpers:
//
//	legacy-board NAME PATH [JOURNAL]  write a legacy fixture
//	board-want PATH NAME              compare a board with upstream's result
//	                                  (clock: KANBANSHIM_TEST_NOW)
//	sqlq PATH SQL                     print query rows
//	expect-exit CODE CMD [ARGS…]      run CMD, pass its output through, and
//	                                  succeed only if it exits with CODE
//	hold DB lease|init|open SECONDS   hold kanban-recover's maintenance lease,
//	                                  the init lock, or just an open SQLite
//	                                  connection (a Python peer takes none of
//	                                  our locks); DB.held appears once held;
//	                                  it lets go when DB.release appears
//	waitfile PATH                     wait (up to 30 s) until PATH exists
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kanban-migrate": main,
		"kanban":         kanbanMain,
		"legacy-board":   func() { os.Exit(helper(legacyBoard)) },
		"board-want":     func() { os.Exit(helper(boardWant)) },
		"sqlq":           func() { os.Exit(helper(sqlq)) },
		"expect-exit":    func() { os.Exit(helper(expectExit)) },
		"hold":           func() { os.Exit(helper(hold)) },
		"waitfile":       func() { os.Exit(helper(waitFile)) },
	})
}

func kanbanMain() {
	ctx, stop := lockd.Drain(context.Background())
	app := kcli.NewApp()
	code := kcli.Exit(ctx, kcli.Run(ctx, app, os.Args[1:]), app.Stderr, app.Prog)
	stop()
	os.Exit(code)
}

func helper(fn func(args []string) error) int {
	if err := fn(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func legacyBoard(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: legacy-board NAME PATH [JOURNAL]")
	}
	o := legacy.Options{}
	if len(args) > 2 {
		o.Journal = args[2]
	}
	if err := os.MkdirAll(filepath.Dir(args[1]), 0o755); err != nil {
		return err
	}
	return legacy.Generate(context.Background(), args[1], args[0], o)
}

// boardWant exits 0 when the board at PATH is exactly what upstream's
// migration makes of fixture NAME, and passes PRAGMA integrity_check.
func boardWant(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: board-want PATH NAME")
	}
	var now int64
	fmt.Sscan(os.Getenv("KANBANSHIM_TEST_NOW"), &now)
	want, err := legacy.Want(args[1], now)
	if err != nil {
		return err
	}
	got, err := readBoard(args[0])
	if err != nil {
		return err
	}
	if d := legacy.Diff(want, got); d != "" {
		return fmt.Errorf("board differs from upstream's result (-want +got):\n%s", d)
	}
	return nil
}

// readBoard snapshots a board after checking its integrity.
func readBoard(path string) (*legacy.Snapshot, error) {
	c, err := sqlite3.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msgs, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil || len(msgs) != 1 || msgs[0] != "ok" {
		return nil, fmt.Errorf("integrity_check: %v %v", msgs, err)
	}
	return legacy.Read(c)
}

func sqlq(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: sqlq PATH SQL")
	}
	c, err := sqlite3.Open(args[0])
	if err != nil {
		return err
	}
	defer c.Close()
	return sqlx.Query(c, args[1], nil, func(r *sqlx.Row) error {
		var cells []string
		for _, col := range r.Columns() {
			v := r.Value(col)
			if v == nil {
				v = "NULL"
			}
			cells = append(cells, fmt.Sprint(v))
		}
		fmt.Println(strings.Join(cells, "|"))
		return nil
	})
}

func expectExit(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: expect-exit CODE CMD [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	cmd := exec.Command(args[1], args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("expect-exit: %s exited %d, want %d", args[1], got, want)
	}
	return nil
}

func hold(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: hold DB lease|init|open SECONDS")
	}
	secs, err := strconv.ParseFloat(args[2], 64)
	if err != nil {
		return err
	}
	ctx := context.Background()
	switch args[1] {
	case "lease":
		l := lockd.NewLease(args[0])
		if err := l.AcquireMaintenance(ctx, "kanban-recover", "swap", 5*time.Second); err != nil {
			return err
		}
		defer l.Release()
	case "init":
		fl, err := lockd.LockInit(ctx, args[0], 5*time.Second)
		if err != nil {
			return err
		}
		defer fl.Close()
	case "open":
		c, err := sqlite3.Open(args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		if _, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM sqlite_schema"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("hold: unknown lock %q", args[1])
	}
	if err := os.WriteFile(args[0]+".held", nil, 0o644); err != nil {
		return err
	}
	release := args[0] + ".release"
	for end := time.Now().Add(time.Duration(secs * float64(time.Second))); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(release); err == nil {
			break
		}
	}
	return errors.Join(os.Remove(args[0]+".held"), os.Remove(release))
}

func waitFile(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: waitfile PATH")
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(args[0]); err == nil {
			return nil
		}
	}
	return fmt.Errorf("waitfile: %s did not appear", args[0])
}

// TestScripts runs the CLI transcripts under testdata/script/migrate:
// every verb's output, JSON shape, error paths and exit codes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script", "migrate"),
		RequireExplicitExec: true,
		Setup:               scriptEnv,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}

// scriptEnv gives each script an empty HERMES_HOME with profiles alice and
// bob, a fixed time zone and clock, and no real hermes on PATH.
func scriptEnv(env *testscript.Env) error {
	h := filepath.Join(env.WorkDir, "home")
	for _, p := range []string{"alice", "bob"} {
		if err := os.MkdirAll(filepath.Join(h, "profiles", p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(h, "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			return err
		}
	}
	for k, v := range testEnv(env.WorkDir) {
		env.Setenv(k, v)
	}
	return nil
}

// testNow is the fixed clock of the CLI tests (2026-05-02T00:00:00Z).
const testNow = legacy.Epoch + 86400

func testEnv(dir string) map[string]string {
	return map[string]string{
		"HERMES_HOME":            filepath.Join(dir, "home"),
		"HOME":                   filepath.Join(dir, "userhome"),
		"TZ":                     "UTC",
		"HERMES_BIN":             filepath.Join(dir, "no-hermes"),
		"KANBANSHIM_PEER_SQLITE": "3.51.3",
		"KANBANSHIM_TEST_NOW":    fmt.Sprint(testNow),
	}
}
