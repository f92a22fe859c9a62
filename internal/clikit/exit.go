// Package clikit holds what the three command lines (kanban,
// kanban-recover, kanban-migrate) share: verb tables in help order, usage
// errors and failures as typed errors, the one mapping from an error to
// an exit code and a stderr line, --json printing, and the parsing of the
// maintenance tools' `prog [options] verb [options] [args]` lines.
//
// Every main is the same few lines: run(ctx, args) returns an error and
// Program.Exit turns it into the exit code: 0 ok, 1 failure, 2 usage,
// 128+n after a drained signal, or the code an ExitError carries.
package clikit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kanbanshim/kanbanshim/internal/oneline"
)

// Program is one binary's way of reporting errors.
type Program struct {
	// Name prefixes failure lines ("kanban: …").
	Name string
	// OneLine makes a message one safe stderr line (nil: oneline.Trim).
	OneLine func(string) string
	// UsageHint formats usage errors as "<name>: <msg> (see <name>
	// --help)"; without it the message is the whole line.
	UsageHint bool
	// SayInterrupted names the signal that cut a command short on stderr
	// ("kanban-migrate: interrupted by SIGTERM"); kanban stays silent
	// there, as upstream does.
	SayInterrupted bool
	// Failure gives the exit code and message of any other error (nil:
	// 1 and the error's text).
	Failure func(err error) (code int, msg string)
}

// Exit prints err (if any) on stderr and returns the process exit code;
// the only place an error becomes an exit code:
//
//   - nil: 0;
//   - *UsageError: 2;
//   - *ExitError: its Code, and its Msg when set;
//   - a command cut short by a drained signal (ctx's cause has an
//     ExitCode method, as lockd.SignalError): 128+n;
//   - anything else: Failure's code and "<name>: <msg>".
func (p Program) Exit(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ue *UsageError
	var ee *ExitError
	switch {
	case errors.As(err, &ue):
		if p.UsageHint {
			fmt.Fprintf(stderr, "%s: %s (see %s --help)\n", p.Name, p.line(ue.Msg), p.Name)
		} else {
			fmt.Fprintln(stderr, p.line(ue.Msg))
		}
		return 2
	case errors.As(err, &ee):
		if ee.Msg != "" {
			fmt.Fprintln(stderr, p.line(ee.Msg))
		}
		return ee.Code
	}
	if code, ok := Interrupted(ctx); ok {
		if p.SayInterrupted || !isCancellation(ctx, err) {
			fmt.Fprintf(stderr, "%s: %s\n", p.Name, p.line(err.Error()))
		}
		return code
	}
	code, msg := 1, err.Error()
	if p.Failure != nil {
		code, msg = p.Failure(err)
	}
	fmt.Fprintf(stderr, "%s: %s\n", p.Name, p.line(msg))
	return code
}

func (p Program) line(s string) string {
	if p.OneLine != nil {
		return p.OneLine(s)
	}
	return oneline.Trim(s)
}

// Interrupted reports the exit code of a command whose context a signal
// cancelled: the cancellation cause has an ExitCode method (lockd.Drain
// sets a *lockd.SignalError, 128+n).
func Interrupted(ctx context.Context) (code int, ok bool) {
	var sig interface{ ExitCode() int }
	if !errors.As(context.Cause(ctx), &sig) {
		return 0, false
	}
	return sig.ExitCode(), true
}

// isCancellation tells whether err is only the news that ctx was
// cancelled, which says nothing the exit code does not.
func isCancellation(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.Cause(ctx))
}
