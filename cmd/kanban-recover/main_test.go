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

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover"
	kcli "github.com/kanbanshim/kanbanshim/shim/cli"
)

// fixtureDir holds the committed damaged-board fixtures; scripts get its
// absolute path in $FIXTURES.
var fixtureDir = filepath.Join("..", "..", "fixtures", "testdata")

// TestMain lets testscript run this binary's main as `kanban-recover`,
// the real `kanban` CLI, and helpers:
//
//	fixture NAME DB                 copy the committed fixture NAME (board.db and
//	                                its -wal/-shm when it has them) to DB
//	hold DB lease|open|guard|recover SECONDS
//	                                hold the write lease as kanban-migrate, an open
//	                                SQLite connection (a Python peer: none of our
//	                                locks), kanban's open guard, or kanban-recover's
//	                                run lock; DB.held appears once held; it lets go
//	                                when DB.release appears
//	waitfile PATH                   wait (up to 30 s) until PATH exists
//	expect-exit CODE CMD [ARGS…]    run CMD, pass its output through, succeed only
//	                                if it exits with CODE
//	sqlq DB SQL                     print query rows (on a copy of the board)
//	dircount DIR                    print the number of entries in DIR
//	copyset QDIR DEST               copy the files of the newest quarantine set
//	                                in QDIR into the directory DEST
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kanban-recover": func() { os.Exit(run(context.Background(), os.Args[1:])) },
		"kanban":         kanbanMain,
		"fixture":        func() { os.Exit(helper(fixture)) },
		"hold":           func() { os.Exit(helper(hold)) },
		"waitfile":       func() { os.Exit(helper(waitFile)) },
		"expect-exit":    func() { os.Exit(helper(expectExit)) },
		"sqlq":           func() { os.Exit(helper(sqlq)) },
		"dircount":       func() { os.Exit(helper(dirCount)) },
		"copyset":        func() { os.Exit(helper(copySet)) },
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

func fixture(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: fixture NAME DB")
	}
	if err := os.MkdirAll(filepath.Dir(args[1]), 0o755); err != nil {
		return err
	}
	found := false
	for _, suf := range []string{"", "-wal", "-shm"} {
		data, err := os.ReadFile(filepath.Join(os.Getenv("FIXTURES"), args[0], "board.db"+suf))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		found = true
		if err := os.WriteFile(args[1]+suf, data, 0o644); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("no fixture %q", args[0])
	}
	return nil
}

func hold(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("usage: hold DB lease|open|guard|recover SECONDS")
	}
	secs, err := strconv.ParseFloat(args[2], 64)
	if err != nil {
		return err
	}
	db := args[0]
	switch args[1] {
	case "lease":
		l := lockd.NewLease(db)
		if err := l.AcquireMaintenance(context.Background(), "kanban-migrate", "apply", 5*time.Second); err != nil {
			return err
		}
		defer l.Release()
	case "open":
		c, err := sqlite3.Open(db)
		if err != nil {
			return err
		}
		defer c.Close()
		if _, _, err := sqlx.QueryInt(c, "SELECT count(*) FROM sqlite_schema"); err != nil {
			return err
		}
	case "guard":
		g, err := lockd.HoldOpen(db)
		if err != nil {
			return err
		}
		defer g.Close()
	case "recover":
		fl, err := recover.LockRecover(db)
		if err != nil {
			return err
		}
		defer fl.Close()
	default:
		return fmt.Errorf("hold: unknown lock %q", args[1])
	}
	if err := os.WriteFile(db+".held", nil, 0o644); err != nil {
		return err
	}
	release := db + ".release"
	for end := time.Now().Add(time.Duration(secs * float64(time.Second))); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(release); err == nil {
			break
		}
	}
	return errors.Join(os.Remove(db+".held"), os.Remove(release))
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

// sqlq queries a copy of the board, so the board's own files (and their
// byte-for-byte comparisons in scripts) are left alone.
func sqlq(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: sqlq DB SQL")
	}
	dir, err := os.MkdirTemp("", "sqlq-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cp := filepath.Join(dir, "copy.db")
	for _, suf := range []string{"", "-wal"} {
		data, err := os.ReadFile(args[0] + suf)
		if errors.Is(err, os.ErrNotExist) && suf != "" {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(cp+suf, data, 0o644); err != nil {
			return err
		}
	}
	c, err := sqlite3.Open(cp)
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

func dirCount(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: dircount DIR")
	}
	ents, err := os.ReadDir(args[0])
	if err != nil {
		return err
	}
	fmt.Println(len(ents))
	return nil
}

// TestScripts runs the CLI transcripts under testdata/script/recover:
// every verb's output, JSON shape, error paths and exit codes, with the
// real kanban CLI alongside.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script", "recover"),
		RequireExplicitExec: true,
		Setup:               scriptEnv,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}

// scriptEnv gives each script an empty HERMES_HOME with profiles alice and
// bob, a fixed time zone, no real hermes on PATH, and a WAL-capable peer.
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
	env.Setenv("HERMES_HOME", h)
	env.Setenv("HOME", filepath.Join(env.WorkDir, "userhome"))
	env.Setenv("TZ", "UTC")
	env.Setenv("HERMES_BIN", filepath.Join(env.WorkDir, "no-hermes"))
	env.Setenv("KANBANSHIM_PEER_SQLITE", "3.51.3")
	fx, err := filepath.Abs(fixtureDir)
	if err != nil {
		return err
	}
	env.Setenv("FIXTURES", fx)
	return nil
}

func copySet(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: copyset QDIR DEST")
	}
	ents, err := os.ReadDir(args[0])
	if err != nil {
		return err
	}
	if len(ents) == 0 {
		return fmt.Errorf("copyset: %s is empty", args[0])
	}
	set := filepath.Join(args[0], ents[len(ents)-1].Name())
	files, err := os.ReadDir(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(args[1], 0o755); err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(set, f.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(args[1], f.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
