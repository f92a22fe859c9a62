package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
)

// Names this program answers to when hard-linked (see main).
const (
	roleCheckpointer = "torture-checkpointer"
	roleUnsafe       = "torture-unsafe"
)

// binaries are the programs under test, built once per run.
type binaries struct {
	dir                      string
	kanban, migrate, recover string
}

// cellEnv is what a scenario gets: the options, its journal mode, its
// share of the budget, the binaries and its own seed.
type cellEnv struct {
	o        options
	scenario string
	mode     string
	budget   time.Duration
	bins     binaries
	seed     int64
}

// prepareBinaries builds ./cmd/... of the module this program runs from
// into a temporary directory (or uses binDir when given).
func prepareBinaries(ctx context.Context, binDir string) (binaries, func(), error) {
	noop := func() {}
	if binDir != "" {
		abs, err := filepath.Abs(binDir)
		if err != nil {
			return binaries{}, noop, err
		}
		b := binariesIn(abs)
		for _, p := range []string{b.kanban, b.migrate, b.recover} {
			if _, err := os.Stat(p); err != nil {
				return binaries{}, noop, fmt.Errorf("-bin: %w", err)
			}
		}
		if err := hasTestHooks(b); err != nil {
			return binaries{}, noop, fmt.Errorf("-bin: %w", err)
		}
		return b, noop, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return binaries{}, noop, err
	}
	dir, err := os.MkdirTemp("", "kanbanshim-torture-bin-")
	if err != nil {
		return binaries{}, noop, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// The testhooks tag builds in the KANBANSHIM_TEST_* switches the
	// scenarios use (pauses inside transactions and migration steps).
	cmd := exec.CommandContext(ctx, goBin, "build", "-tags", "testhooks", "-o", dir+string(os.PathSeparator), "./cmd/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return binaries{}, noop, fmt.Errorf("go build -tags testhooks ./cmd/... in %s: %w\n%s", root, err, out)
	}
	return binariesIn(dir), cleanup, nil
}

// hasTestHooks checks that binaries given with -bin were built with
// -tags testhooks: release binaries ignore the pause switches, and the
// scenarios would wait for pauses that never come.
func hasTestHooks(b binaries) error {
	for _, c := range []struct{ bin, name string }{{b.kanban, testhooks.EnvPauseInTxn}, {b.migrate, testhooks.EnvMigratePause}} {
		data, err := os.ReadFile(c.bin)
		if err != nil {
			return err
		}
		if !bytes.Contains(data, []byte(c.name)) {
			return fmt.Errorf("%s has no test switches: build it with `go build -tags testhooks ./cmd/...`", c.bin)
		}
	}
	return nil
}

func binariesIn(dir string) binaries {
	return binaries{dir: dir, kanban: filepath.Join(dir, "kanban"), migrate: filepath.Join(dir, "kanban-migrate"),
		recover: filepath.Join(dir, "kanban-recover")}
}

// moduleRoot walks up from the working directory to kanbanshim's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(data), "module github.com/kanbanshim/kanbanshim") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the kanbanshim module (no go.mod); run from the repository or pass -bin")
		}
		dir = parent
	}
}

// installBin fills a scenario's bin directory: the binaries under test
// and this program as the fake hermes and the helper roles.
func installBin(b binaries, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	for _, p := range []string{b.kanban, b.migrate, b.recover} {
		if err := linkOrCopy(p, filepath.Join(dst, filepath.Base(p))); err != nil {
			return err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	for _, name := range []string{"hermes", roleCheckpointer, roleUnsafe} {
		if err := linkOrCopy(exe, filepath.Join(dst, name)); err != nil {
			return err
		}
	}
	return nil
}

// sqliteVersions names the SQLite each side of the board links.
func sqliteVersions(ctx context.Context) map[string]string {
	out := map[string]string{}
	if v, err := sqlx.LinkedVersion(); err == nil {
		out["go (ncruces)"] = v
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if b, err := exec.CommandContext(ctx, py, "-c", "import sqlite3; print(sqlite3.sqlite_version)").Output(); err == nil {
			out["python3 sqlite3"] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// cleanEnviron is this process's environment without hermes' and
// kanbanshim's own variables, so nothing of the caller's (a pinned
// HERMES_KANBAN_DB, a test hook) reaches the boards under test.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HERMES_") || strings.HasPrefix(kv, "KANBANSHIM_") || strings.HasPrefix(kv, "TORTURE_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
