package py

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Repr is Python's repr() of a str: single quotes unless the text holds a
// single quote and no double quote, with Python's escapes.
func Repr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar:
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case !unicode.IsPrint(r):
			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// ReprValue renders a decoded JSON value as Python's repr() of the
// equivalent object: {'k': 'v', 'n': None, 'ok': True, 'l': [1, 2]}.
func ReprValue(v any) string {
	var b strings.Builder
	reprTo(&b, normalize(v))
	return b.String()
}

func reprTo(b *strings.Builder, v any) {
	switch x := normalize(v).(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(floatJSON(x))
	case json.Number:
		b.WriteString(string(x))
	case string:
		b.WriteString(Repr(x))
	case []any:
		b.WriteByte('[')
		for i, item := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			reprTo(b, item)
		}
		b.WriteByte(']')
	case Object:
		b.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(Repr(m.Key))
			b.WriteString(": ")
			reprTo(b, m.Value)
		}
		b.WriteByte('}')
	default:
		b.WriteString(Repr(fmt.Sprint(x)))
	}
}
