package recover_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures"
	"github.com/kanbanshim/kanbanshim/recover"
)

// damageBoard builds a board in dir and returns its files' contents: the
// WAL variant is copied while open, so recent commits are only in -wal.
func damageBoard(t *testing.T, dir, journal string) (db, wal []byte) {
	t.Helper()
	b, err := fixtures.Create(ctx(t), filepath.Join(dir, "src.db"), fixtures.BoardOptions{Journal: journal, Seed: 42, BigBodies: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Conn.Close()
	if journal == "wal" {
		if err := b.Conn.WALAutoCheckpoint(0); err != nil {
			t.Fatal(err)
		}
		if err := b.AddTasks(6, 1); err != nil {
			t.Fatal(err)
		}
		if wal, err = os.ReadFile(b.Path + "-wal"); err != nil {
			t.Fatal(err)
		}
	}
	if db, err = os.ReadFile(b.Path); err != nil {
		t.Fatal(err)
	}
	return db, wal
}

// damage applies one seeded random injury: zero a page, flip bytes, cut
// the file, or scribble on the WAL.
func damage(rng *rand.Rand, db, wal []byte) ([]byte, []byte, string) {
	db, wal = append([]byte{}, db...), append([]byte{}, wal...)
	ps, pages := 1024, len(db)/1024
	switch k := rng.IntN(5); {
	case k == 0:
		pg := rng.IntN(pages)
		clear(db[pg*ps : (pg+1)*ps])
		return db, wal, fmt.Sprintf("zero page %d", pg+1)
	case k == 1:
		n := 1 + rng.IntN(64)
		for i := 0; i < n; i++ {
			db[rng.IntN(len(db))] = byte(rng.Uint32())
		}
		return db, wal, fmt.Sprintf("flip %d bytes", n)
	case k == 2:
		cut := rng.IntN(len(db))
		return db[:cut], wal, fmt.Sprintf("truncate to %d", cut)
	case k == 3 && len(wal) > 0:
		for i := 0; i < 1+rng.IntN(16); i++ {
			wal[rng.IntN(len(wal))] ^= byte(1 + rng.IntN(255))
		}
		return db, wal, "scribble on wal"
	default:
		pg := rng.IntN(pages)
		for i := pg * ps; i < (pg+1)*ps; i++ {
			db[i] = byte(rng.Uint32())
		}
		return db, wal, fmt.Sprintf("random page %d", pg+1)
	}
}

// TestSalvage_generatedDamage: whatever the damage, Salvage returns in
// time, never panics, and either writes an integrity-ok database or fails
// cleanly without leaving the output behind.
func TestSalvage_generatedDamage(t *testing.T) {
	eachDamage(t, 50, func(name string, db, wal []byte, what string) {
		t.Run(name, func(t *testing.T) {
			salvageDamaged(t, db, wal, what)
		})
	})
}

// eachDamage calls fn with n seeded injuries (12 with -short) of the
// damageBoard of each journal mode, named journal/seed.
func eachDamage(t *testing.T, n int, fn func(name string, db, wal []byte, what string)) {
	if testing.Short() {
		n = 12
	}
	for _, journal := range []string{"delete", "wal"} {
		db, wal := damageBoard(t, t.TempDir(), journal)
		for i := 0; i < n; i++ {
			d, w, what := damage(rand.New(rand.NewPCG(uint64(i), 7)), db, wal)
			fn(fmt.Sprintf("%s/%02d", journal, i), d, w, what)
		}
	}
}

func salvageDamaged(t *testing.T, db, wal []byte, what string) {
	dir := t.TempDir()
	src := filepath.Join(dir, "board.db")
	if err := os.WriteFile(src, db, 0o600); err != nil {
		t.Fatal(err)
	}
	if len(wal) > 0 {
		if err := os.WriteFile(src+"-wal", wal, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.db")
	type result struct {
		rep *recover.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := recover.Salvage(ctx(t), recover.SalvageOptions{DBPath: src, OutPath: out})
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			if _, err := os.Stat(out); err == nil {
				t.Fatalf("%s: failed (%v) but left %s", what, r.err, out)
			}
			if !errors.Is(r.err, recover.ErrNotDatabase) {
				t.Logf("%s: %v", what, r.err)
			}
			return
		}
		integrityOK(t, openDB(t, out))
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: salvage hung", what)
	}
}
