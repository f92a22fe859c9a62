package store

import (
	"strings"
	"unicode"
)

// Python's str methods, which upstream's text rendering (worker context,
// event summaries) is built on; Go's strings package draws the line
// between whitespace and line breaks elsewhere.

// PyIsSpace is Python's str.isspace for one character: Go's unicode.IsSpace
// plus the ASCII separators \x1c-\x1f.
func PyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// PyStrip is Python's s.strip().
func PyStrip(s string) string { return strings.TrimFunc(s, PyIsSpace) }

// PyRStrip is Python's s.rstrip().
func PyRStrip(s string) string { return strings.TrimRightFunc(s, PyIsSpace) }

// isLineBreak reports the characters Python's str.splitlines splits on
// (\r\n counts once; the caller handles the pair).
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029':
		return true
	}
	return false
}

// PySplitLines is Python's s.splitlines().
func PySplitLines(s string) []string {
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

// PyFirstLine is upstream's _first_line: the first line of the stripped
// text, cut to limit characters; "" for empty text.
func PyFirstLine(s string, limit int) string {
	lines := PySplitLines(PyStrip(s))
	if len(lines) == 0 {
		return ""
	}
	return cutRunes(lines[0], limit)
}

// cutRunes is Python's s[:n] (n characters, not bytes).
func cutRunes(s string, n int) string {
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

// runeLen is Python's len(s).
func runeLen(s string) int { return len([]rune(s)) }
