package py

import (
	"reflect"
	"testing"
)

func TestSplitLines(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb\rc\vd\x1ce\u2028f", []string{"a", "b", "c", "d", "e", "f"}},
		{"\n\nx", []string{"", "", "x"}},
	} {
		if got := SplitLines(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFirstLine(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"  \n first line \r\nsecond", 400, "first line "},
		{"\x1f\u00a0", 400, ""},
		{"héllo wörld", 4, "héll"},
	} {
		if got := FirstLine(c.in, c.limit); got != c.want {
			t.Errorf("FirstLine(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

func TestCutAndLen(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo", 2, "hé"}, {"héllo", 5, "héllo"}, {"héllo", 9, "héllo"}, {"héllo", 0, ""}, {"héllo", -1, ""},
	} {
		if got := Cut(c.in, c.n); got != c.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if n := Len("héllo"); n != 5 {
		t.Errorf("Len = %d, want 5", n)
	}
}
