// Package badinput holds what the bad-input suites of kanban,
// kanban-recover and kanban-migrate share: the malformed values every verb
// is fed, the rule a failing command's output must follow (one clear line
// on stderr, a documented exit code), board snapshots that prove a failed
// command left the board byte-identical, and the argument vectors the
// fuzz targets build from raw bytes.
//
// It is imported by tests only; nothing in the binaries depends on it.
package badinput

import "strings"

// Value is one malformed input with a name for the subtest.
type Value struct {
	Name string
	V    string
}

// HugeNumber does not fit in any integer type (and is 1e22 as a float).
const HugeNumber = "9999999999999999999999"

// MaxInt64 fits, but any arithmetic on it overflows.
const MaxInt64 = "9223372036854775807"

// NonUTF8 is two bytes that are not UTF-8 ($'\xff\xfe').
const NonUTF8 = "\xff\xfe"

// Big returns an n-byte string of 'a' behind prefix.
func Big(prefix string, n int) string { return prefix + strings.Repeat("a", n-len(prefix)) }

// Escape is an id that climbs out of the directory it is joined to: from
// <HERMES_HOME>/kanban/logs (or attachments, workspaces) up to the parent
// of HERMES_HOME, which the tests own. No file named after it may appear
// outside the board's own directories.
const Escape = "../../../escape"

// IDs are malformed task ids: none of them names a task.
func IDs() []Value {
	return []Value{
		{"empty", ""},
		{"prefix-only", "t_"},
		{"sql", "'; DROP TABLE tasks;--"},
		{"100KB", Big("t_", 100<<10)},
		{"non-utf8", NonUTF8},
		{"newline", "t_1\nt_2"},
		{"nul-free-control", "t_\x01\x1b[31m"},
		{"percent", "t_%s%d%n"},
		{"path", Escape},
	}
}

// Ints are values an integer flag must reject with a usage error.
func Ints() []Value {
	return []Value{
		{"word", "abc"},
		{"empty", ""},
		{"huge", HugeNumber},
		{"huge-negative", "-" + HugeNumber},
		{"fraction", "1.5"},
		{"hex", "0x10"},
		{"non-utf8", NonUTF8},
	}
}

// Floats are values a float flag must reject with a usage error.
func Floats() []Value {
	return []Value{
		{"word", "abc"},
		{"empty", ""},
		{"overflow", "1e400"},
		{"non-utf8", NonUTF8},
	}
}

// Durations are malformed --max-runtime values.
func Durations() []Value {
	return []Value{
		{"bad-unit", "5x"},
		{"negative", "-3m"},
		{"overflow", "1e400s"},
		{"huge-days", "1e15d"},
		{"nan", "nans"},
		{"inf", "infm"},
		{"unit-only", "s"},
		{"huge-int", HugeNumber},
		{"non-utf8", NonUTF8},
	}
}

// Metadata are --metadata values that are not a JSON object.
func Metadata() []Value {
	return []Value{
		{"not-json", "not json"},
		{"array", "[1,2,3]"},
		{"string", `"text"`},
		{"null", "null"},
		{"number", "42"},
		{"truncated", `{"a":`},
		{"trailing", `{"a":1}{"b":2}`},
		{"deep-array", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
		{"deep-object", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)},
		{"non-utf8", "{\"a\":\"\xff\xfe\"}"},
		{"non-utf8-key", "{\"\xff\":1}"},
	}
}

// Slug is a malformed --board value and how it must fail.
type Slug struct {
	Value
	// Missing: the slug is valid but names no board (exit 1), rather
	// than invalid (exit 2).
	Missing bool
}

// Slugs are --board values that must be refused.
func Slugs() []Slug {
	return []Slug{
		{Value{"empty", ""}, false},
		{Value{"spaces", "my board"}, false},
		{Value{"dotdot", "../x"}, false},
		{Value{"slash", "a/b"}, false},
		{Value{"65-chars", Big("b", 65)}, false},
		{Value{"dash-first", "-x"}, false},
		{Value{"underscore-first", "_x"}, false},
		{Value{"non-utf8", NonUTF8}, false},
		{Value{"newline", "a\nb"}, false},
		// Upstream lowercases before validating: a valid slug of a
		// board that was never created.
		{Value{"uppercase", "NOPE"}, true},
	}
}
