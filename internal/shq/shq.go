// Package shq quotes words for a POSIX shell, so a command kanbanshim
// prints can be pasted back and runs with the same arguments: a board path
// with a space, a quote or a $ in it included.
package shq

import "strings"

// Quote returns s as one shell word: unchanged when every byte is safe
// (letters, digits and _@%+=:,./-), else in single quotes, with each
// single quote inside written as quote, backslash, quote, quote. The
// empty string becomes a pair of single quotes.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, unsafe) < 0 {
		return s
	}
	return Single(s)
}

// Single returns s in single quotes whatever it holds (each single quote
// inside written as quote, backslash, quote, quote): one shell word, for
// generated scripts that quote every word alike.
func Single(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Join quotes each word and joins them with spaces.
func Join(words ...string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = Quote(w)
	}
	return strings.Join(q, " ")
}

func unsafe(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	}
	return !strings.ContainsRune("_@%+=:,./-", r)
}
