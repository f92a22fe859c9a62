package py

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
)

// refStr is the rune-at-a-time escaper the fast paths replaced, kept as
// the oracle they must agree with byte for byte.
func refStr(s string, ascii bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (ascii && r == 0x7f):
			fmt.Fprintf(&b, `\u%04x`, r)
		case ascii && r > 0x7f:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func checkStr(t *testing.T, s string) {
	t.Helper()
	for _, ascii := range []bool{false, true} {
		e := encoder{ascii: ascii}
		e.str(s)
		if want := refStr(s, ascii); string(e.buf) != want {
			t.Fatalf("str(%q, ascii=%v) = %s, want %s", s, ascii, e.buf, want)
		}
	}
}

func TestStr_matchesReference(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b\c`, "tab\there\nnew\r\x00\x01\x1f\x7f", "héllo ✓ 任务 🚀",
		"bad \xff utf8 \xc3", "\xed\xa0\x80 surrogate", "eight!!!\"eight!!!", strings.Repeat("abcdefg\\", 9),
		"\u2028\u2029\ufffd", "exactly8", "exactly8\n"} {
		checkStr(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", " ", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "任", "🚀", "\xff", "\xc3", "\x80"}
	for i := 0; i < 20000; i++ {
		var sb strings.Builder
		for n := rng.IntN(40); n > 0; n-- {
			sb.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		checkStr(t, sb.String())
	}
}

func FuzzStr(f *testing.F) {
	f.Add("héllo \"x\"\n")
	f.Add("\xff\x00abcdefgh")
	f.Fuzz(func(t *testing.T, s string) { checkStr(t, s) })
}

// TestListWriter_matchesDumps: the streamed list is json.dumps of the
// whole list, whatever the item count and flushes in between.
func TestListWriter_matchesDumps(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3000} {
		items := make([]any, n)
		for i := range items {
			items[i] = Obj("id", fmt.Sprintf("t_%08x", i), "n", i, "tags", []string{"a", "b"}, "none", nil,
				"nested", Obj("x", []any{}, "y", Object{}), "text", strings.Repeat("é\"x ", i%50))
		}
		for _, indent := range []int{2, -1} {
			var buf bytes.Buffer
			lw := NewListWriter(&buf, indent, false)
			for _, it := range items {
				if err := lw.Add(it); err != nil {
					t.Fatal(err)
				}
			}
			if err := lw.Close(); err != nil {
				t.Fatal(err)
			}
			if want := Dumps(items, indent, false); buf.String() != want {
				t.Fatalf("n=%d indent=%d: streamed list differs from Dumps (%d vs %d bytes)", n, indent, buf.Len(), len(want))
			}
		}
	}
}

// TestListWriter_stopsAtWriteError: a failed write (a closed pipe) is
// returned, and nothing more is written.
func TestListWriter_stopsAtWriteError(t *testing.T) {
	w := &failWriter{after: 1}
	lw := NewListWriter(w, 2, false)
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = lw.Add(Obj("text", strings.Repeat("x", 100)))
	}
	if err != io.ErrClosedPipe || lw.Close() != io.ErrClosedPipe || w.writes != 2 {
		t.Fatalf("err %v, %d writes; want ErrClosedPipe after 2 writes", err, w.writes)
	}
}

type failWriter struct{ after, writes int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.after {
		return 0, io.ErrClosedPipe
	}
	return len(p), nil
}

func BenchmarkStr(b *testing.B) {
	s := strings.Repeat(`Deploy the "worker" pool to staging; résumé 任务 🚀 and move on.`+"\n", 8)
	e := encoder{}
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		e.buf = e.buf[:0]
		e.str(s)
	}
}
