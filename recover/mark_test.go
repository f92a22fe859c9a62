package recover_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/recover"
)

// TestCheckAndMark_fixtures: on every fixture, CheckAndMark marks exactly
// the boards whose file is damaged in a way that hides or refuses data
// (not a torn -wal tail, which SQLite rightly ignores), leaves the board's
// own files byte-identical, and a second full check of a sound board
// finds nothing to clear.
func TestCheckAndMark_fixtures(t *testing.T) {
	for _, c := range fixtures.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			m, err := fixtures.ReadManifest(fixtureDir, c.Name)
			if err != nil {
				t.Fatal(err)
			}
			src := copyFixture(t, m)
			before := hashBoard(t, src)
			rep, err := recover.CheckAndMark(ctx(t), recover.CheckOptions{DBPath: src, Full: m.CheckFull})
			if err != nil {
				t.Fatal(err)
			}
			if after := hashBoard(t, src); after != before {
				t.Fatal("the board changed")
			}
			torn := rep.Has(recover.KindWALTorn) && len(rep.Problems) == 1
			wantMarked := !m.Healthy && !torn
			d, _ := board.ReadDamage(src)
			if (d != nil) != wantMarked || (rep.Marker != nil) != wantMarked {
				t.Fatalf("marked %v (report %v), want %v; problems %v", d != nil, rep.Marker != nil, wantMarked, rep.Problems)
			}
			if d != nil && (!strings.HasPrefix(d.Seen, "kanban-recover check: ") || d.PID != os.Getpid()) {
				t.Errorf("marker %+v", d)
			}
			if rep.MarkerCleared != nil {
				t.Errorf("cleared %+v on a first check", rep.MarkerCleared)
			}
		})
	}
}

// A marker on a sound board is stale: a check without --full checks in
// full anyway and clears it; the marker of a damaged board stays.
func TestCheckAndMark_staleMarker(t *testing.T) {
	for name, healthy := range map[string]bool{"clean-wal": true, "leaf-zeroed": false} {
		t.Run(name, func(t *testing.T) {
			m, err := fixtures.ReadManifest(fixtureDir, name)
			if err != nil {
				t.Fatal(err)
			}
			src := copyFixture(t, m)
			seen, _, err := board.RecordDamage(src, board.Damage{Seen: "kanban list: database disk image is malformed"})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := recover.CheckAndMark(ctx(t), recover.CheckOptions{DBPath: src})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Mode != "integrity_check" {
				t.Errorf("mode %s, want integrity_check for a marked board", rep.Mode)
			}
			d, _ := board.ReadDamage(src)
			switch {
			case healthy && (d != nil || rep.MarkerCleared == nil || rep.MarkerCleared.Seen != seen.Seen || rep.Marker != nil):
				t.Errorf("sound board: marker %+v, report cleared %+v marker %+v", d, rep.MarkerCleared, rep.Marker)
			case !healthy && (d == nil || d.Seen != seen.Seen || rep.MarkerCleared != nil):
				t.Errorf("damaged board: marker %+v (first detection must be kept), cleared %+v", d, rep.MarkerCleared)
			}
		})
	}
}
