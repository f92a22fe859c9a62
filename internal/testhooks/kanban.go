package testhooks

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/faultvfs"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// TxnPauseMarker starts the line a run paused by EnvPauseInTxn prints.
const TxnPauseMarker = "kanbanshim-test: paused in transaction "

// storeHooks applies kanban's switches to one run's store options.
func storeHooks(getenv func(string) string, stderr io.Writer, o *store.Options) {
	if op := getenv(EnvPauseInTxn); op != "" && o.Hooks == nil {
		o.Hooks = pauseHook(op, stderr)
	}
	if spec := getenv(EnvFault); spec != "" {
		o.VFS = faultVFS(spec)
	}
	if ft := getenv(EnvFSType); ft != "" {
		o.Filesystem = func(string) host.FSInfo { return host.FSInfo{Name: ft, Network: ft != "local"} }
	}
}

// pauseHook: a write transaction whose op starts with prefix announces
// itself on stderr and waits inside BEGIN IMMEDIATE … COMMIT for up to
// 60 s, or until the command is cancelled.
func pauseHook(prefix string, stderr io.Writer) *store.Hooks {
	return &store.Hooks{InTxn: func(ctx context.Context, op string) error {
		if !strings.HasPrefix(op, prefix) {
			return nil
		}
		fmt.Fprintf(stderr, "%s%q\n", TxnPauseMarker, op)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(60 * time.Second):
			return nil
		}
	}}
}

// faultVFSName is the VFS the fault switch registers in this process.
const faultVFSName = "kanbanshim-test-fault"

// badFaultSpecVFS is a VFS name nobody registers: a malformed spec opens
// the board through it, so the command fails loudly instead of running
// without the fault the test meant to inject.
const badFaultSpecVFS = "kanbanshim-test-fault-bad-spec"

// faultVFS registers a fault-injecting SQLite VFS armed with the one rule
// spec gives and returns its name, so end-to-end tests can watch an
// ENOSPC or EIO surface as one line on stderr and exit 1. The count
// starts when the process opens its first file, so n counts the
// operations of the whole invocation.
func faultVFS(spec string) string {
	rule, err := faultvfs.ParseRule(spec)
	if err != nil {
		return badFaultSpecVFS
	}
	in := faultvfs.Register(faultVFSName)
	in.Arm(rule)
	return in.Name()
}
