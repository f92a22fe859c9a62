package board

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// blockedBoard is a fake board "old" as a swap killed inside its commit
// leaves it: journal written, board blocked, replacement not renamed in.
func blockedBoard(t *testing.T) (string, SwapJournal) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "kanban.db")
	writeBoard(t, db, "old")
	j := stageSwap(t, db)
	if err := WriteSwapJournal(OSFS{}, db, j); err != nil {
		t.Fatal(err)
	}
	if err := Block(OSFS{}, db); err != nil {
		t.Fatal(err)
	}
	return db, j
}

// stageSwap prepares what a swap's phase A leaves: a staged replacement
// and a set holding a link to the live db. It returns the journal.
func stageSwap(t *testing.T, db string) SwapJournal {
	t.Helper()
	staged := SwapStagedPath(db)
	if err := os.WriteFile(staged, []byte("new board"), 0o644); err != nil {
		t.Fatal(err)
	}
	set := filepath.Join(filepath.Dir(db), "quarantine", "kanban.db.20261130T101500Z-1a2b3c4d")
	if err := os.MkdirAll(set, 0o755); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(set, "kanban.db")
	if err := os.Link(db, linked); err != nil {
		t.Fatal(err)
	}
	return SwapJournal{Set: set, Added: []string{linked}, Staged: staged, Copied: true}
}

// TestResolveSwap_undo: a commit interrupted before its rename is undone:
// the board's own files come back byte-identical, the staged copy and
// the set's alias go, and so does the journal.
func TestResolveSwap_undo(t *testing.T) {
	db, j := blockedBoard(t)
	before, _ := HeldHash(db)
	if !isDir(WAL(db)) || !SwapPending(db) || !HoldsContent(db) {
		t.Fatal("the board is not blocked")
	}
	note, err := ResolveSwap(OSFS{}, db)
	if err != nil || !strings.HasPrefix(note, "undid") {
		t.Fatalf("resolve: %q, %v", note, err)
	}
	if after, _ := ContentHash(db); after != before || isDir(WAL(db)) {
		t.Error("the board's files did not come back as they were")
	}
	for _, p := range []string{SwapPendingPath(db), SwapStagedPath(db), j.Set, HoldPath(db, WALSuffix), HoldPath(db, SHMSuffix)} {
		if exists(p) {
			t.Errorf("%s left behind", p)
		}
	}
	if note, err := ResolveSwap(OSFS{}, db); note != "" || err != nil {
		t.Errorf("nothing to resolve: %q, %v", note, err)
	}
}

// TestResolveSwap_finish: a commit interrupted after its rename is
// finished: the block goes, the held files join the set, which is marked
// as holding the original.
func TestResolveSwap_finish(t *testing.T) {
	db, j := blockedBoard(t)
	if err := os.Rename(j.Staged, db); err != nil {
		t.Fatal(err)
	}
	note, err := ResolveSwap(OSFS{}, db)
	if err != nil || !strings.HasPrefix(note, "finished") {
		t.Fatalf("resolve: %q, %v", note, err)
	}
	if got, _ := os.ReadFile(db); string(got) != "new board" || exists(WAL(db)) || SwapPending(db) {
		t.Errorf("db %q, -wal left %v, journal left %v", got, exists(WAL(db)), SwapPending(db))
	}
	for _, suf := range []string{"", WALSuffix, SHMSuffix} {
		if got, _ := os.ReadFile(filepath.Join(j.Set, "kanban.db"+suf)); string(got) != "old"+suf {
			t.Errorf("set's %q: %q", suf, got)
		}
	}
	if !exists(filepath.Join(j.Set, originalMark)) {
		t.Error("the set is not marked as holding the original")
	}
}

// TestResolveSwap_diverged: a db written after the journal (the block was
// removed by hand) keeps its writes; the held files go to the set.
func TestResolveSwap_diverged(t *testing.T) {
	db, j := blockedBoard(t)
	if err := os.Remove(WAL(db)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("written by hand, longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ResolveSwap(OSFS{}, db)
	if !errors.Is(err, ErrSwapDiverged) {
		t.Fatalf("resolve: %v, want ErrSwapDiverged", err)
	}
	if got, _ := os.ReadFile(db); string(got) != "written by hand, longer" || SwapPending(db) {
		t.Errorf("db %q, journal left %v", got, SwapPending(db))
	}
	if got, _ := os.ReadFile(filepath.Join(j.Set, "kanban.db-wal")); string(got) != "old-wal" {
		t.Errorf("held -wal not kept: %q", got)
	}
}

// TestResolveSwap_missingDB: the swap of a board whose db was missing
// (only its -wal held data) is undone with the -wal back in place; a db
// that appeared meanwhile is a divergence: the held -wal goes to the set,
// never next to a database it was not written for.
func TestResolveSwap_missingDB(t *testing.T) {
	for _, appeared := range []bool{false, true} {
		db := filepath.Join(t.TempDir(), "kanban.db")
		if err := os.WriteFile(WAL(db), []byte("lone-wal"), 0o644); err != nil {
			t.Fatal(err)
		}
		j := SwapJournal{Staged: SwapStagedPath(db), Set: filepath.Join(filepath.Dir(db), "quarantine", "set"), Copied: true}
		if err := os.WriteFile(j.Staged, []byte("new board"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(j.Set, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteSwapJournal(OSFS{}, db, j); err != nil {
			t.Fatal(err)
		}
		if err := Block(OSFS{}, db); err != nil {
			t.Fatal(err)
		}
		if appeared {
			if err := os.WriteFile(db, []byte("created meanwhile"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, err := ResolveSwap(OSFS{}, db)
		kept := filepath.Join(j.Set, "kanban.db-wal")
		switch {
		case appeared && !errors.Is(err, ErrSwapDiverged):
			t.Errorf("db appeared: resolve %v, want ErrSwapDiverged", err)
		case appeared:
			if got, _ := os.ReadFile(kept); string(got) != "lone-wal" || exists(WAL(db)) {
				t.Errorf("db appeared: -wal in set %q, -wal next to db %v", got, exists(WAL(db)))
			}
		case err != nil:
			t.Errorf("undo: %v", err)
		default:
			if got, _ := os.ReadFile(WAL(db)); string(got) != "lone-wal" || exists(db) {
				t.Errorf("undo: -wal %q, db exists %v", got, exists(db))
			}
		}
	}
}

// TestResolveSwap_tornJournal: a journal torn while being written means
// nothing was moved yet; it is removed.
func TestResolveSwap_tornJournal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kanban.db")
	writeBoard(t, db, "old")
	if err := os.WriteFile(SwapPendingPath(db), []byte(`{"set":"/x`), 0o644); err != nil {
		t.Fatal(err)
	}
	if note, err := ResolveSwap(OSFS{}, db); err != nil || note != "removed an incomplete swap journal" || SwapPending(db) {
		t.Errorf("resolve: %q, %v", note, err)
	}
}

// TestOwnFiles: every name next to the board is spelled here, once.
func TestOwnFiles(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range OwnFiles("/b/kanban.db") {
		if seen[p] || !strings.HasPrefix(p, "/b/kanban.db") || p == "/b/kanban.db" {
			t.Errorf("bad or repeated name %s", p)
		}
		seen[p] = true
	}
	for _, p := range []string{"/b/kanban.db-wal", "/b/kanban.db.lease", "/b/kanban.db.swap.pending", "/b/kanban.db.swap-journal", "/b/kanban.db.damaged"} {
		if !seen[p] {
			t.Errorf("%s missing", p)
		}
	}
}
