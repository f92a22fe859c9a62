package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/scripthelp"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// TestMain lets testscript (and the process tests) run this binary's main
// as `kanban-migrate`, the real `kanban` CLI as a concurrent writer, the
// shared helpers (internal/scripthelp: waitfile, expect-exit, sqlq,
// dircount) and:
//
//	legacy-board NAME PATH [JOURNAL]  write a legacy fixture
//	board-want PATH NAME              compare a board with upstream's result
//	                                  (clock: KANBANSHIM_TEST_NOW)
//	hold DB lease|init|open SECONDS   hold kanban-recover's maintenance lease,
//	                                  the init lock, or just an open SQLite
//	                                  connection (a Python peer takes none of
//	                                  our locks); DB.held appears once held;
//	                                  it lets go when DB.release appears
func TestMain(m *testing.M) {
	testhooks.Install() // before testscript.Main: its children run this binary
	testscript.Main(m, scripthelp.Commands(map[string]func(){
		"kanban-migrate": main,
		"legacy-board":   scripthelp.Command(legacyBoard),
		"board-want":     scripthelp.Command(boardWant),
		"hold": scripthelp.Command(scripthelp.Hold(map[string]scripthelp.Locker{
			"lease": scripthelp.MaintenanceLease("kanban-recover", "swap"),
			"init":  initLock,
			"open":  scripthelp.OpenConn,
		})),
	}))
}

// initLock holds the board's schema-init lock.
func initLock(ctx context.Context, db string) (func() error, error) {
	fl, err := lockd.LockInit(ctx, db, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return fl.Close, nil
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

// scriptEnv gives each script scripthelp's home and a fixed clock.
func scriptEnv(env *testscript.Env) error {
	if err := scripthelp.Home(env); err != nil {
		return err
	}
	env.Setenv("KANBANSHIM_TEST_NOW", fmt.Sprint(testNow))
	return nil
}

// testNow is the fixed clock of the CLI tests (2026-05-02T00:00:00Z).
const testNow = legacy.Epoch + 86400

// testEnv is scriptEnv's environment, for tests that start processes.
func testEnv(dir string) map[string]string {
	env := scripthelp.HomeEnv(dir)
	env["KANBANSHIM_TEST_NOW"] = fmt.Sprint(testNow)
	return env
}
