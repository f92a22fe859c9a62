package badinput

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Result is what one in-process run of a command produced.
type Result struct {
	Code           int
	Stdout, Stderr string
	// Panic is the recovered panic value and its stack, "" when none.
	Panic string
	// Hung: the command did not return within the deadline.
	Hung bool
}

// syncBuffer is a bytes.Buffer safe for the goroutines a command may
// start (progress writers, drain helpers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Run calls fn (a binary's run function wired to the given writers) with
// a context that ends after timeout. A panic is recovered and reported in
// the Result, not re-raised, so a table of cases reports every failure. A
// command that ignores its context for a further 10 s is abandoned and
// reported as hung.
func Run(timeout time.Duration, fn func(ctx context.Context, stdout, stderr io.Writer) int) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errb syncBuffer
	type done struct {
		code  int
		panic string
	}
	ch := make(chan done, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- done{code: -1, panic: fmt.Sprintf("%v\n%s", p, debug.Stack())}
			}
		}()
		ch <- done{code: fn(ctx, &out, &errb)}
	}()
	select {
	case d := <-ch:
		return Result{Code: d.code, Stdout: out.String(), Stderr: errb.String(), Panic: d.panic, Hung: ctx.Err() != nil}
	case <-time.After(timeout + 10*time.Second):
		return Result{Code: -1, Stdout: out.String(), Stderr: errb.String(), Hung: true}
	}
}

// crash matches what a Go panic or stack trace prints.
var crash = regexp.MustCompile(`panic: |goroutine \d+ \[|runtime error: |\.go:\d+`)

// MaxLine is the longest error line that still counts as clear: an error
// may quote the offending value, but not echo a 100 KB argument back.
const MaxLine = 4096

// Kind is a way a command breaks the bad-input rule.
type Kind string

// The kinds of Problem.
const (
	Panicked     Kind = "panic"
	Hung         Kind = "hang"
	WrongCode    Kind = "exit-code"
	Silent       Kind = "silent"          // failed with nothing on stderr
	MultiLine    Kind = "multi-line"      // more than one line on stderr
	Crash        Kind = "crash-text"      // a Go panic or stack trace on stderr
	LongLine     Kind = "long-line"       // an error line over MaxLine bytes
	NotUTF8      Kind = "not-utf8"        // invalid UTF-8 on stderr
	ControlChars Kind = "control-chars"   // terminal control characters on stderr
	BoardChanged Kind = "board-changed"   // a failed command changed the board
	Semantics    Kind = "wrong-semantics" // a case-specific check failed
	Leak         Kind = "leak"            // board files left open after the command returned
)

// Problem is one broken rule.
type Problem struct {
	Kind Kind
	Msg  string
}

func (p Problem) String() string { return string(p.Kind) + ": " + p.Msg }

// Problems lists how r breaks the bad-input rule for a command that is
// expected to exit with one of codes: no panic, no hang, an exit code from
// the documented set, and, for a failure, exactly one clear line on
// stderr. A success may print warnings; only its exit code is checked.
func (r Result) Problems(codes ...int) []Problem {
	var p []Problem
	if r.Panic != "" {
		p = append(p, Problem{Panicked, FirstLine(r.Panic)})
	}
	if r.Hung {
		p = append(p, Problem{Hung, "did not finish before its deadline"})
	}
	if !slices.Contains(codes, r.Code) {
		p = append(p, Problem{WrongCode, fmt.Sprintf("exit code %d, want %v; stderr %q", r.Code, codes, clip(r.Stderr))})
	}
	if r.Code == 0 || r.Code == -1 {
		return p
	}
	return append(p, StderrProblems(r.Stderr)...)
}

// StderrProblems checks the stderr of a failed command: one line, ending
// in a newline, readable (UTF-8, no control characters), no stack trace,
// no more than MaxLine bytes.
func StderrProblems(stderr string) []Problem {
	var p []Problem
	switch n := strings.Count(stderr, "\n"); {
	case stderr == "":
		p = append(p, Problem{Silent, "failed with nothing on stderr"})
	case n != 1 || !strings.HasSuffix(stderr, "\n"):
		p = append(p, Problem{MultiLine, fmt.Sprintf("%d lines, want one: %q", n, clip(stderr))})
	}
	if m := crash.FindString(stderr); m != "" {
		p = append(p, Problem{Crash, fmt.Sprintf("%q in %q", m, clip(stderr))})
	}
	if len(stderr) > MaxLine {
		p = append(p, Problem{LongLine, fmt.Sprintf("%d bytes: %q", len(stderr), clip(stderr))})
	}
	if !utf8.ValidString(stderr) {
		p = append(p, Problem{NotUTF8, fmt.Sprintf("%q", clip(stderr))})
	}
	if strings.IndexFunc(stderr, isControl) >= 0 {
		p = append(p, Problem{ControlChars, fmt.Sprintf("%q", clip(stderr))})
	}
	return p
}

// isControl: C0 and C1 control characters other than tab and newline
// (lines are counted apart); an escape sequence in an echoed argument can
// rewrite the user's terminal.
func isControl(r rune) bool {
	return r != '\t' && r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// FirstLine is the first line of s, cut at 200 bytes, for test logs.
func FirstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

// ClipArgs shortens huge arguments for failure messages.
func ClipArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 80 {
			a = fmt.Sprintf("%s…(%d bytes)", a[:40], len(a))
		}
		out[i] = a
	}
	return out
}

// clip shortens s for a failure message.
func clip(s string) string {
	if len(s) <= 300 {
		return s
	}
	return s[:200] + fmt.Sprintf("…(%d bytes)…", len(s)-300) + s[len(s)-100:]
}
