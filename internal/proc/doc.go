// Package proc is the one place kanbanshim reads /proc or controls other
// processes: process state from /proc/<pid>/stat, command lines, the
// open-file scan that finds who has a board open, the flock holders the
// kernel lists in /proc/locks, liveness and process-group checks, stopping
// a worker (SIGTERM, grace, SIGKILL of its group, supervisor-aware) and
// pdeathsig.
//
// Linux has all of it. Elsewhere (macOS) signals, liveness and process
// groups work, but nothing that needs /proc does: those calls return
// ErrUnsupported (or report "unknown"), and callers say so in one line
// rather than pretend nobody else has the board open.
package proc

import "errors"

// ErrUnsupported reports that the platform lacks what a call needs
// (/proc, flock, pdeathsig). lockd.ErrUnsupported is the same value.
var ErrUnsupported = errors.New("not supported on this platform")
