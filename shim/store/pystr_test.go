package store

import (
	"reflect"
	"testing"
)

func TestPySplitLines(t *testing.T) {
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
		if got := PySplitLines(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("PySplitLines(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPyFirstLine(t *testing.T) {
	for _, c := range []struct {
		in    string
		limit int
		want  string
	}{
		{"  \n first line \r\nsecond", 400, "first line "},
		{"\x1f\u00a0", 400, ""},
		{"héllo wörld", 4, "héll"},
	} {
		if got := PyFirstLine(c.in, c.limit); got != c.want {
			t.Errorf("PyFirstLine(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
}

func TestCtxCapAndTail(t *testing.T) {
	if got := ctxCap("  abcdef  ", 4); got != "abcd… [truncated, 2 chars omitted]" {
		t.Errorf("ctxCap = %q", got)
	}
	if got := ctxCap(" ok ", 4); got != "ok" {
		t.Errorf("ctxCap short = %q", got)
	}
	if n, note := ctxTail(31, 30, "comment"); n != 30 || note != "_(1 earlier comment omitted; showing most recent 30)_" {
		t.Errorf("ctxTail(31) = %d %q", n, note)
	}
	if n, note := ctxTail(12, 10, "attempt"); n != 10 || note != "_(2 earlier attempts omitted; showing most recent 10)_" {
		t.Errorf("ctxTail(12) = %d %q", n, note)
	}
	for d, want := range map[int64]string{-5: "just now", 59: "just now", 60: "1m ago", 7199: "1h ago", 86400 * 3: "3d ago"} {
		if got := relativeAge(1000, 1000+d); got != want {
			t.Errorf("relativeAge(+%d) = %q, want %q", d, got, want)
		}
	}
}

func TestWorkerTerminalTimeout(t *testing.T) {
	for _, c := range []struct {
		runtime int64
		env     string
		want    string
	}{
		{7200, "", "7170"}, {7200, "60", "7170"}, {7200, "9999", ""}, {20, "", "1"}, {0, "", ""}, {100, "junk", "70"},
	} {
		if got := workerTerminalTimeout(c.runtime, c.env); got != c.want {
			t.Errorf("workerTerminalTimeout(%d, %q) = %q, want %q", c.runtime, c.env, got, c.want)
		}
	}
}

func TestIndexOnlyNames(t *testing.T) {
	if got := indexOnlyNames([]string{"row 3 missing from index idx_a", "wrong # of entries in index idx_b", "row 4 missing from index idx_a"}); !reflect.DeepEqual(got, []string{"idx_a", "idx_b"}) {
		t.Errorf("index-only names = %q", got)
	}
	if got := indexOnlyNames([]string{"row 3 missing from index idx_a", "Page 7: btreeInitPage() returns error code 11"}); got != nil {
		t.Errorf("mixed damage must not be index-only: %q", got)
	}
	if got := indexOnlyNames([]string{"ok"}); got != nil {
		t.Errorf("ok is not index damage: %q", got)
	}
}
