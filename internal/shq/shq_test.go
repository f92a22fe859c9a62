package shq

import (
	"os/exec"
	"strings"
	"testing"
)

// TestQuote_shell runs each quoted word through a real POSIX shell and
// checks that it comes back as the same single argument.
func TestQuote_shell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words := []string{"plain", "/tmp/a b/kanban.db", "it's", `"dq"`, "$HOME", "`id`", "a\\b", "", "tab\there",
		"new\nline", "*?[x]", "~user", "semi;colon", "uni—code", "'", "--board"}
	for _, w := range words {
		out, err := exec.Command(sh, "-c", `printf '%s' `+Quote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("%q quoted as %s came back as %q (%v)", w, Quote(w), out, err)
		}
	}
	got := Join("kanban-recover", "auto", "--db", "/tmp/a b/kanban.db")
	if want := "kanban-recover auto --db '/tmp/a b/kanban.db'"; got != want {
		t.Fatalf("Join = %s, want %s", got, want)
	}
	if Quote("default") != "default" || !strings.HasPrefix(Quote("a b"), "'") {
		t.Fatal("safe words stay bare, others are quoted")
	}
}
