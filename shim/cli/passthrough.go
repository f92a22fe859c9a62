package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// upstreamOnly are upstream verbs kanbanshim leaves to the real hermes.
var upstreamOnly = []string{"swarm", "specify", "decompose", "diagnostics", "diag",
	"authorize-existing-pr", "recipe", "reopen"}

// unsupported hands a verb we do not implement to the real `hermes
// kanban` when there is one; otherwise it is a usage error.
func unsupported(ctx context.Context, a *App, action string, args []string) error {
	if !contains(upstreamOnly, action) {
		return usagef("%s: unknown action %s", a.Prog, py.Repr(action))
	}
	if real := RealHermes(a.Env); real != "" {
		return execve(real, append([]string{real, "kanban"}, args...))
	}
	return usagef("%s: action %s is not supported by kanbanshim (no other hermes found on PATH; set HERMES_REAL_BIN)", a.Prog, py.Repr(action))
}

// RealHermes finds the hermes we stand in front of: HERMES_REAL_BIN, else
// the first `hermes` on PATH that is not this executable.
func RealHermes(env home.Env) string {
	if p := strings.TrimSpace(env.Getenv("HERMES_REAL_BIN")); p != "" {
		if lp, err := exec.LookPath(p); err == nil && !isSelf(lp) {
			return lp
		}
		return ""
	}
	for _, dir := range filepath.SplitList(env.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		cand := filepath.Join(dir, "hermes")
		if st, err := os.Stat(cand); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 && !isSelf(cand) {
			return cand
		}
	}
	return ""
}

func isSelf(path string) bool {
	self, err := os.Executable()
	if err != nil {
		return false
	}
	a, err1 := os.Stat(self)
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// execve replaces this process with argv (never returns on success).
func execve(path string, argv []string) error {
	err := syscall.Exec(path, argv, os.Environ())
	return failf("kanban: exec %s: %v", path, err)
}

// HermesMain is the entry point when invoked as `hermes`: it handles
// `hermes [-p NAME] kanban …` itself and execs the real hermes for
// everything else.
func HermesMain(ctx context.Context, a *App, args []string) error {
	rest := args
	for len(rest) > 0 {
		switch {
		case (rest[0] == "-p" || rest[0] == "--profile") && len(rest) > 1:
			a.useProfile(rest[1])
			rest = rest[2:]
		case strings.HasPrefix(rest[0], "--profile="):
			a.useProfile(strings.TrimPrefix(rest[0], "--profile="))
			rest = rest[1:]
		case strings.HasPrefix(rest[0], "-p") && len(rest[0]) > 2:
			a.useProfile(rest[0][2:])
			rest = rest[1:]
		default:
			goto done
		}
	}
done:
	if len(rest) > 0 && rest[0] == "kanban" {
		a.Prog = "kanban"
		return Run(ctx, a, rest[1:])
	}
	real := RealHermes(a.Env)
	if real == "" {
		return usagef("hermes: kanbanshim only implements `hermes kanban`; no other hermes found on PATH (set HERMES_REAL_BIN)")
	}
	return execve(real, append([]string{real}, args...))
}

// useProfile points HERMES_HOME at a profile, as upstream's -p does before
// its parser runs; children (workers, exec'd hermes) inherit it.
func (a *App) useProfile(name string) {
	h := a.Env.ProfileHome(home.NormalizeProfile(name))
	os.Setenv("HERMES_HOME", h)
	a.Env = a.Env.With(map[string]string{"HERMES_HOME": h})
}
