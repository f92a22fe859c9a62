package migrate

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/lockd"
)

func openFile(t *testing.T, path string) *sqlite3.Conn {
	t.Helper()
	c, err := sqlite3.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestEnsure_migratesUnderLease: kanban's path gives the same board as
// upstream's pass, waits for a held lease, and does nothing when current.
func TestEnsure_migratesUnderLease(t *testing.T) {
	db := legacyBoard(t, "early-may-2026", "wal")
	c := openFile(t, db)
	other := lockd.NewLease(db)
	if err := other.Acquire(context.Background(), "writer", time.Second); err != nil {
		t.Fatal(err)
	}
	o := EnsureOptions{DB: db, Lease: lockd.NewLease(db), LeaseTimeout: 150 * time.Millisecond, Now: testNow.Unix()}
	if _, err := Ensure(context.Background(), c, o); !errors.Is(err, lockd.ErrLeaseBusy) {
		t.Fatalf("with the lease held: %v", err)
	}
	other.Release()
	steps, err := Ensure(context.Background(), c, o)
	if err != nil || len(steps) == 0 {
		t.Fatalf("steps %v err %v", steps, err)
	}
	want, _ := legacy.Want("early-may-2026", testNow.Unix())
	got, err := legacy.Read(c)
	if err != nil {
		t.Fatal(err)
	}
	if d := legacy.Diff(want, got); d != "" {
		t.Errorf("Ensure result:\n%s", d)
	}
	if again, err := Ensure(context.Background(), c, o); err != nil || len(again) != 0 {
		t.Errorf("second Ensure: %v %v", again, err)
	}
}

func TestEnsure_refusesForeignFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "x.db")
	c := openFile(t, db)
	c.Exec("CREATE TABLE notes(x)")
	_, err := Ensure(context.Background(), c, EnsureOptions{DB: db, Lease: lockd.NewLease(db)})
	if !errors.Is(err, ErrForeignFile) {
		t.Fatalf("err = %v", err)
	}
	if n, _, _ := sqlx.QueryInt(c, "SELECT count(*) FROM sqlite_schema"); n != 1 {
		t.Errorf("%d schema objects, want the foreign table only", n)
	}
}

// TestApply_rebuildKeepsForeignColumn: a drifted table with a column the
// canonical table lacks keeps it, and its values, through the rebuild.
func TestApply_rebuildKeepsForeignColumn(t *testing.T) {
	db := legacyBoard(t, "drifted", "")
	c := openFile(t, db)
	for _, q := range []string{
		`ALTER TABLE task_comments ADD COLUMN "edited at" TEXT`,
		`UPDATE task_comments SET "edited at" = 'yesterday' WHERE id = 'c-1'`,
	} {
		if err := c.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Apply(context.Background(), c, Options{Full: true, Now: 1}); err != nil {
		t.Fatal(err)
	}
	insp, _ := Inspect(context.Background(), c)
	if len(insp.Drifted()) != 0 {
		t.Fatalf("still drifted: %v", insp.Drifted())
	}
	v, ok, err := sqlx.QueryText(c, `SELECT "edited at" FROM task_comments WHERE body = 'second'`)
	if err != nil || !ok || v != "yesterday" {
		t.Fatalf("foreign column value %q %v %v", v, ok, err)
	}
	if err := Verify(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

func TestExamine_generations(t *testing.T) {
	ctx := context.Background()
	empty := openMem(t)
	if st, err := Examine(ctx, empty, 1); err != nil || st.Generation != GenEmpty {
		t.Errorf("empty: %+v %v", st, err)
	}
	foreign := openMem(t)
	foreign.Exec("CREATE TABLE notes(x)")
	if st, err := Examine(ctx, foreign, 1); err != nil || st.Generation != GenForeign || len(st.Pending) != 0 {
		t.Errorf("foreign: %+v %v", st, err)
	}
	cur := openMem(t)
	if _, err := Apply(ctx, cur, Options{}); err != nil {
		t.Fatal(err)
	}
	cur.Exec("CREATE TABLE my_notes(x)")
	st, err := Examine(ctx, cur, 1)
	if err != nil || st.Generation != GenCurrent || len(st.Pending) != 0 || len(st.ForeignTables) != 1 {
		t.Errorf("current: %+v %v", st, err)
	}
	// A leftover legacy event kind is pending work on a current schema.
	cur.Exec("INSERT INTO task_events (task_id, kind, created_at) VALUES ('t', 'ready', 1)")
	if st, _ := Examine(ctx, cur, 1); st.Generation != GenCurrent || len(st.Pending) != 1 || st.Pending[0].N != "9" {
		t.Errorf("legacy kind on current schema: %+v", st.Pending)
	}
}

func TestExamine_foreignColumnsAndReduced(t *testing.T) {
	ctx := context.Background()
	c := openFile(t, legacyBoard(t, "fork-b", ""))
	st, err := Examine(ctx, c, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ForeignColumns) != 2 || st.ForeignColumns[0].Origin != "newer fork (process fingerprint)" {
		t.Errorf("fork columns: %+v", st.ForeignColumns)
	}
	r := openFile(t, legacyBoard(t, "reduced", ""))
	st, err = Examine(ctx, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.MissingBase) == 0 || st.MissingBase[0] != "body" {
		t.Errorf("missing base columns: %v", st.MissingBase)
	}
}
