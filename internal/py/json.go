package py

import (
	"bytes"
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
	var b strings.Builder
	e := encoder{b: &b, indent: indent, ascii: ascii}
	e.value(v, 0)
	return b.String()
}

// Compact is json.dumps(v, ensure_ascii=False), how upstream stores
// payload and metadata columns.
func Compact(v any) string { return Dumps(v, -1, false) }

type encoder struct {
	b      *strings.Builder
	indent int
	ascii  bool
}

func (e *encoder) newline(depth int) {
	e.b.WriteByte('\n')
	e.b.WriteString(strings.Repeat(" ", e.indent*depth))
}

func (e *encoder) value(v any, depth int) {
	switch x := normalize(v).(type) {
	case nil:
		e.b.WriteString("null")
	case bool:
		if x {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case int64:
		e.b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		e.b.WriteString(floatJSON(x))
	case json.Number:
		e.b.WriteString(string(x))
	case string:
		e.str(x)
	case Raw:
		e.b.WriteString(string(x))
	case []any:
		e.list(x, depth)
	case Object:
		e.object(x, depth)
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
	if len(x) == 0 {
		e.b.WriteString("[]")
		return
	}
	e.b.WriteByte('[')
	for i, item := range x {
		e.sep(i, depth+1)
		e.value(item, depth+1)
	}
	e.close(depth, ']')
}

func (e *encoder) object(o Object, depth int) {
	if len(o) == 0 {
		e.b.WriteString("{}")
		return
	}
	e.b.WriteByte('{')
	for i, m := range o {
		e.sep(i, depth+1)
		e.str(m.Key)
		e.b.WriteString(": ")
		e.value(m.Value, depth+1)
	}
	e.close(depth, '}')
}

func (e *encoder) sep(i, depth int) {
	if i > 0 {
		e.b.WriteByte(',')
		if e.indent < 0 {
			e.b.WriteByte(' ')
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
	e.b.WriteByte(c)
}

func (e *encoder) str(s string) {
	b := e.b
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
		case r < 0x20 || (e.ascii && r == 0x7f):
			fmt.Fprintf(b, `\u%04x`, r)
		case e.ascii && r > 0x7f:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
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
