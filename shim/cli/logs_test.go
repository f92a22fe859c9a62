package cli

import "testing"

// decodeUTF8 must replace what Python's errors="replace" replaces: one
// U+FFFD per maximal ill-formed subsequence.
func TestDecodeUTF8(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", "plain"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"a\xe2\x82b", "a\ufffdb"},
		{"\xf0\x9f\x98", "\ufffd"},
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogates are not UTF-8
		{"\xc0\xaf", "\ufffd\ufffd"},
		{"é\x80", "é\ufffd"},
	} {
		if got := decodeUTF8([]byte(c.in)); got != c.want {
			t.Errorf("decodeUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyPath(t *testing.T) {
	for in, want := range map[string]string{"./a//b/": "a/b", "/x/./y": "/x/y", "..//z": "../z", ".": ".", "": "."} {
		if got := pyPath(in); got != want {
			t.Errorf("pyPath(%q) = %q, want %q", in, got, want)
		}
	}
}
