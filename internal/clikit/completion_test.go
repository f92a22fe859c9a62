package clikit

import (
	"bytes"
	"strings"
	"testing"
)

type choices struct{ v string }

func (c *choices) String() string     { return c.v }
func (c *choices) Set(s string) error { c.v = s; return nil }
func (c *choices) Type() string       { return "string" }
func (c *choices) Choices() []string  { return []string{"a", "b"} }

// TestFlagsOf: value-taking, fixed choices and dynamic values are told
// apart from the flag set itself.
func TestFlagsOf(t *testing.T) {
	fs := NewFlagSet("x")
	fs.BoolP("json", "j", false, "JSON")
	fs.String("board", "", "board")
	fs.Var(&choices{}, "mode", "mode")
	fs.Int("n", 0, "count")
	got := map[string]CompFlag{}
	for _, f := range FlagsOf(fs, "board") {
		got[f.Name] = f
	}
	if f := got["json"]; f.Value || f.Short != "j" || f.Usage != "JSON" {
		t.Errorf("json: %+v", f)
	}
	if f := got["board"]; !f.Value || !f.Dynamic {
		t.Errorf("board: %+v", f)
	}
	if f := got["mode"]; !f.Value || strings.Join(f.Choices, ",") != "a,b" || f.Dynamic {
		t.Errorf("mode: %+v", f)
	}
	if f := got["n"]; !f.Value || f.Choices != nil {
		t.Errorf("n: %+v", f)
	}
}

// TestCompletion_Write: every shell gets a script naming the verbs and
// quoting descriptions safely; an unknown shell is an error.
func TestCompletion_Write(t *testing.T) {
	c := Completion{Prog: "tool-x", Words: "words",
		Verbs: []CompVerb{{Name: "go", Summary: "it's: quoted", Flags: []CompFlag{{Name: "fast", Usage: "say \"now\""}}}}}
	for _, sh := range Shells {
		var b bytes.Buffer
		if err := c.Write(&b, sh); err != nil {
			t.Fatalf("%s: %v", sh, err)
		}
		s := b.String()
		described := sh == "bash" || strings.Contains(s, `it'\''s: quoted`) // bash shows no descriptions
		if !strings.Contains(s, "tool_x") || !strings.Contains(s, "fast") || !described {
			t.Errorf("%s script:\n%s", sh, s)
		}
	}
	if err := c.Write(&bytes.Buffer{}, "tcsh"); err == nil {
		t.Error("tcsh: no error")
	}
}
