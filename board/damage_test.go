package board

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDamage_recordReadClear: no marker reads as none; the first record
// writes every field (UTC, to the second; what was seen on one line); a
// second record keeps the first detection and does not touch the file;
// clear removes it.
func TestDamage_recordReadClear(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	if d, err := ReadDamage(db); d != nil || err != nil {
		t.Fatalf("no marker: %+v, %v", d, err)
	}
	when := time.Date(2026, 11, 30, 11, 15, 0, 500, time.FixedZone("CET", 3600))
	got, wrote, err := RecordDamage(db, Damage{When: when, Seen: "database disk image is malformed\n(page 4)", Snapshot: "/q/set"})
	if err != nil || !wrote {
		t.Fatalf("record: wrote %v, %v", wrote, err)
	}
	host, _ := os.Hostname()
	if !got.When.Equal(when.Truncate(time.Second)) || got.PID != os.Getpid() || got.Host != host || len(got.Command) == 0 ||
		got.Seen != "database disk image is malformed (page 4)" {
		t.Errorf("recorded %+v", got)
	}
	raw, err := os.ReadFile(DamagedPath(db))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["when"] != "2026-11-30T10:15:00Z" || fields["snapshot"] != "/q/set" || fields["seen"] == nil || fields["command"] == nil || fields["host"] == nil {
		t.Errorf("marker JSON %s", raw)
	}
	before, _ := os.Stat(DamagedPath(db))

	time.Sleep(10 * time.Millisecond)
	again, wrote, err := RecordDamage(db, Damage{Seen: "something else"})
	if err != nil || wrote || again.Seen != got.Seen {
		t.Errorf("second record: wrote %v, %+v, %v; want the first detection kept", wrote, again, err)
	}
	after, _ := os.Stat(DamagedPath(db))
	if !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
		t.Error("the marker was rewritten")
	}
	if d, err := ReadDamage(db); err != nil || d == nil || d.Seen != got.Seen || d.Snapshot != "/q/set" {
		t.Errorf("read: %+v, %v", d, err)
	}

	if err := ClearDamage(db); err != nil {
		t.Fatal(err)
	}
	if d, err := ReadDamage(db); d != nil || err != nil {
		t.Errorf("after clear: %+v, %v", d, err)
	}
	if err := ClearDamage(db); err != nil {
		t.Errorf("clearing no marker: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(db)); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestDamage_garbled: a marker that is not JSON, or cannot be read,
// still says the board is damaged, and recording keeps it.
func TestDamage_garbled(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	if err := os.WriteFile(DamagedPath(db), []byte("{torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDamage(db)
	if d == nil || !errors.Is(err, ErrDamageUnreadable) {
		t.Fatalf("garbled marker: %+v, %v; want damaged and ErrDamageUnreadable", d, err)
	}
	if _, wrote, err := RecordDamage(db, Damage{Seen: "x"}); wrote || err != nil {
		t.Errorf("record over a garbled marker: wrote %v, %v", wrote, err)
	}
	if raw, _ := os.ReadFile(DamagedPath(db)); string(raw) != "{torn" {
		t.Errorf("the garbled marker was replaced: %q", raw)
	}
	// A directory at the marker's name cannot be read either.
	db2 := filepath.Join(t.TempDir(), "kanban.db")
	if err := os.Mkdir(DamagedPath(db2), 0o755); err != nil {
		t.Fatal(err)
	}
	if d, err := ReadDamage(db2); d == nil || err == nil {
		t.Errorf("unreadable marker: %+v, %v", d, err)
	}
}

// TestDamage_concurrent: processes detecting damage at once leave one
// marker, and every one of them reports the same first detection.
func TestDamage_concurrent(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrote, seen := 0, map[string]bool{}
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, w, err := RecordDamage(db, Damage{Seen: "writer " + string(rune('a'+i))})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if w {
				wrote++
			}
			seen[d.Seen] = true
		}()
	}
	wg.Wait()
	if wrote != 1 || len(seen) != 1 {
		t.Errorf("%d writers wrote, %d different detections reported", wrote, len(seen))
	}
	ents, _ := os.ReadDir(filepath.Dir(db))
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}

// TestDamage_readableByPython: the marker is plain JSON any tool reads.
func TestDamage_readableByPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	db := filepath.Join(t.TempDir(), "kanban.db")
	if _, _, err := RecordDamage(db, Damage{Seen: "header: not a database"}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("python3", "-c", `import json, sys; d = json.load(open(sys.argv[1])); print(d["seen"], d["pid"] > 0)`, DamagedPath(db)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "header: not a database True" {
		t.Errorf("python3: %v: %s", err, out)
	}
}

// RepairCommand names the board by slug, or the database by path, and
// quotes every word a POSIX shell would split or expand.
func TestRepairCommand(t *testing.T) {
	for _, c := range []struct {
		db, slug string
		flags    []string
		want     string
	}{
		{"/h/kanban.db", "side", nil, "kanban-recover auto --board side"},
		{"/h/x.db", "", nil, "kanban-recover auto --db /h/x.db"},
		{"/tmp/a b/kanban.db", "", nil, "kanban-recover auto --db '/tmp/a b/kanban.db'"},
		{"/tmp/it's $HOME/k.db", "", []string{FreshFlag}, `kanban-recover auto --fresh --db '/tmp/it'\''s $HOME/k.db'`},
	} {
		if got := RepairCommand(c.db, c.slug, c.flags...); got != c.want {
			t.Errorf("RepairCommand(%q, %q, %q) = %s, want %s", c.db, c.slug, c.flags, got, c.want)
		}
	}
	if got := CheckCommand("/tmp/a b/kanban.db", ""); got != "kanban-recover check --db '/tmp/a b/kanban.db'" {
		t.Errorf("CheckCommand = %s", got)
	}
}

// Refuse: nil without a marker; with one, a *DamagedError (ErrDamaged)
// whose message and warning are one line each, say who saw what and
// when (paths shortened, the command bounded) and end in the repair.
func TestRefuse(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	if err := Refuse(db, "default"); err != nil {
		t.Fatalf("no marker: %v", err)
	}
	d := Damage{When: time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC), PID: 4242,
		Command: []string{"/usr/local/bin/kanban", "--board", "default", "show", "t_1a2b3c4d", strings.Repeat("x", 80)},
		Seen:    "database disk image is malformed"}
	if _, _, err := RecordDamage(db, d); err != nil {
		t.Fatal(err)
	}
	err := Refuse(db, "default")
	var de *DamagedError
	if !errors.As(err, &de) || !errors.Is(err, ErrDamaged) {
		t.Fatalf("Refuse: %v", err)
	}
	want := "board " + db + " is marked damaged (seen 2026-11-30T10:15:00Z by kanban --board default show t_1a2b3c4d xxxxxxxxxxxxxxxxxxxx… (pid 4242): " +
		"database disk image is malformed); kanbanshim writes nothing to it until it is repaired. To repair it run: kanban-recover auto --board default"
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	if w := de.Warning(); !strings.HasPrefix(w, "warning: board "+db+" is marked damaged (seen 2026-11-30T10:15:00Z by kanban ") ||
		!strings.HasSuffix(w, "; showing what is readable, writing nothing. To repair it run: kanban-recover auto --board default") || strings.Contains(w, "\n") {
		t.Errorf("warning %q", w)
	}
	if err := os.WriteFile(DamagedPath(db), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Refuse(db, ""); err == nil || !strings.Contains(err.Error(), "(seen: unreadable damage marker "+DamagedPath(db)+")") ||
		!strings.HasSuffix(err.Error(), "kanban-recover auto --db "+db) {
		t.Errorf("garbled marker: %v", err)
	}
}

// A marker name no file can have (too long, or under a file) is no
// marker: boards there cannot exist either, and their errors say so.
func TestReadDamage_impossibleNames(t *testing.T) {
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("n", 250)+".db")
	if d, err := ReadDamage(long); d != nil || err != nil {
		t.Errorf("too long: %+v, %v", d, err)
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := ReadDamage(filepath.Join(file, "kanban.db")); d != nil || err != nil {
		t.Errorf("under a file: %+v, %v", d, err)
	}
}

// ClearStaleDamage removes only the marker a check saw before it began.
func TestClearStaleDamage(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	if ok, err := ClearStaleDamage(db, nil); ok || err != nil {
		t.Errorf("nothing seen: %v, %v", ok, err)
	}
	first, _, _ := RecordDamage(db, Damage{Seen: "first", When: time.Unix(1000, 0)})
	if err := ClearDamage(db); err != nil {
		t.Fatal(err)
	}
	if _, _, err := RecordDamage(db, Damage{Seen: "second", When: time.Unix(2000, 0)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := ClearStaleDamage(db, &first); ok || err != nil {
		t.Errorf("a newer marker was cleared: %v, %v", ok, err)
	}
	now, _ := ReadDamage(db)
	if ok, err := ClearStaleDamage(db, now); !ok || err != nil {
		t.Errorf("the marker seen: %v, %v", ok, err)
	}
	if d, _ := ReadDamage(db); d != nil {
		t.Errorf("still there: %+v", d)
	}
}

// BenchmarkRefuse_noMarker is what every open and write of a healthy
// board pays for the marker: one failed open(2).
func BenchmarkRefuse_noMarker(b *testing.B) {
	db := filepath.Join(b.TempDir(), "kanban.db")
	for b.Loop() {
		if err := Refuse(db, "default"); err != nil {
			b.Fatal(err)
		}
	}
}
