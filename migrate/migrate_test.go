package migrate

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

func openMem(t *testing.T) *sqlite3.Conn {
	t.Helper()
	c, err := sqlite3.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// schemaOf returns every table's table_info and every index's SQL with
// whitespace collapsed, which is what "the same schema" means for us.
func schemaOf(t *testing.T, c *sqlite3.Conn) (map[string][]ColumnInfo, map[string]string) {
	t.Helper()
	insp, err := Inspect(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string]string{}
	ws := regexp.MustCompile(`\s+`)
	err = sqlx.Query(c, `SELECT name, sql FROM sqlite_schema WHERE type='index' AND sql IS NOT NULL`, nil, func(r *sqlx.Row) error {
		idx[r.Text("name")] = ws.ReplaceAllString(r.Text("sql"), " ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return insp.Tables, idx
}

func TestApply_freshMatchesUpstreamSchema(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("..", "testdata", "golden", "upstream-schema.sql"))
	if err != nil {
		t.Fatal(err)
	}
	want := openMem(t)
	// sqlite_sequence is internal; it appears once an AUTOINCREMENT table exists.
	script := strings.Replace(string(golden), "CREATE TABLE sqlite_sequence(name,seq);", "", 1)
	if err := want.Exec(script); err != nil {
		t.Fatal(err)
	}
	got := openMem(t)
	steps, err := Apply(context.Background(), got, Options{Now: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 {
		t.Fatal("no steps on a fresh db")
	}
	wt, wi := schemaOf(t, want)
	gt, gi := schemaOf(t, got)
	if d := cmp.Diff(wt, gt); d != "" {
		t.Errorf("tables differ (-upstream +ours):\n%s", d)
	}
	if d := cmp.Diff(wi, gi); d != "" {
		t.Errorf("indexes differ (-upstream +ours):\n%s", d)
	}
	again, err := Apply(context.Background(), got, Options{Full: true, Now: 2})
	if err != nil || len(again) != 0 {
		t.Fatalf("second apply: steps=%v err=%v", again, err)
	}
}

func TestConformity_fresh(t *testing.T) {
	c := openMem(t)
	if _, err := Apply(context.Background(), c, Options{}); err != nil {
		t.Fatal(err)
	}
	insp, _ := Inspect(context.Background(), c)
	ds, err := Conformity(context.Background(), insp)
	if err != nil || len(ds) != 0 {
		t.Fatalf("fresh board drifts: %v %v", ds, err)
	}
}
