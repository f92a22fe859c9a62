package home

import (
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
