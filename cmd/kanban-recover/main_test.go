package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kanbanshim/kanbanshim/internal/scripthelp"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/recover"
)

// fixtureDir holds the committed damaged-board fixtures; scripts get its
// absolute path in $FIXTURES.
var fixtureDir = filepath.Join("..", "..", "fixtures", "testdata")

// TestMain lets testscript run this binary's main as `kanban-recover`,
// the real `kanban` CLI, the shared helpers (internal/scripthelp:
// waitfile, expect-exit, dircount) and:
//
//	fixture NAME DB                 copy the committed fixture NAME (board.db and
//	                                its -wal/-shm when it has them) to DB
//	hold DB lease|open|guard|recover SECONDS
//	                                hold the write lease as kanban-migrate, an open
//	                                SQLite connection (a Python peer: none of our
//	                                locks), kanban's open guard, or kanban-recover's
//	                                run lock; DB.held appears once held; it lets go
//	                                when DB.release appears
//	sqlq DB SQL                     print query rows (on a copy of the board)
//	copyset QDIR DEST               copy the files of the newest quarantine set
//	                                in QDIR into the directory DEST
//	cpnewest DIR DEST               copy the newest file in DIR (by name) to DEST
//	zeroleaves DB JOURNAL TABLE N   a 300-task board with N leaves of TABLE zeroed;
//	                                DB.lost lists the keys they held
//	mkboard DB JOURNAL N            an undamaged N-task board like zeroleaves'
//	zeromid DB TABLE N              zero N middle leaves of TABLE of the board at DB;
//	                                their keys are appended to DB.lost
func TestMain(m *testing.M) {
	testhooks.Install() // before testscript.Main: its children run this binary
	testscript.Main(m, scripthelp.Commands(map[string]func(){
		"kanban-recover": main,
		"fixture":        scripthelp.Command(fixture),
		"copyset":        scripthelp.Command(copySet),
		"cpnewest":       scripthelp.Command(copyNewest),
		"zeroleaves":     scripthelp.Command(zeroLeaves),
		"mkboard":        scripthelp.Command(mkBoard),
		"zeromid":        scripthelp.Command(zeroMid),
		"sqlq":           scripthelp.Command(scripthelp.SqlqCopy),
		"hold": scripthelp.Command(scripthelp.Hold(map[string]scripthelp.Locker{
			"lease": scripthelp.MaintenanceLease("kanban-migrate", "apply"),
			"open":  scripthelp.OpenConn,
			"guard": func(ctx context.Context, db string) (func() error, error) {
				g, err := lockd.HoldOpen(ctx, db)
				if err != nil {
					return nil, err
				}
				return g.Close, nil
			},
			"recover": func(_ context.Context, db string) (func() error, error) {
				fl, err := recover.LockRecover(db)
				if err != nil {
					return nil, err
				}
				return fl.Close, nil
			},
		})),
	}))
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

// scriptEnv gives each script scripthelp's home, the fixtures in
// $FIXTURES and the repository's contrib/ (the systemd units) in $CONTRIB.
func scriptEnv(env *testscript.Env) error {
	if err := scripthelp.Home(env); err != nil {
		return err
	}
	fx, err := filepath.Abs(fixtureDir)
	if err != nil {
		return err
	}
	env.Setenv("FIXTURES", fx)
	contrib, err := filepath.Abs(filepath.Join("..", "..", "contrib"))
	if err != nil {
		return err
	}
	env.Setenv("CONTRIB", contrib)
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

func copyNewest(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: cpnewest DIR DEST")
	}
	ents, err := os.ReadDir(args[0])
	if err != nil {
		return err
	}
	for i := len(ents) - 1; i >= 0; i-- {
		if ents[i].Type().IsRegular() {
			data, err := os.ReadFile(filepath.Join(args[0], ents[i].Name()))
			if err != nil {
				return err
			}
			return os.WriteFile(args[1], data, 0o644)
		}
	}
	return fmt.Errorf("cpnewest: no file in %s", args[0])
}
