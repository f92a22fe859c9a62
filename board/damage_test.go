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
