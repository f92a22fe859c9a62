package migrate

import (
	"context"
	"strings"
	"testing"
)

// TestReferences_complete: every canonical column that holds a task id, a
// run id or another row's id is listed in References, and every listed
// column and target exists, with a single-column primary key.
func TestReferences_complete(t *testing.T) {
	canon, err := Canonical(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range References {
		listed[r.Table+"."+r.Column] = true
		if _, ok := canon.Column(r.Table, r.Column); !ok {
			t.Errorf("%s.%s: no such column", r.Table, r.Column)
		}
		pk := 0
		for _, c := range canon.Tables[r.Target] {
			if c.PK > 0 {
				pk++
			}
		}
		if pk != 1 {
			t.Errorf("%s: target %s has %d primary key columns, want 1", r.Table+"."+r.Column, r.Target, pk)
		}
	}
	for table, cols := range canon.Tables {
		for _, c := range cols {
			name := strings.ToLower(c.Name)
			holdsID := name == "task_id" || name == "parent_id" || name == "child_id" || name == "instance_id" ||
				strings.HasSuffix(name, "run_id")
			if holdsID && !listed[table+"."+c.Name] {
				t.Errorf("%s.%s holds another row's id but is not in References", table, c.Name)
			}
		}
	}
	for _, sql := range append(append([]string{}, baseTables...), recipeTables...) {
		for _, line := range strings.Split(sql, "\n") {
			if !strings.Contains(strings.ToUpper(line), "REFERENCES") {
				continue
			}
			col := strings.Fields(line)[0]
			found := false
			for _, r := range References {
				found = found || (r.Column == col && strings.Contains(sql, "EXISTS "+r.Table+" "))
			}
			if !found {
				t.Errorf("declared foreign key %q is not in References", strings.TrimSpace(line))
			}
		}
	}
}
