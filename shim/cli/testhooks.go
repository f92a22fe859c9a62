package cli

import (
	"io"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

// TestHooks adjusts a run's store options from the run's environment
// (getenv) for tests: pause inside a transaction, inject I/O faults,
// pretend another filesystem. Release binaries install none and read no
// test switch; builds with the testhooks tag and test binaries install
// internal/testhooks' (see docs/DESIGN.md, "Test hooks").
type TestHooks func(getenv func(string) string, stderr io.Writer, o *store.Options)

var testHooks TestHooks

// SetTestHooks installs h for every later run in this process.
func SetTestHooks(h TestHooks) { testHooks = h }
