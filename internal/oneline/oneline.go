// Package oneline makes any message safe to print as the single line an
// error gets on stderr: user input inside it (ids, paths, flag values)
// cannot add lines, drive the terminal with escape sequences, emit invalid
// UTF-8, or flood the screen.
package oneline

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Max is the longest message kept whole; longer ones keep head and tail.
const Max = 4096

// Clean escapes control characters (C0, DEL, C1) and invalid UTF-8 as
// \xNN (newlines and tabs too: the result is one line) and clips the
// middle of messages longer than Max bytes.
func Clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	out := b.String()
	if len(out) <= Max {
		return out
	}
	head, tail := validPrefix(out[:Max/2]), validSuffix(out[len(out)-Max/4:])
	return fmt.Sprintf("%s…(%d bytes)…%s", head, len(out)-len(head)-len(tail), tail)
}

// Trim is Clean of the message with surrounding whitespace removed.
func Trim(s string) string { return Clean(strings.TrimSpace(s)) }

// Fold is Trim after every run of white space, newlines included, has
// become one space: a multi-line report (an integrity check's) reads as
// one line in a cron log.
func Fold(s string) string { return Clean(strings.Join(strings.Fields(s), " ")) }

func validPrefix(s string) string {
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func validSuffix(s string) string {
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[1:]
	}
	return s
}
