package lockd

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// drainSignals are the signals that ask a kanbanshim process to stop.
var drainSignals = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP}

// SignalError is the cancellation cause Drain sets, so code that stops
// early can say why and main can pick the exit code.
type SignalError struct {
	Signal os.Signal
}

// Error names the signal, e.g. "interrupted by SIGTERM".
func (e *SignalError) Error() string {
	return "interrupted by " + signalName(e.Signal)
}

// ExitCode is the exit code of a command the signal cut short, 128+n
// (internal/clikit picks it up from the context's cause).
func (e *SignalError) ExitCode() int { return ExitCodeFor(e.Signal) }

// signalName gives the conventional SIGxxx name for the signals Drain
// handles and Go's description for any other.
func signalName(sig os.Signal) string {
	switch sig {
	case nil:
		return "signal"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// ExitCodeFor returns the shell convention 128+signum (143 for SIGTERM,
// 130 for SIGINT, 129 for SIGHUP), so a drained exit looks like a death
// by that signal to scripts; 1 for signals without a number.
func ExitCodeFor(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

// SignalExitCode reports the exit code for a context that Drain cancelled
// because of a signal; ok is false for any other cause (or none).
func SignalExitCode(ctx context.Context) (code int, ok bool) {
	var se *SignalError
	if !errors.As(context.Cause(ctx), &se) {
		return 0, false
	}
	return ExitCodeFor(se.Signal), true
}

// Drain is the one place a binary turns SIGTERM, SIGINT and SIGHUP into
// cancellation. The first signal cancels ctx with a *SignalError cause so
// the running transaction can finish or roll back and locks get released;
// a second signal means the user will not wait, and exits the process at
// once with ExitCodeFor(sig). stop unregisters the handler (restoring the
// default behaviour) and cancels ctx; call it when main returns.
func Drain(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	sigs := make(chan os.Signal, 2)
	done := make(chan struct{})
	signal.Notify(sigs, drainSignals...)
	go func() {
		first := true
		for {
			select {
			case sig := <-sigs:
				if !first {
					os.Exit(ExitCodeFor(sig))
				}
				first = false
				cancel(&SignalError{Signal: sig})
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel(nil)
		})
	}
	return ctx, stop
}
