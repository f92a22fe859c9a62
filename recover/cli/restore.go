package cli

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/home"
)

// snapshotChoice is salvage's and auto's --no-snapshot / --snapshot PATH:
// which verified snapshot fills in the rows the salvage cannot read. The
// default is the board's newest (<board dir>/snapshots/).
type snapshotChoice struct {
	off   bool
	path  string
	given bool // --snapshot was given, even empty
}

func (s *snapshotChoice) register(fs *pflag.FlagSet) {
	fs.BoolVar(&s.off, "no-snapshot", false, "do not restore lost rows from a snapshot")
	fs.Var(home.Given(&s.path, &s.given), "snapshot", "restore lost rows from this snapshot (default: the board's newest verified one)")
}

// validate rejects contradictory or empty choices.
func (s *snapshotChoice) validate() error {
	switch {
	case s.given && strings.TrimSpace(s.path) == "":
		return errors.New("--snapshot requires a path")
	case s.given && s.off:
		return errors.New("--snapshot and --no-snapshot exclude each other")
	}
	return nil
}

// oneBoard names the flag that cannot go with --all ("" when none was given).
func (s *snapshotChoice) oneBoard() string {
	if s.given {
		return "--snapshot"
	}
	return ""
}

// source is the snapshot directory or file for t (both "" when off).
func (s *snapshotChoice) source(a *App, t target) (dir, path string, err error) {
	switch {
	case s.off:
		return "", "", nil
	case s.given:
		path, err = filepath.Abs(a.Env.ExpandUser(s.path))
		return "", path, err
	}
	return t.Snapshots(), "", nil
}
