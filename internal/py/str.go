package py

import (
	"strings"
	"unicode"
)

// Python's str methods, which upstream's text rendering (worker context,
// event summaries, comments) is built on; Go's strings package draws the
// line between whitespace and line breaks elsewhere.

// IsSpace is Python's str.isspace for one character: Go's unicode.IsSpace
// plus the ASCII separators \x1c-\x1f.
func IsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// Strip is Python's s.strip().
func Strip(s string) string { return strings.TrimFunc(s, IsSpace) }

// RStrip is Python's s.rstrip().
func RStrip(s string) string { return strings.TrimRightFunc(s, IsSpace) }

// isLineBreak reports the characters Python's str.splitlines splits on
// (\r\n counts once; the caller handles the pair).
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029':
		return true
	}
	return false
}

// SplitLines is Python's s.splitlines().
func SplitLines(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if i < start {
			continue // the \n of a \r\n pair
		}
		if !isLineBreak(r) {
			continue
		}
		out = append(out, s[start:i])
		start = i + len(string(r))
		if r == '\r' && start < len(s) && s[start] == '\n' {
			start++
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// FirstLine is upstream's _first_line: the first line of the stripped
// text, cut to limit characters; "" for empty text.
func FirstLine(s string, limit int) string {
	lines := SplitLines(Strip(s))
	if len(lines) == 0 {
		return ""
	}
	return Cut(lines[0], limit)
}

// Cut is Python's s[:n] for n >= 0: the first n characters, not bytes.
// A negative n gives "" (Python would count from the end).
func Cut(s string, n int) string {
	if n < 0 {
		n = 0
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// Len is Python's len(s): characters, not bytes.
func Len(s string) int { return len([]rune(s)) }
