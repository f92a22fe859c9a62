package clikit

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spf13/pflag"
)

type verb struct {
	name    string
	aliases []string
	force   *bool
}

func (v *verb) Name() string      { return v.name }
func (v *verb) Aliases() []string { return v.aliases }

var table = Table[*verb]{{name: "status"}, {name: "list", aliases: []string{"ls"}}, {name: "apply"}}

func TestTable_Lookup(t *testing.T) {
	for name, want := range map[string]string{"status": "status", "ls": "list", "list": "list", "nope": "", "": ""} {
		v, ok := table.Lookup(name)
		if got := ""; ok {
			got = v.name
			if got != want {
				t.Errorf("Lookup(%q) = %q, want %q", name, got, want)
			}
		} else if want != "" {
			t.Errorf("Lookup(%q) found nothing, want %q", name, want)
		}
	}
}

func TestTable_Choice(t *testing.T) {
	for _, c := range []struct {
		t    Table[*verb]
		want string
	}{
		{table, "status, list or apply"}, {table[:2], "status or list"}, {table[:1], "status"}, {nil, ""},
	} {
		if got := c.t.Choice(); got != c.want {
			t.Errorf("Choice = %q, want %q", got, c.want)
		}
	}
}

// TestParseLine: options before and after the verb, help in each of its
// spellings, and the usage errors' messages.
func TestParseLine(t *testing.T) {
	parse := func(args ...string) (Line[*verb], string, error) {
		var board string
		l, err := ParseLine("tool", table, args, func(fs *pflag.FlagSet) {
			fs.StringVar(&board, "board", "", "")
		}, func(v *verb, fs *pflag.FlagSet) {
			fs.StringVar(&board, "board", board, "") // keeps a value given before the verb
			v.force = fs.Bool("force", false, "")
		})
		return l, board, err
	}
	l, board, err := parse("--board", "a", "apply", "--force", "x")
	if err != nil || l.Verb.name != "apply" || l.Name != "apply" || !*l.Verb.force || board != "a" || len(l.Args) != 1 || l.Args[0] != "x" {
		t.Fatalf("parse: %+v board %q err %v", l, board, err)
	}
	if l, board, err = parse("ls", "--board=b"); err != nil || l.Verb.name != "list" || l.Name != "ls" || board != "b" {
		t.Fatalf("alias: %+v board %q err %v", l, board, err)
	}
	for _, args := range [][]string{{"-h"}, {"--help", "apply"}, {"help"}, {"apply", "--help"}} {
		if l, _, err := parse(args...); err != nil || !l.Help {
			t.Errorf("%q: help %v, err %v", args, l.Help, err)
		}
	}
	for _, args := range [][]string{{"--version"}, {"--board", "a", "--version", "apply"}} {
		if l, _, err := parse(args...); err != nil || !l.Version || l.Verb != nil {
			t.Errorf("%q: version %v, verb %v, err %v", args, l.Version, l.Verb, err)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"apply", "--version"}, "apply: unknown flag: --version"},
		{nil, "a verb is required (status, list or apply)"},
		{[]string{"frob"}, "unknown verb 'frob' (choose status, list or apply)"},
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"apply", "--nope"}, "apply: unknown flag: --nope"},
		{[]string{"--force", "apply"}, "unknown flag: --force"},
	} {
		_, _, err := parse(c.args...)
		var ue *UsageError
		if !errors.As(err, &ue) || ue.Msg != c.msg {
			t.Errorf("%q: %v, want usage error %q", c.args, err, c.msg)
		}
	}
}

// TestPrintResults: --all prints an array ([] for none), else the one
// object or nothing; never HTML-escaped.
func TestPrintResults(t *testing.T) {
	for _, c := range []struct {
		objs []any
		all  bool
		want string
	}{
		{nil, true, "[]\n"},
		{[]any{map[string]string{"a": "<b>"}}, false, "{\n  \"a\": \"<b>\"\n}\n"},
		{[]any{1, 2}, true, "[\n  1,\n  2\n]\n"},
		{[]any{1, 2}, false, ""},
		{nil, false, ""},
	} {
		var b bytes.Buffer
		if err := PrintResults(&b, c.objs, c.all); err != nil || b.String() != c.want {
			t.Errorf("PrintResults(%v, %v) = %q, %v; want %q", c.objs, c.all, b.String(), err, c.want)
		}
	}
}
