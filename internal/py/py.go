// Package py renders values the way upstream's Python code does, because
// kanbanshim must be byte-compatible with it: json.dumps (compact and
// indented, ensure_ascii on or off), repr() of dicts, lists and strings as
// `kanban show` prints event payloads, and JSON objects whose key order
// survives a round trip.
package py

// Member is one key/value pair of an ordered JSON object.
type Member struct {
	Key   string
	Value any
}

// Object is a JSON object that keeps its key order, like a Python dict.
type Object []Member

// Obj builds an Object from alternating keys and values:
// Obj("a", 1, "b", nil). Values may be nil, bool, int, int64, float64,
// string, *string, *int64, []string, []any, Object or Raw.
func Obj(kv ...any) Object {
	o := make(Object, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, Member{Key: kv[i].(string), Value: kv[i+1]})
	}
	return o
}

// Get returns the value of key and whether it is present.
func (o Object) Get(key string) (any, bool) {
	for _, m := range o {
		if m.Key == key {
			return m.Value, true
		}
	}
	return nil, false
}

// Set replaces key's value or appends it, keeping order like a dict.
func (o Object) Set(key string, v any) Object {
	for i, m := range o {
		if m.Key == key {
			o[i].Value = v
			return o
		}
	}
	return append(o, Member{Key: key, Value: v})
}

// String returns the value of key when it is a string.
func (o Object) String(key string) (string, bool) {
	v, ok := o.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// Raw is pre-encoded JSON inserted verbatim by Dumps.
type Raw string

// normalize turns pointer and typed-slice conveniences into plain values.
func normalize(v any) any {
	switch x := v.(type) {
	case *string:
		if x == nil {
			return nil
		}
		return *x
	case *int64:
		if x == nil {
			return nil
		}
		return *x
	case *int:
		if x == nil {
			return nil
		}
		return int64(*x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case []string:
		if x == nil {
			return []any{}
		}
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []int64:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	return v
}

// Truthy is Python truthiness of a decoded JSON value: None, False, 0,
// "" and empty lists and objects are false, everything else true.
func Truthy(v any) bool {
	switch x := normalize(v).(type) {
	case nil:
		return false
	case Object:
		return len(x) > 0
	case []any:
		return len(x) > 0
	case string:
		return x != ""
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	return true
}
