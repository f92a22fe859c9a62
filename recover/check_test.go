package recover_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestCheck_fixtures runs Check on every fixture: healthy boards (WAL and
// DELETE, and a board with deleted rows) must be Healthy; damaged ones must
// not be, and must name the expected problem kinds.
func TestCheck_fixtures(t *testing.T) {
	for _, c := range fixtures.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			m, err := fixtures.ReadManifest(fixtureDir, c.Name)
			if err != nil {
				t.Fatal(err)
			}
			src := copyFixture(t, m)
			before := hashBoard(t, src)
			rep, err := recover.Check(ctx(t), recover.CheckOptions{DBPath: src, Full: m.CheckFull})
			if err != nil {
				t.Fatal(err)
			}
			if after := hashBoard(t, src); after != before {
				t.Fatalf("source changed")
			}
			if rep.Healthy != m.Healthy {
				t.Errorf("Healthy = %v, want %v; problems %v", rep.Healthy, m.Healthy, rep.Problems)
			}
			for _, k := range m.CheckKinds {
				if !rep.Has(k) {
					t.Errorf("no %q problem; got %v", k, rep.Problems)
				}
			}
			if rep.IndexOnly != m.IndexOnly {
				t.Errorf("IndexOnly = %v, want %v; problems %v", rep.IndexOnly, m.IndexOnly, rep.Problems)
			}
			t.Logf("problems: %v; warnings: %v", rep.Problems, rep.Warnings)
		})
	}
}

func TestCheck_noBoard(t *testing.T) {
	_, err := recover.Check(ctx(t), recover.CheckOptions{DBPath: filepath.Join(t.TempDir(), "kanban.db")})
	if !errors.Is(err, recover.ErrNoBoard) {
		t.Fatalf("err = %v, want ErrNoBoard", err)
	}
}
