package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/scripthelp"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this binary's main as the `kanban` (and
// `hermes`) commands of a script, in a real child process, beside the
// shared helpers (internal/scripthelp: waitfile, expect-exit, sqlq,
// dircount, damage).
func TestMain(m *testing.M) {
	testhooks.Install() // before testscript.Main: its children run this binary
	testscript.Main(m, scripthelp.Commands(map[string]func(){
		"kanban": func() { main() },
		"hermes": func() {
			os.Args[0] = "hermes"
			main()
		},
	}))
}

// TestScripts runs the CLI transcripts under testdata/script/kanban: every
// verb's success and error paths, stdout, stderr and exit codes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script", "kanban"),
		RequireExplicitExec: true,
		Setup:               scriptEnv,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
	})
}

// scriptEnv gives each script scripthelp's home (profiles alice and bob,
// no real hermes, a WAL-capable local Python; scripts override it), the
// golden files in $GOLDEN and the repository's scripts/ in $SCRIPTS.
func scriptEnv(env *testscript.Env) error {
	if err := scripthelp.Home(env); err != nil {
		return err
	}
	golden, err := filepath.Abs(filepath.Join("..", "..", "testdata", "golden"))
	if err != nil {
		return err
	}
	env.Setenv("GOLDEN", golden)
	scripts, err := filepath.Abs(filepath.Join("..", "..", "scripts"))
	if err != nil {
		return err
	}
	env.Setenv("SCRIPTS", scripts)
	return nil
}
