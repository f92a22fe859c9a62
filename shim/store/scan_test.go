package store

import (
	"reflect"
	"testing"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

var skillsInputs = []string{`["review"]`, `["go", "sql"]`, `[]`, ` [ "a" ,"b" ] `, `["", "x"]`, `[""]`, `["a",]`,
	`["a"] x`, `["é"]`, `["a\"b"]`, `["a\\nb"]`, `[1, true, null, false, "x"]`, `{"a": 1}`, `"str"`, `[`, `["a"`,
	`["a" "b"]`, "[\"tab\there\"]", `[["nested"]]`, `not json`, "\xff", `["a"]]`, "[\n\"a\"\r\n]"}

// TestParseSkills_fastPathAgrees: the plain-list fast path gives exactly
// what the general decoder gives, or declines.
func TestParseSkills_fastPathAgrees(t *testing.T) {
	for _, in := range skillsInputs {
		if got, want := parseSkills([]byte(in)), loadSkills(in); !reflect.DeepEqual(got, want) {
			t.Errorf("parseSkills(%q) = %#v, want %#v", in, got, want)
		}
	}
	if parseSkills(nil) != nil || parseSkills([]byte{}) != nil {
		t.Error("NULL or empty skills must read as nil")
	}
}

func FuzzParseSkills(f *testing.F) {
	for _, in := range skillsInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if in == "" {
			return
		}
		if got, want := parseSkills([]byte(in)), loadSkills(in); !reflect.DeepEqual(got, want) {
			t.Fatalf("parseSkills(%q) = %#v, want %#v", in, got, want)
		}
	})
}

// TestTaskScanner_readsByName: one scanner reads rows of a legacy table
// (spawn_* columns instead of their successors, most columns missing,
// columns in another order) the way the by-name reads did: missing
// columns NULL, legacy fallbacks used, empty overrides dropped, and each
// row's values its own.
func TestTaskScanner_readsByName(t *testing.T) {
	c, err := sqlite3.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Exec(`CREATE TABLE tasks (status TEXT, id TEXT, title TEXT, spawn_failures INTEGER, last_spawn_error TEXT,
		model_override TEXT, started_at INTEGER, priority INTEGER, created_at INTEGER, skills TEXT, body TEXT);
		INSERT INTO tasks VALUES ('ready', 't_1', 'one', 3, 'boom', '', 100, 2, 50, '["a"]', NULL);
		INSERT INTO tasks VALUES ('done', 't_2', 'two', NULL, NULL, 'gpt', NULL, NULL, 60, NULL, 'body é')`); err != nil {
		t.Fatal(err)
	}
	var got []*Task
	var sc *taskScanner
	err = sqlx.Query(c, "SELECT * FROM tasks ORDER BY id", nil, func(r *sqlx.Row) error {
		if sc == nil {
			sc = newTaskScanner(r)
		}
		got = append(got, sc.scan(r))
		return nil
	})
	if err != nil || len(got) != 2 {
		t.Fatalf("%d rows, %v", len(got), err)
	}
	a, b := got[0], got[1]
	if a.ID != "t_1" || a.Title != "one" || a.Status != "ready" || a.ConsecutiveFailures != 3 || Str(a.LastFailureError) != "boom" ||
		a.ModelOverride != nil || a.StartedAt == nil || *a.StartedAt != 100 || a.Priority != int64(2) || a.CreatedAt != int64(50) ||
		!reflect.DeepEqual(a.Skills, []string{"a"}) || a.Body != nil || a.Assignee != nil || a.CurrentRunID != nil || a.WorkspaceKind != "" {
		t.Errorf("row 1 = %+v", a)
	}
	if b.ID != "t_2" || b.ConsecutiveFailures != 0 || b.LastFailureError != nil || Str(b.ModelOverride) != "gpt" ||
		b.StartedAt != nil || b.Priority != nil || b.Skills != nil || Str(b.Body) != "body é" {
		t.Errorf("row 2 = %+v", b)
	}
}
