package cli

import (
	"github.com/kanbanshim/kanbanshim/internal/faultvfs"
)

// faultVFSName is the VFS the fault hook registers in this process.
const faultVFSName = "kanbanshim-test-fault"

// badFaultSpecVFS is a VFS name nobody registers: a malformed spec opens
// the board through it, so the command fails loudly instead of running
// without the fault the test meant to inject.
const badFaultSpecVFS = "kanbanshim-test-fault-bad-spec"

// faultHookOptions is a test hook (KANBANSHIM_TEST_FAULT=<fault>[-<op>]:
// <file>:<n>[+], see faultvfs.ParseRule): it registers a fault-injecting
// SQLite VFS armed with that one rule and names it for store.Options.VFS,
// so end-to-end tests can watch an ENOSPC or EIO surface as one line on
// stderr and exit 1. The count starts when the process opens its first
// file, so n counts the operations of the whole invocation. Unset, it
// reports ok=false and production never touches the fault VFS.
func faultHookOptions(getenv func(string) string) (vfsName string, ok bool) {
	spec := getenv("KANBANSHIM_TEST_FAULT")
	if spec == "" {
		return "", false
	}
	rule, err := faultvfs.ParseRule(spec)
	if err != nil {
		return badFaultSpecVFS, true
	}
	in := faultvfs.Register(faultVFSName)
	in.Arm(rule)
	return in.Name(), true
}
