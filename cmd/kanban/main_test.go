package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this binary's main as the `kanban` (and
// `hermes`) commands of a script, in a real child process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kanban": func() { main() },
		"hermes": func() {
			os.Args[0] = "hermes"
			main()
		},
	})
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

// scriptEnv gives each script an empty HERMES_HOME with profiles alice and
// bob, a fixed time zone, and no real hermes on PATH.
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
	// Pretend the local hermes Python has a fixed SQLite so new boards are
	// WAL regardless of this machine's python3; scripts override it.
	env.Setenv("KANBANSHIM_PEER_SQLITE", "3.51.3")
	golden, err := filepath.Abs(filepath.Join("..", "..", "testdata", "golden"))
	if err != nil {
		return err
	}
	env.Setenv("GOLDEN", golden)
	return nil
}
