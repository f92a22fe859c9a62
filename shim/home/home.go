// Package home resolves where a hermes board lives, exactly as upstream
// hermes does: the kanban root (shared by every profile), the active board,
// its database, workspace, log and attachment directories, board.json
// metadata and the profile identity used as the default author.
//
// Everything reads the environment through an Env value, never os.Getenv
// directly, so tests and the `hermes -p NAME` passthrough can change it.
package home

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Env is the process environment and user home the resolution reads.
type Env struct {
	// Getenv returns an environment variable ("" when unset).
	Getenv func(string) string
	// UserHome is the user's home directory, for "~" and ~/.hermes.
	UserHome string
}

// OSEnv returns the real process environment.
func OSEnv() Env {
	h, _ := os.UserHomeDir()
	return Env{Getenv: os.Getenv, UserHome: h}
}

// With returns a copy of e with the given variables overridden.
func (e Env) With(kv map[string]string) Env {
	base := e.Getenv
	return Env{UserHome: e.UserHome, Getenv: func(k string) string {
		if v, ok := kv[k]; ok {
			return v
		}
		return base(k)
	}}
}

func (e Env) get(k string) string { return strings.TrimSpace(e.Getenv(k)) }

// ExpandUser expands a leading "~" like Python's os.path.expanduser.
func (e Env) ExpandUser(p string) string {
	if p == "~" {
		return e.UserHome
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(e.UserHome, p[2:])
	}
	return p
}

// DefaultHome is ~/.hermes plus HERMES_DATA_DIR_SUFFIX.
func (e Env) DefaultHome() string {
	return filepath.Join(e.UserHome, ".hermes"+e.Getenv("HERMES_DATA_DIR_SUFFIX"))
}

// HermesHome is the active profile's home: HERMES_HOME or ~/.hermes.
func (e Env) HermesHome() string {
	if h := e.get("HERMES_HOME"); h != "" {
		return e.ExpandUser(h)
	}
	return e.DefaultHome()
}

// HermesRoot is upstream's get_default_hermes_root: the installation root
// that holds every profile, whatever profile HERMES_HOME points at.
func (e Env) HermesRoot() string {
	h := e.get("HERMES_HOME")
	def := e.DefaultHome()
	if h == "" {
		return def
	}
	h = e.ExpandUser(h)
	if within(resolve(h), resolve(def)) {
		return def
	}
	if filepath.Base(filepath.Dir(h)) == "profiles" {
		return filepath.Dir(filepath.Dir(h))
	}
	return h
}

// KanbanRoot is where boards live: HERMES_KANBAN_HOME, else the hermes root.
// Deliberately shared by all profiles, so the dispatcher and its workers
// (which run under profile homes) see one board.
func (e Env) KanbanRoot() string {
	if o := e.get("HERMES_KANBAN_HOME"); o != "" {
		return e.ExpandUser(o)
	}
	return e.HermesRoot()
}

var profileIDRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`) })

// ActiveProfile names the profile HERMES_HOME points at, as upstream's
// get_active_profile_name does: "default" for the hermes root (which is
// HERMES_HOME itself for a Docker-style root such as /opt/data, not only
// ~/.hermes), the directory name under <root>/profiles, else "custom"
// (a home somewhere inside ~/.hermes that is neither).
func (e Env) ActiveProfile() string {
	h := resolve(e.HermesHome())
	if h == resolve(e.HermesRoot()) {
		return "default"
	}
	profiles := resolve(filepath.Join(e.HermesRoot(), "profiles"))
	if filepath.Dir(h) == profiles && profileIDRe().MatchString(filepath.Base(h)) {
		return filepath.Base(h)
	}
	return "custom"
}

// Author is the default author/actor for CLI writes (upstream's
// _profile_author): HERMES_PROFILE_NAME or HERMES_PROFILE when a launcher
// pinned one, else the active profile's name.
func (e Env) Author() string {
	for _, k := range []string{"HERMES_PROFILE_NAME", "HERMES_PROFILE"} {
		if v := e.get(k); v != "" {
			return v
		}
	}
	if p := e.ActiveProfile(); p != "" {
		return p
	}
	return "user"
}

// ProfileHome is the home directory of a named profile.
func (e Env) ProfileHome(name string) string {
	if name == "default" || name == "" {
		return e.HermesRoot()
	}
	return filepath.Join(e.HermesRoot(), "profiles", name)
}

// ProfilesOnDisk lists profiles with a config.yaml, plus "default" when
// the root exists, sorted.
func (e Env) ProfilesOnDisk() []string {
	root := e.HermesRoot()
	var names []string
	if st, err := os.Stat(root); err == nil && st.IsDir() {
		names = append(names, "default")
	}
	ents, _ := os.ReadDir(filepath.Join(root, "profiles"))
	for _, de := range ents {
		if !de.IsDir() || de.Name() == "default" {
			continue
		}
		if st, err := os.Stat(filepath.Join(root, "profiles", de.Name(), "config.yaml")); err == nil && st.Mode().IsRegular() {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	return names
}

// ProfileExists reports whether a profile of that name is on disk.
func (e Env) ProfileExists(name string) bool {
	for _, p := range e.ProfilesOnDisk() {
		if p == name {
			return true
		}
	}
	return false
}

// NormalizeProfile lowercases and trims a profile name, as upstream does
// for assignees.
func NormalizeProfile(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func resolve(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	return abs
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
