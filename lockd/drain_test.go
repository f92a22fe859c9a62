package lockd

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestDrain(t *testing.T) {
	tests := []struct {
		sig      syscall.Signal
		wantCode int
		wantLine string
	}{
		{syscall.SIGTERM, 143, "cause: interrupted by SIGTERM"},
		{syscall.SIGINT, 130, "cause: interrupted by SIGINT"},
		{syscall.SIGHUP, 129, "cause: interrupted by SIGHUP"},
	}
	for _, tt := range tests {
		t.Run(tt.sig.String(), func(t *testing.T) {
			t.Parallel()
			child := startHelper(t, "drain", "")
			child.expect(t, "ready")
			if err := child.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			child.expect(t, tt.wantLine)
			_ = child.wait()
			if got := child.cmd.ProcessState.ExitCode(); got != tt.wantCode {
				t.Errorf("exit code = %d, want %d", got, tt.wantCode)
			}
		})
	}
}

func TestDrain_secondSignal(t *testing.T) {
	child := startHelper(t, "drain-stubborn", "")
	child.expect(t, "ready")
	if err := child.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	child.expect(t, "cause: interrupted by SIGTERM")
	start := time.Now()
	if err := child.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = child.wait()
	if got := child.cmd.ProcessState.ExitCode(); got != 143 {
		t.Errorf("exit code = %d, want 143", got)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second signal took %v to stop the process", d)
	}
}

func TestDrain_stop(t *testing.T) {
	ctx, stop := Drain(context.Background())
	stop()
	stop()
	<-ctx.Done()
	if _, ok := SignalExitCode(ctx); ok {
		t.Errorf("SignalExitCode after stop = ok, cause %v", context.Cause(ctx))
	}
}

func TestSignalExitCode(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	if _, ok := SignalExitCode(ctx); ok {
		t.Error("live context reports a signal")
	}
	cancel(&SignalError{Signal: syscall.SIGTERM})
	if code, ok := SignalExitCode(ctx); !ok || code != 143 {
		t.Errorf("SignalExitCode = %d, %v; want 143, true", code, ok)
	}
	other, cancelOther := context.WithCancelCause(context.Background())
	cancelOther(errors.New("done"))
	if _, ok := SignalExitCode(other); ok {
		t.Error("non-signal cause reports a signal")
	}
}

func TestExitCodeFor(t *testing.T) {
	tests := []struct {
		sig  os.Signal
		want int
	}{
		{syscall.SIGTERM, 143},
		{syscall.SIGINT, 130},
		{os.Interrupt, 130},
		{syscall.SIGHUP, 129},
		{syscall.SIGKILL, 137},
	}
	for _, tt := range tests {
		if got := ExitCodeFor(tt.sig); got != tt.want {
			t.Errorf("ExitCodeFor(%v) = %d, want %d", tt.sig, got, tt.want)
		}
	}
}

func TestSignalError_Error(t *testing.T) {
	if got := (&SignalError{Signal: syscall.SIGTERM}).Error(); got != "interrupted by SIGTERM" {
		t.Errorf("Error() = %q", got)
	}
}
