package cli

import (
	"io"
	"time"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// Overrides are what a test may change about one run (zero: nothing).
type Overrides struct {
	// Now fixes the clock (synthesized runs, backup names).
	Now time.Time
	// Hooks stop or fail apply at its named points.
	Hooks *migrate.Hooks
	// Filesystem names the board directory's filesystem and whether it
	// is a network one, instead of asking the kernel.
	Filesystem func(dir string) (name string, network bool)
}

// TestHooks gives a run's Overrides from its environment (getenv) and
// stderr. Release binaries install none and read no test switch; builds
// with the testhooks tag and test binaries install internal/testhooks'
// (see docs/DESIGN.md, "Test hooks").
type TestHooks func(getenv func(string) string, stderr io.Writer) Overrides

var testHooks TestHooks

// SetTestHooks installs h for every later run in this process.
func SetTestHooks(h TestHooks) { testHooks = h }

// overrides asks the installed hooks once per App.
func (a *App) overrides() Overrides {
	if a.over == nil {
		a.over = &Overrides{}
		if testHooks != nil {
			*a.over = testHooks(a.Env.Getenv, a.Stderr)
		}
	}
	return *a.over
}
