package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC)

// mkset makes a quarantine set directory holding the named files.
func mkset(t *testing.T, dir, name string, files ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(p, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func names(sets []Set) []string {
	var out []string
	for _, s := range sets {
		out = append(out, filepath.Base(s.Path))
	}
	return out
}

func TestKind_NewPathAndParse(t *testing.T) {
	dir := t.TempDir()
	sum := "1a2b3c4d" + strings.Repeat("0", 56)
	for _, tc := range []struct {
		k    Kind
		tag  string
		want string
	}{
		{Quarantine, "", "kanban.db.20261130T101500Z-1a2b3c4d"},
		{Quarantine, "detected", "kanban.db.20261130T101500Z-1a2b3c4d-detected"},
		{Backup, "", "kanban.db.pre-migrate-20261130T101500Z.db"},
		{Snapshot, "", "kanban.db.snapshot-20261130T101500Z.db"},
	} {
		p := tc.k.NewPath(dir, "/x/kanban.db", t0, sum, tc.tag)
		if filepath.Base(p) != tc.want {
			t.Errorf("%s: NewPath = %s, want %s", tc.k.Name, filepath.Base(p), tc.want)
		}
		s, ok := tc.k.parse(dir, filepath.Base(p))
		if !ok || s.DB != "kanban.db" || !s.When.Equal(t0) || s.Tag != tc.tag || s.Seq != 1 || s.Legacy {
			t.Errorf("%s: parse(%s) = %+v, %v", tc.k.Name, filepath.Base(p), s, ok)
		}
		if tc.k.hashed && s.Hash8 != "1a2b3c4d" {
			t.Errorf("hash8 = %q", s.Hash8)
		}
	}
	// A name taken in the same second gets -2, then -3.
	first := Backup.NewPath(dir, "kanban.db", t0, "", "")
	if err := os.WriteFile(first, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	second := Backup.NewPath(dir, "kanban.db", t0, "", "")
	if filepath.Base(second) != "kanban.db.pre-migrate-20261130T101500Z-2.db" {
		t.Errorf("same-second name %s", filepath.Base(second))
	}
	if s, ok := Backup.parse(dir, filepath.Base(second)); !ok || s.Seq != 2 {
		t.Errorf("parse(%s) = %+v", filepath.Base(second), s)
	}
	mkset(t, dir, filepath.Base(Quarantine.NewPath(dir, "a.db", t0, sum, "detected")))
	next := filepath.Base(Quarantine.NewPath(dir, "a.db", t0, sum, "detected"))
	if s, _ := Quarantine.parse(dir, next); next != "a.db.20261130T101500Z-1a2b3c4d-detected-2" || s.Seq != 2 || s.Tag != "detected" {
		t.Errorf("the second set of a second: %s %+v", next, s)
	}
	for _, bad := range []string{"notes.txt", "kanban.db.20261399T101500Z-1a2b3c4d", "kanban.db.pre-migrate-20261130T101500Z.db.tmp", "20261130T101500Z-zzzz"} {
		if _, ok := Quarantine.parse(dir, bad); ok {
			t.Errorf("%s parsed as a quarantine set", bad)
		}
		if _, ok := Backup.parse(dir, bad); ok {
			t.Errorf("%s parsed as a backup", bad)
		}
	}
}

// TestQuarantine_perDatabase: three databases share one quarantine
// directory (boards given with --db side by side). Each is pruned to its
// own keep, counting its legacy sets (attributed by the db file inside);
// the newest set holding a database's original survives however old it
// is; sets that cannot be attributed and other databases' sets are never
// touched.
func TestQuarantine_perDatabase(t *testing.T) {
	dir := t.TempDir()
	dbs := []string{"kanban.db", "other.db", "third.db"}
	for i, db := range dbs {
		// Two legacy sets each: an untagged one (a swap's original, the
		// oldest set of all) and a detection snapshot.
		mkset(t, dir, "2025010"+string(rune('1'+i))+"T000000Z-0000000"+string(rune('1'+i)), db, db+"-wal")
		mkset(t, dir, "2025020"+string(rune('1'+i))+"T000000Z-0000001"+string(rune('1'+i))+"-detected", db)
		for d := range 6 {
			name := filepath.Base(Quarantine.NewPath(dir, db, t0.Add(time.Duration(d)*time.Hour), "abcdef12"+strings.Repeat("0", 56), "detected"))
			mkset(t, dir, name, db)
		}
	}
	unattributed := mkset(t, dir, "20240101T000000Z-deadbeef") // empty: nobody's
	mixed := mkset(t, dir, "20240102T000000Z-deadbeef-detected", "kanban.db", "other.db")
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}

	all, err := Quarantine.ListAll(dir)
	if err != nil || len(all) != 3*8+2 {
		t.Fatalf("ListAll: %d sets (%v)", len(all), err)
	}
	keep := map[string]int{"kanban.db": 3, "other.db": 5, "third.db": 8}
	for _, db := range dbs {
		sets, err := Quarantine.List(dir, filepath.Join("/somewhere", db))
		if err != nil || len(sets) != 8 {
			t.Fatalf("%s: %d sets (%v)", db, len(sets), err)
		}
		if !sets[0].Legacy || !sets[0].Original || sets[1].Original || sets[2].Legacy {
			t.Errorf("%s: legacy/original flags wrong: %+v", db, sets[:3])
		}
		removed, err := Quarantine.Prune(OSFS{}, dir, filepath.Join("/somewhere", db), keep[db])
		if err != nil {
			t.Fatal(err)
		}
		if want := 8 - keep[db]; len(removed) != want {
			t.Errorf("%s: pruned %d, want %d", db, len(removed), want)
		}
		left, _ := Quarantine.List(dir, db)
		if len(left) != keep[db] {
			t.Errorf("%s: %d sets left, want %d: %v", db, len(left), keep[db], names(left))
		}
		if !left[0].Original {
			t.Errorf("%s: the set holding the original was pruned: %v", db, names(left))
		}
		for _, r := range removed {
			if !strings.Contains(r, db) && !strings.Contains(r, "2025020") {
				t.Errorf("%s: pruned %s, not its own", db, r)
			}
		}
	}
	for _, p := range []string{unattributed, mixed, filepath.Join(dir, "notes.txt")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was pruned: %v", p, err)
		}
	}
	// The other databases were left alone by each prune.
	for _, db := range dbs {
		left, _ := Quarantine.List(dir, db)
		if len(left) != keep[db] {
			t.Errorf("after all prunes %s has %d sets, want %d", db, len(left), keep[db])
		}
	}
}

// TestQuarantine_newestOriginalKept: the newest set marked by a swap
// stays when everything else of the database is pruned, an older marked
// set does not, and protect keeps the set a caller just used.
func TestQuarantine_newestOriginalKept(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for i := range 5 {
		p := mkset(t, dir, filepath.Base(Quarantine.NewPath(dir, "kanban.db", t0.Add(time.Duration(i)*time.Minute), "abcdef12"+strings.Repeat("0", 56), "")), "kanban.db")
		paths = append(paths, p)
	}
	for _, i := range []int{0, 1} {
		if err := markOriginal(OSFS{}, paths[i]); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Quarantine.Prune(OSFS{}, dir, "kanban.db", 1, paths[4])
	if err != nil {
		t.Fatal(err)
	}
	left, _ := Quarantine.List(dir, "kanban.db")
	if got := names(left); len(got) != 2 || left[0].Path != paths[1] || left[1].Path != paths[4] {
		t.Errorf("left %v (removed %v), want the newest original and the protected set", got, removed)
	}
}

// TestBackup_legacyKept: backups named by an earlier version are listed
// (unattributed) and never pruned; a database's own are pruned to keep.
func TestBackup_legacyKept(t *testing.T) {
	dir := t.TempDir()
	legacy := []string{"pre-migrate-20250101T000000Z.db", "pre-migrate-20250101T000000Z-2.db"}
	for _, n := range legacy {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 4 {
		for _, db := range []string{"kanban.db", "other.db"} {
			if err := os.WriteFile(Backup.NewPath(dir, db, t0.Add(time.Duration(i)*time.Second), "", ""), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	all, _ := Backup.ListAll(dir)
	if len(all) != 10 || !all[0].Legacy || all[0].DB != "" || all[1].Seq != 2 {
		t.Fatalf("ListAll = %+v", all)
	}
	if _, err := Backup.Prune(OSFS{}, dir, "kanban.db", 1); err != nil {
		t.Fatal(err)
	}
	all, _ = Backup.ListAll(dir)
	if got := names(all); len(got) != 7 || got[0] != legacy[0] || got[1] != legacy[1] {
		t.Errorf("after pruning kanban.db to 1: %v", got)
	}
	if mine, _ := Backup.List(dir, "kanban.db"); len(mine) != 1 || !mine[0].When.Equal(t0.Add(3*time.Second)) {
		t.Errorf("kanban.db kept %v", names(mine))
	}
}

func TestKind_RemoveTemps(t *testing.T) {
	dir := t.TempDir()
	mine := TempPath(Backup.NewPath(dir, "kanban.db", t0, "", ""))
	theirs := TempPath(Backup.NewPath(dir, "other.db", t0, "", ""))
	for _, p := range []string{mine, theirs} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	Backup.RemoveTemps(dir, "/x/kanban.db")
	if _, err := os.Stat(mine); !os.IsNotExist(err) {
		t.Errorf("own temp left: %v", err)
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("another database's temp removed: %v", err)
	}
}
