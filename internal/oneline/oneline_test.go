package oneline

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	cases := map[string]string{
		"no such task: t_1":  "no such task: t_1",
		"a\nb":               `a\x0ab`,
		"esc \x1b[31mred":    `esc \x1b[31mred`,
		"bad \xff\xfe bytes": `bad \xff\xfe bytes`,
		"tab\there":          `tab\x09here`,
		"c1 \u0085 next":     `c1 \u0085 next`,
		"unicode ✓ stays":    "unicode ✓ stays",
		"del \x7f":           `del \x7f`,
	}
	for in, want := range cases {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClean_clipsLongMessages(t *testing.T) {
	in := "no such task: " + strings.Repeat("é", 100_000)
	got := Clean(in)
	if len(got) > Max+64 || !utf8.ValidString(got) || !strings.HasPrefix(got, "no such task: ") || !strings.Contains(got, "bytes)…") {
		t.Errorf("len %d, valid %v, %q…", len(got), utf8.ValidString(got), got[:40])
	}
	if strings.ContainsRune(got, '\n') {
		t.Error("clipped message has a newline")
	}
}
