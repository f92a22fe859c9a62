package py

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Dumps encodes v like Python's json.dumps(v, indent=indent,
// ensure_ascii=ascii): indent < 0 means no indent (", " and ": "
// separators); map[string]any keys are sorted (Python would keep insertion
// order; use Object when order matters).
func Dumps(v any, indent int, ascii bool) string {
	e := encoder{indent: indent, ascii: ascii}
	e.value(v, 0)
	return string(e.buf)
}

// Compact is json.dumps(v, ensure_ascii=False), how upstream stores
// payload and metadata columns.
func Compact(v any) string { return Dumps(v, -1, false) }

// encoder appends JSON text to buf; ListWriter drains it to its writer
// after each item, so a long list never sits in memory whole.
type encoder struct {
	buf    []byte
	indent int
	ascii  bool
}

func (e *encoder) newline(depth int) {
	e.buf = append(e.buf, '\n')
	for n := e.indent * depth; n > 0; n-- {
		e.buf = append(e.buf, ' ')
	}
}

func (e *encoder) value(v any, depth int) {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.str(x)
	case *string:
		if x == nil {
			e.buf = append(e.buf, "null"...)
		} else {
			e.str(*x)
		}
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case *int64:
		if x == nil {
			e.buf = append(e.buf, "null"...)
		} else {
			e.buf = strconv.AppendInt(e.buf, *x, 10)
		}
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case bool:
		if x {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case Object:
		e.object(x, depth)
	case []any:
		e.list(x, depth)
	case []string:
		e.strings(x, depth)
	default:
		e.other(normalize(v), depth)
	}
}

// other encodes the rarer kinds (value handles the common ones without
// converting them first).
func (e *encoder) other(v any, depth int) {
	switch x := v.(type) {
	case nil, string, int64, bool, Object, []any:
		e.value(x, depth)
	case float64:
		e.buf = append(e.buf, floatJSON(x)...)
	case json.Number:
		e.buf = append(e.buf, x...)
	case Raw:
		e.buf = append(e.buf, x...)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(Object, 0, len(x))
		for _, k := range keys {
			o = append(o, Member{k, x[k]})
		}
		e.object(o, depth)
	default:
		e.str(fmt.Sprint(x))
	}
}

func (e *encoder) list(x []any, depth int) {
	e.items(len(x), depth, func(i int) { e.value(x[i], depth+1) })
}

// strings is list for a []string (nil encodes as [], like an empty list).
func (e *encoder) strings(x []string, depth int) {
	e.items(len(x), depth, func(i int) { e.str(x[i]) })
}

// items encodes a list of n items, item(i) encoding the i-th.
func (e *encoder) items(n, depth int, item func(i int)) {
	if n == 0 {
		e.buf = append(e.buf, "[]"...)
		return
	}
	e.buf = append(e.buf, '[')
	for i := 0; i < n; i++ {
		e.sep(i, depth+1)
		item(i)
	}
	e.close(depth, ']')
}

func (e *encoder) object(o Object, depth int) {
	if len(o) == 0 {
		e.buf = append(e.buf, "{}"...)
		return
	}
	e.buf = append(e.buf, '{')
	for i, m := range o {
		e.sep(i, depth+1)
		e.str(m.Key)
		e.buf = append(e.buf, ": "...)
		e.value(m.Value, depth+1)
	}
	e.close(depth, '}')
}

func (e *encoder) sep(i, depth int) {
	if i > 0 {
		e.buf = append(e.buf, ',')
		if e.indent < 0 {
			e.buf = append(e.buf, ' ')
		}
	}
	if e.indent >= 0 {
		e.newline(depth)
	}
}

