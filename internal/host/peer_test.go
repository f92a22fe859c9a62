package host

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestWALResetAffected(t *testing.T) {
	for v, want := range map[string]bool{
		"3.6.23": false, "3.7.0": true, "3.40.1": true, "3.44.6": false, "3.44.5": true,
		"3.50.7": false, "3.50.6": true, "3.51.2": true, "3.51.3": false, "3.54.1": false,
		"3.51.2.1": true, " 3.45.1\n": true, "": false, "3.x.1": false, "3.51": false,
	} {
		if got := WALResetAffected(v); got != want {
			t.Errorf("WALResetAffected(%q) = %v, want %v", v, got, want)
		}
	}
}

// A hermes launcher script names its interpreter on the shebang line,
// directly or through env; a binary (kanbanshim installed as hermes) has
// none.
func TestShebangPython(t *testing.T) {
	dir := t.TempDir()
	py3, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ script, want string }{
		{"#!/opt/hermes/venv/bin/python3.12\nimport sys\n", "/opt/hermes/venv/bin/python3.12"},
		{"#!/usr/bin/env -S python3\n", py3},
		{"#!/usr/bin/env no-such-interpreter-here\n", ""},
		{"#!/bin/sh\nexec python3 -m hermes\n", ""},
		{"\x7fELF\x02\x01\x01", ""},
	} {
		if got := shebangPython(write("hermes", c.script)); got != c.want {
			t.Errorf("shebangPython(%q) = %q, want %q", c.script, got, c.want)
		}
	}
	if got := shebangPython(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("shebangPython(missing) = %q", got)
	}
}

// KANBANSHIM_PEER_SQLITE: unset asks the interpreter; "none" is no peer;
// a version is judged like the interpreter's answer.
func TestPeerFromEnv(t *testing.T) {
	for v, want := range map[string]struct {
		ok bool
		p  PeerInfo
	}{
		"":         {},
		" none ":   {true, PeerInfo{Python: EnvPeerSQLite}},
		"3.40.1":   {true, PeerInfo{Python: EnvPeerSQLite, Version: "3.40.1", Affected: true}},
		"3.51.3\n": {true, PeerInfo{Python: EnvPeerSQLite, Version: "3.51.3"}},
	} {
		p, ok := PeerFromEnv(func(k string) string {
			if k == EnvPeerSQLite {
				return v
			}
			return ""
		})
		if ok != want.ok || p != want.p {
			t.Errorf("%q: %+v %v, want %+v %v", v, p, ok, want.p, want.ok)
		}
	}
}
