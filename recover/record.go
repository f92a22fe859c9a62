package recover

import (
	"errors"
	"fmt"
	"math"
)

// Kind is the storage class of a Value.
type Kind uint8

// The storage classes of SQLite values.
const (
	Null Kind = iota
	Integer
	Float
	Text
	Blob
)

// Value is one decoded column. Text and Blob bytes alias the page image or
// an assembled payload; they are never modified.
type Value struct {
	Kind Kind
	Int  int64
	Real float64
	Raw  []byte
}

// Any returns v as nil, int64, float64, string or []byte.
func (v Value) Any() any {
	switch v.Kind {
	case Integer:
		return v.Int
	case Float:
		return v.Real
	case Text:
		return string(v.Raw)
	case Blob:
		return v.Raw
	}
	return nil
}

// errRecord is wrapped by every reason a payload is not a record.
var errRecord = errors.New("bad record")

// record is a decoded payload. When the payload was cut short (a broken
// overflow chain), Partial is set: the column at CutAt keeps the bytes that
// survive if it is text or a blob (a cut number becomes NULL), and the
// columns after it are NULL.
type record struct {
	Values  []Value
	Partial bool
	CutAt   int // first incomplete column; -1 when complete
}

// serialSize returns the body length of a serial type, or -1 for the
// reserved types 10 and 11.
func serialSize(t uint64) int64 {
	switch {
	case t <= 4:
		return [...]int64{0, 1, 2, 3, 4}[t]
	case t == 5:
		return 6
	case t == 6, t == 7:
		return 8
	case t == 8, t == 9:
		return 0
	case t == 10, t == 11:
		return -1
	}
	return int64((t - 12) / 2)
}

// decodeRecord parses payload as a record. complete says whether payload
// holds all the bytes the cell declared; if not, the header must still be
// whole, and columns that run past the end are truncated (see record).
func decodeRecord(payload []byte, complete bool) (record, error) {
	hlen, n := readVarint(payload)
	if n == 0 || hlen < uint64(n) || hlen > uint64(len(payload)) {
		return record{}, fmt.Errorf("header length %d of %d bytes: %w", hlen, len(payload), errRecord)
	}
	types := make([]uint64, 0, min(int(hlen), 64))
	for off := n; off < int(hlen); {
		t, m := readVarint(payload[off:hlen])
		if m == 0 {
			return record{}, fmt.Errorf("serial type cut at %d: %w", off, errRecord)
		}
		if serialSize(t) < 0 {
			return record{}, fmt.Errorf("reserved serial type %d: %w", t, errRecord)
		}
		types = append(types, t)
		off += m
	}
	rec := record{Values: make([]Value, len(types)), CutAt: -1}
	body := payload[hlen:]
	for i, t := range types {
		size := serialSize(t)
		if size > int64(len(body)) {
			if complete {
				return record{}, fmt.Errorf("column %d runs past the payload: %w", i, errRecord)
			}
			rec.Partial, rec.CutAt = true, i
			rec.Values[i] = truncatedValue(t, body)
			return rec, nil // later columns are unknown: left NULL
		}
		rec.Values[i] = decodeValue(t, body[:size])
		body = body[size:]
	}
	return rec, nil
}

// decodeValue decodes one column body of serial type t.
func decodeValue(t uint64, b []byte) Value {
	switch {
	case t == 0:
		return Value{}
	case t <= 6:
		return Value{Kind: Integer, Int: signedBE(b)}
	case t == 7:
		return Value{Kind: Float, Real: math.Float64frombits(uint64(signedBE(b)))}
	case t == 8:
		return Value{Kind: Integer, Int: 0}
	case t == 9:
		return Value{Kind: Integer, Int: 1}
	case t%2 == 0:
		return Value{Kind: Blob, Raw: b}
	}
	return Value{Kind: Text, Raw: b}
}

// truncatedValue keeps the surviving prefix of a text or blob column; a
// number that was cut cannot be trusted and reads as NULL.
func truncatedValue(t uint64, b []byte) Value {
	switch {
	case t >= 12 && t%2 == 0:
		return Value{Kind: Blob, Raw: b}
	case t >= 13:
		return Value{Kind: Text, Raw: b}
	}
	return Value{}
}

// signedBE reads a big-endian two's-complement integer of 1–8 bytes.
func signedBE(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	v := int64(int8(b[0]))
	for _, c := range b[1:] {
		v = v<<8 | int64(c)
	}
	return v
}
