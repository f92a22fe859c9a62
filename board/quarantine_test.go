package board

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeBoard writes a fake board (db, -wal, -shm) whose content is tag.
func writeBoard(t *testing.T, db, tag string) {
	t.Helper()
	for _, suf := range []string{"", WALSuffix, SHMSuffix} {
		if err := os.WriteFile(db+suf, []byte(tag+suf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestQuarantineCopy: one set per distinct state of one database (the
// same state again reuses it, a second database with identical bytes
// gets its own), copies byte-identical, pruned per database to ten.
func TestQuarantineCopy(t *testing.T) {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "quarantine")
	a, b := filepath.Join(dir, "kanban.db"), filepath.Join(dir, "other.db")
	writeBoard(t, a, "state0")
	writeBoard(t, b, "state0")
	first, err := QuarantineCopy(a, qdir, "detected", t0)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := QuarantineCopy(a, qdir, "detected", t0.Add(time.Minute)); err != nil || again != first {
		t.Errorf("same state: %s (%v), want the set %s reused", again, err, first)
	}
	other, err := QuarantineCopy(b, qdir, "detected", t0)
	if err != nil || other == first || filepath.Base(other)[:9] != "other.db." {
		t.Errorf("other database: %s (%v)", other, err)
	}
	for _, suf := range []string{"", WALSuffix, SHMSuffix} {
		if got, _ := os.ReadFile(filepath.Join(first, "kanban.db"+suf)); string(got) != "state0"+suf {
			t.Errorf("copy of %s: %q", suf, got)
		}
	}
	for i := 1; i <= 12; i++ {
		writeBoard(t, a, "state"+string(rune('a'+i)))
		if _, err := QuarantineCopy(a, qdir, "detected", t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if sets, _ := Quarantine.List(qdir, a); len(sets) != QuarantineKeep {
		t.Errorf("kanban.db keeps %d sets, want %d", len(sets), QuarantineKeep)
	}
	if sets, _ := Quarantine.List(qdir, b); len(sets) != 1 {
		t.Errorf("other.db keeps %d sets, want its 1", len(sets))
	}
}

// TestFindQuarantine_strict: a set named after the state's hash but
// holding other bytes (or files of other sizes) is not reused.
func TestFindQuarantine_strict(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	writeBoard(t, db, "live")
	sum, err := ContentHash(db)
	if err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(dir, "quarantine")
	fake := mkset(t, qdir, filepath.Base(Quarantine.NewPath(qdir, db, t0, sum, "detected")))
	if err := os.WriteFile(filepath.Join(fake, "kanban.db"), []byte("LIVE"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := FindQuarantine(qdir, db, sum); got != "" {
		t.Errorf("reused %s, whose db differs", got)
	}
	legacy := mkset(t, qdir, "20250101T000000Z-"+sum[:8]+"-detected")
	for _, suf := range []string{"", WALSuffix} {
		if err := os.WriteFile(filepath.Join(legacy, "kanban.db"+suf), []byte("live"+suf), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := FindQuarantine(qdir, db, sum); got != legacy {
		t.Errorf("FindQuarantine = %q, want the matching legacy set %s", got, legacy)
	}
}
