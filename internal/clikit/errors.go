package clikit

import "fmt"

// UsageError is a command line that cannot be run: exit 2, before any
// work was done. Program.Exit prints Msg as the binary formats usage
// lines (see Program.UsageHint).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef is a usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitError ends the command with Code whatever else happened (a signal
// included: a supervisor passes on its worker's code). Msg, when set, is
// the whole stderr line; an empty Msg means the failure was already
// reported (bulk verbs print one line per failed item).
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Msg
}

// Failf is a failure (exit 1) with its own whole stderr line.
func Failf(format string, args ...any) error {
	return &ExitError{Code: 1, Msg: fmt.Sprintf(format, args...)}
}

// Exit is a failure already reported on stderr that exits with code.
func Exit(code int) error { return &ExitError{Code: code} }
