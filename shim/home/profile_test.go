package home

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestEnv_ActiveProfile: the profile name follows upstream's
// get_active_profile_name, which compares HERMES_HOME with the hermes
// root — for a Docker-style root that is HERMES_HOME itself.
func TestEnv_ActiveProfile(t *testing.T) {
	user := t.TempDir()
	opt := t.TempDir()
	for _, d := range []string{
		filepath.Join(user, ".hermes", "profiles", "alice"),
		filepath.Join(user, ".hermes", "elsewhere"),
		filepath.Join(opt, "profiles", "bob"),
		filepath.Join(opt, "profiles", "Bad_Name"),
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ home, want string }{
		{"", "default"},
		{filepath.Join(user, ".hermes"), "default"},
		{"~/.hermes", "default"},
		{filepath.Join(user, ".hermes", "profiles", "alice"), "alice"},
		{filepath.Join(user, ".hermes", "elsewhere"), "custom"},
		{opt, "default"},
		{opt + "/", "default"},
		{filepath.Join(opt, "profiles", "bob"), "bob"},
		{filepath.Join(opt, "profiles", "Bad_Name"), "custom"},
	} {
		env := Env{UserHome: user, Getenv: func(k string) string {
			if k == "HERMES_HOME" {
				return c.home
			}
			return ""
		}}
		if got := env.ActiveProfile(); got != c.want {
			t.Errorf("HERMES_HOME=%q: ActiveProfile = %q, want %q", c.home, got, c.want)
		}
		if got := env.Author(); got != c.want {
			t.Errorf("HERMES_HOME=%q: Author = %q, want %q", c.home, got, c.want)
		}
	}
}

// TestEnv_CheckDirs: a home variable naming a file (or a path under one)
// is refused by name; a missing directory is fine (it gets created).
func TestEnv_CheckDirs(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k, v, want string
	}{
		{"HERMES_HOME", dir, ""},
		{"HERMES_HOME", filepath.Join(dir, "not-yet"), ""},
		{"HERMES_HOME", "", ""},
		{"HERMES_HOME", file, "HERMES_HOME " + file + " is not a directory"},
		{"HERMES_HOME", filepath.Join(file, "sub"), "HERMES_HOME " + filepath.Join(file, "sub") + " is not a directory"},
		{"HERMES_KANBAN_HOME", file, "HERMES_KANBAN_HOME " + file + " is not a directory"},
	} {
		env := Env{UserHome: dir, Getenv: func(k string) string {
			if k == c.k {
				return c.v
			}
			return ""
		}}
		err := env.CheckDirs()
		var nd *NotDirError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s=%q: %v", c.k, c.v, err)
		case c.want != "" && (!errors.As(err, &nd) || err.Error() != c.want):
			t.Errorf("%s=%q: %v, want %q", c.k, c.v, err, c.want)
		}
	}
}