func (e *encoder) close(depth int, c byte) {
	if e.indent >= 0 {
		e.newline(depth)
	}
	e.buf = append(e.buf, c)
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string the way Python escapes it: ", \\ and
// control characters always (\n \r \t \b \f by name, the rest \u00XX),
// and with ascii (ensure_ascii=True) DEL and everything past it as \uXXXX
// (UTF-16 surrogate pairs above the BMP). Bytes that are not UTF-8 come
// out as U+FFFD. Runs that need no escape are copied in one piece.
func (e *encoder) str(s string) {
	if !e.ascii && utf8.ValidString(s) {
		e.strUTF8(s)
		return
	}
	b := append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (c != 0x7f || !e.ascii) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !e.ascii && (r != utf8.RuneError || size > 1) {
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch {
		case !e.ascii:
			b = utf8.AppendRune(b, utf8.RuneError)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			b = appendU(appendU(b, hi), lo)
		default:
			b = appendU(b, r)
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	e.buf = append(b, '"')
}

// strUTF8 is str for valid UTF-8 without ensure_ascii, the common case:
// only ", \\ and control characters change, so it looks at eight bytes
// at a time and copies everything between them.
func (e *encoder) strUTF8(s string) {
	b := append(e.buf, '"')
	start, i := 0, 0
	for {
		for i+8 <= len(s) && !needsEscape8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = appendEscape(append(b, s[start:i]...), c)
		i++
		start = i
	}
	b = append(b, s[start:]...)
	e.buf = append(b, '"')
}

// needsEscape8 reports whether any of the eight bytes in x is below 0x20,
// a double quote or a backslash (bytes from 0x80 up never match).
func needsEscape8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	lt := (x - 0x20*ones) &^ x
	q := x ^ ('"' * ones)
	bs := x ^ ('\\' * ones)
	return (lt|(q-ones)&^q|(bs-ones)&^bs)&highs != 0
}

// shortEscapes are the escapes Python writes by name (0: none).
var shortEscapes = [256]byte{'"': '"', '\\': '\\', '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f'}

// appendEscape appends the escape of the ASCII byte c.
func appendEscape(b []byte, c byte) []byte {
	if e := shortEscapes[c]; e != 0 {
		return append(b, '\\', e)
	}
	return appendU(b, rune(c))
}

// appendU appends \uXXXX (lowercase hex, as Python writes it).
func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

// floatJSON renders a float as Python's json/repr does (shortest
// round-trip digits, ".0" on integral values, exponent past 1e16).
func floatJSON(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return FloatRepr(f)
}

// FloatRepr is Python's repr(float).
func FloatRepr(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	exp := int(math.Floor(math.Log10(math.Abs(f))))
	// Python switches to exponent form when exp < -4 or exp >= 16.
	digits := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	mant, e10, _ := strings.Cut(digits, "e")
	if n, err := strconv.Atoi(e10); err == nil {
		exp = n
	}
	sign := ""
	if f < 0 {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := mant
		es := fmt.Sprintf("%+03d", exp)
		return sign + m + "e" + es
	}
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return sign + s
}

// ErrNotJSON is returned by Loads for malformed input.
var ErrNotJSON = errors.New("invalid JSON")

// Loads decodes JSON text keeping object key order (objects become Object,
// arrays []any, numbers int64 or float64).
func Loads(s string) (any, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrNotJSON)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: extra data", ErrNotJSON)
	}
	return v, nil
}

// MaxDepth is the deepest nesting Loads accepts; Python's json.loads
// fails with RecursionError near 1000 levels, and nothing upstream writes
// comes close.
const MaxDepth = 200

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := Object{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o = o.Set(k, v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		if f, err := t.Float64(); err == nil && !bytes.ContainsAny([]byte(t), ".eE") {
			return t, nil // big integer: keep its digits
		} else if err == nil {
			return f, nil
		}
		return t, nil
	default:
		return t, nil // string, bool, nil
	}
}

// ListWriter writes a JSON list exactly as json.dumps(items, indent=indent,
// ensure_ascii=ascii) would, one item at a time: each item is encoded
// into a reused buffer, which goes to the writer whenever it passes
// flushAt bytes, so a list of any length costs the memory of one item.
type ListWriter struct {
	w   io.Writer
	e   encoder
	n   int
	err error
}

const flushAt = 32 << 10

// NewListWriter starts a list on w.
func NewListWriter(w io.Writer, indent int, ascii bool) *ListWriter {
	return &ListWriter{w: w, e: encoder{buf: make([]byte, 0, 2*flushAt), indent: indent, ascii: ascii}}
}

// Add appends one item; it returns the writer's first error, after which
// nothing more is written.
func (l *ListWriter) Add(v any) error {
	if l.err != nil {
		return l.err
	}
	if l.n == 0 {
		l.e.buf = append(l.e.buf, '[')
	}
	l.e.sep(l.n, 1)
	l.e.value(v, 1)
	l.n++
	if len(l.e.buf) >= flushAt {
		l.flush()
	}
	return l.err
}

// Close ends the list (`[]` when nothing was added), writes what is
// buffered and returns the first error.
func (l *ListWriter) Close() error {
	if l.err != nil {
		return l.err
	}
	if l.n == 0 {
		l.e.buf = append(l.e.buf, "[]"...)
	} else {
		l.e.close(0, ']')
	}
	l.flush()
	return l.err
}

func (l *ListWriter) flush() {
	if len(l.e.buf) > 0 && l.err == nil {
		_, l.err = l.w.Write(l.e.buf)
	}
	l.e.buf = l.e.buf[:0]
}
