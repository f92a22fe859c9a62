package clikit

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// TestReadBuildVersion: the SQLite is the linked library's own answer;
// -ldflags -X values win over the build info, and a long revision is cut
// to 12 hex digits.
func TestReadBuildVersion(t *testing.T) {
	linked, err := sqlx.LinkedVersion()
	if err != nil || !regexp.MustCompile(`^3\.\d+\.\d+$`).MatchString(linked) {
		t.Fatalf("LinkedVersion = %q, %v", linked, err)
	}
	v := ReadBuildVersion()
	if v.SQLite != linked {
		t.Errorf("SQLite %q, want %q", v.SQLite, linked)
	}
	// A test binary carries no VCS stamp and no module version.
	if v.Version != "devel" || v.Commit != "unknown" || v.Modified {
		t.Errorf("unstamped build: %+v", v)
	}

	defer func(a, b, c string) { version, commit, modified = a, b, c }(version, commit, modified)
	version, commit, modified = "v1.2.0", "0123456789abcdef0123", "true"
	v = ReadBuildVersion()
	if want := "kanbanshim v1.2.0 (commit 0123456789ab, modified), SQLite " + linked; v.String() != want {
		t.Errorf("String = %q, want %q", v.String(), want)
	}
	modified = ""
	var b bytes.Buffer
	if err := PrintVersion(&b, "kanban-recover"); err != nil {
		t.Fatal(err)
	}
	if want := "kanban-recover kanbanshim v1.2.0 (commit 0123456789ab), SQLite " + linked + "\n"; b.String() != want {
		t.Errorf("PrintVersion = %q, want %q", b.String(), want)
	}
}
