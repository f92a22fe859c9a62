package clikit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
)

// sigErr stands for lockd.SignalError: a cancellation cause with an exit
// code.
type sigErr struct{ code int }

func (e *sigErr) Error() string { return "interrupted by SIGTERM" }
func (e *sigErr) ExitCode() int { return e.code }

func signalled() (context.Context, error) {
	cause := &sigErr{code: 128 + int(syscall.SIGTERM)}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	return ctx, cause
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestProgram_Exit: every kind of outcome gets its code and exactly its
// stderr line, for kanban's conventions and the maintenance tools'.
func TestProgram_Exit(t *testing.T) {
	busy := errors.New("busy")
	kanban := Program{Name: "kanban", Failure: func(err error) (int, string) {
		if errors.Is(err, busy) {
			return 4, "held: " + err.Error()
		}
		return 1, err.Error()
	}}
	tool := Program{Name: "tool", OneLine: fold, UsageHint: true, SayInterrupted: true}
	sctx, cause := signalled()
	bg := context.Background()
	for _, c := range []struct {
		name string
		p    Program
		ctx  context.Context
		err  error
		code int
		line string
	}{
		{"ok", kanban, bg, nil, 0, ""},
		{"usage line as is", kanban, bg, Usagef("kanban list: error: bad %s", "x"), 2, "kanban list: error: bad x\n"},
		{"usage with hint", tool, bg, Usagef("bad\nflag"), 2, "tool: bad flag (see tool --help)\n"},
		{"failure line", kanban, bg, Failf("kanban: no such task: %s", "t_1"), 1, "kanban: no such task: t_1\n"},
		{"quiet code", kanban, bg, Exit(3), 3, ""},
		{"quiet code wins over a signal", kanban, sctx, fmt.Errorf("supervise: %w", Exit(7)), 7, ""},
		{"failure mapped", kanban, bg, fmt.Errorf("x: %w", busy), 4, "kanban: held: x: busy\n"},
		{"unsafe text made one line", kanban, bg, errors.New("a\nb\x1b[2J"), 1, "kanban: a\\x0ab\\x1b[2J\n"},
		{"folded", tool, bg, errors.New("  a\n  b "), 1, "tool: a b\n"},
		{"signal: silent for kanban", kanban, sctx, fmt.Errorf("list: %w", cause), 143, ""},
		{"signal: canceled is silent", kanban, sctx, context.Canceled, 143, ""},
		{"signal: other error still said", kanban, sctx, errors.New("disk full"), 143, "kanban: disk full\n"},
		{"signal: named by the tools", tool, sctx, cause, 143, "tool: interrupted by SIGTERM\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := c.p.Exit(c.ctx, c.err, &stderr); got != c.code {
				t.Errorf("code %d, want %d", got, c.code)
			}
			if stderr.String() != c.line {
				t.Errorf("stderr %q, want %q", stderr.String(), c.line)
			}
		})
	}
}

// TestInterrupted: only a cause with an exit code counts as a signal.
func TestInterrupted(t *testing.T) {
	if _, ok := Interrupted(context.Background()); ok {
		t.Error("a live context reported a signal")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := Interrupted(ctx); ok {
		t.Error("a plain cancellation reported a signal")
	}
	sctx, _ := signalled()
	if code, ok := Interrupted(sctx); !ok || code != 143 {
		t.Errorf("Interrupted = %d, %v; want 143, true", code, ok)
	}
}
