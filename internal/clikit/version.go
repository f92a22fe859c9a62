package clikit

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// version, commit and modified ("true") override what the build info
// says. `make build` and `make dist` set commit and modified from git
// (and version from `git describe --tags` when there is a tag), since
// the toolchain's own VCS stamp is off when GOFLAGS has -buildvcs=false;
// a packager can pin them the same way:
//
//	go build -ldflags "-X github.com/kanbanshim/kanbanshim/internal/clikit.version=v1.2.0 \
//	    -X github.com/kanbanshim/kanbanshim/internal/clikit.commit=0123abcd" ./cmd/...
var version, commit, modified string

// BuildVersion is the release, commit and SQLite a binary was built with.
type BuildVersion struct {
	Version  string // module version ("v1.2.0", a pseudo-version) or "devel"
	Commit   string // VCS revision (12 hex digits) or "unknown"
	Modified bool   // built from a checkout with uncommitted changes
	SQLite   string // the linked SQLite's own answer, or "unknown"
}

// ReadBuildVersion gathers the version: -ldflags -X values first, then
// what the Go toolchain stamped (the main module's version, vcs.revision,
// vcs.modified), then the SQLite linked in, asked at run time.
func ReadBuildVersion() BuildVersion {
	v := BuildVersion{Version: "devel", Commit: "unknown", SQLite: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if m := bi.Main.Version; m != "" && m != "(devel)" {
			v.Version = m
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		v.Version = version
	}
	if commit != "" {
		v.Commit, v.Modified = commit, modified == "true"
	}
	if len(v.Commit) > 12 {
		v.Commit = v.Commit[:12]
	}
	if s, err := sqlx.LinkedVersion(); err == nil && s != "" {
		v.SQLite = s
	}
	return v
}

// String is the --version line after the program name:
// "kanbanshim v1.2.0 (commit 0123abcd4567), SQLite 3.54.1".
func (v BuildVersion) String() string {
	c := v.Commit
	if v.Modified {
		c += ", modified"
	}
	return fmt.Sprintf("kanbanshim %s (commit %s), SQLite %s", v.Version, c, v.SQLite)
}

// PrintVersion writes prog's --version line to w; the three binaries
// print it the same way and exit 0.
func PrintVersion(w io.Writer, prog string) error {
	_, err := fmt.Fprintf(w, "%s %s\n", prog, ReadBuildVersion())
	return err
}
