package home

import (
	"errors"
	"os"
	"syscall"
)

// NotDirError is a home variable (HERMES_HOME, HERMES_KANBAN_HOME) naming
// a path that exists but is not a directory, or lies under a file.
type NotDirError struct{ Var, Path string }

func (e *NotDirError) Error() string { return e.Var + " " + e.Path + " is not a directory" }

// CheckDirs makes sure HERMES_HOME and HERMES_KANBAN_HOME, when set, are
// directories or do not exist yet. A file there would otherwise surface
// later as a confusing "stat …/kanban.db: not a directory" from deep
// inside the open, or as an empty board listing.
func (e Env) CheckDirs() error {
	for _, k := range []string{"HERMES_HOME", "HERMES_KANBAN_HOME"} {
		v := e.get(k)
		if v == "" {
			continue
		}
		p := e.ExpandUser(v)
		st, err := os.Stat(p)
		if (err == nil && !st.IsDir()) || errors.Is(err, syscall.ENOTDIR) {
			return &NotDirError{Var: k, Path: p}
		}
	}
	return nil
}
