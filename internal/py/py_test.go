package py

import "testing"

func TestRepr(t *testing.T) {
	cases := map[string]string{
		"abc":          `'abc'`,
		"it's":         `"it's"`,
		`both ' and "`: `'both \' and "'`,
		"tab\there\n":  `'tab\there\n'`,
		"\x01":         `'\x01'`,
		"héllo ✓":      `'héllo ✓'`,
		"\u200b":       `'\u200b'`,
		`back\slash`:   `'back\\slash'`,
	}
	for in, want := range cases {
		if got := Repr(in); got != want {
			t.Errorf("Repr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDumpsAndReprRoundTrip(t *testing.T) {
	src := `{"assignee": "bob", "parents": [], "n": null, "ok": true, "f": 1.5, "big": 12345678901234567890, "u": "é\u2028"}`
	v, err := Loads(src)
	if err != nil {
		t.Fatal(err)
	}
	if got := Compact(v); got != "{\"assignee\": \"bob\", \"parents\": [], \"n\": null, \"ok\": true, \"f\": 1.5, \"big\": 12345678901234567890, \"u\": \"é\u2028\"}" {
		t.Errorf("Compact = %s", got)
	}
	if got := Dumps(v, -1, true); got != `{"assignee": "bob", "parents": [], "n": null, "ok": true, "f": 1.5, "big": 12345678901234567890, "u": "\u00e9\u2028"}` {
		t.Errorf("ascii = %s", got)
	}
	if got := ReprValue(v); got != "{'assignee': 'bob', 'parents': [], 'n': None, 'ok': True, 'f': 1.5, 'big': 12345678901234567890, 'u': 'é\\u2028'}" {
		t.Errorf("ReprValue = %s", got)
	}
	want := "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": null\n  }\n}"
	if got := Dumps(Obj("a", []any{1, Object{}}, "b", Obj("c", nil)), 2, false); got != want {
		t.Errorf("indent:\n%s\nwant\n%s", got, want)
	}
}

func TestFloatRepr(t *testing.T) {
	cases := map[float64]string{1: "1.0", 0.1: "0.1", 1e16: "1e+16", 1e-05: "1e-05", 123456.789: "123456.789", -2.5: "-2.5", 1e15: "1000000000000000.0", 0.0001: "0.0001"}
	for in, want := range cases {
		if got := FloatRepr(in); got != want {
			t.Errorf("FloatRepr(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestLoadsRejects(t *testing.T) {
	for _, s := range []string{"", "{", `{"a":1} x`, "\xff"} {
		if _, err := Loads(s); err == nil {
			t.Errorf("Loads(%q) accepted", s)
		}
	}
}
