package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/fixtures"
)

// zeroedLeavesBoard builds a 300-task board with n leaves in the middle
// of table's b-tree zeroed (fixtures.ZeroLeaves) and returns the database
// and the sorted keys of the rows those leaves held.
func zeroedLeavesBoard(t *testing.T, journal, table string, n int) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := filepath.Join(t.TempDir(), "kanban.db")
	lost, _, err := fixtures.ZeroLeaves(ctx, db, fixtures.LeafDamage{Journal: journal, Table: table, Leaves: n})
	if err != nil {
		t.Fatal(err)
	}
	return db, lost
}

// TestAuto_reportsLostTasks is issue 10's third reproduction: two zeroed
// leaves of tasks on a 300-task board. auto repairs (exit 0) but must say
// how many tasks are gone, never "no differences".
func TestAuto_reportsLostTasks(t *testing.T) {
	for _, journal := range []string{"delete", "wal"} {
		t.Run(journal, func(t *testing.T) {
			db, lost := zeroedLeavesBoard(t, journal, "tasks", 2)
			a, out, _ := testApp(t, false)
			if err := Run(context.Background(), a, []string{"--db", db, "auto"}); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if strings.Contains(text, "no differences") {
				t.Errorf("auto says no differences while %d tasks are gone:\n%s", len(lost), text)
			}
			want := fmt.Sprintf(": repaired with loss: %d tasks\n", len(lost))
			if !strings.Contains(text, want) {
				t.Errorf("auto report lacks %q:\n%s", want, text)
			}
			ids := regexp.MustCompile(`LOST: .*`).FindString(text)
			for _, id := range lost[:min(20, len(lost))] {
				if !strings.Contains(ids, id) {
					t.Errorf("lost task %s not named in %q", id, ids)
				}
			}
		})
	}
}

// TestAuto_lossJSON: auto --json keeps status "repaired" (exit 0) and
// gives scripts with_loss, the count and every lost id.
func TestAuto_lossJSON(t *testing.T) {
	db, lost := zeroedLeavesBoard(t, "delete", "tasks", 2)
	a, out, _ := testApp(t, false)
	if err := Run(context.Background(), a, []string{"--db", db, "auto", "--json"}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Status   string `json:"status"`
		WithLoss bool   `json:"with_loss"`
		Loss     struct {
			TasksLost int      `json:"tasks_lost"`
			TaskIDs   []string `json:"task_ids"`
			RowsLost  int      `json:"rows_lost"`
			Exact     bool     `json:"exact"`
		} `json:"loss"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Status != "repaired" || !got.WithLoss || !got.Loss.Exact || got.Loss.TasksLost != len(lost) || got.Loss.RowsLost != len(lost) {
		t.Errorf("status %q with_loss %v loss %+v; want repaired with %d tasks lost", got.Status, got.WithLoss, got.Loss, len(lost))
	}
	if !slices.Equal(got.Loss.TaskIDs, lost) {
		t.Errorf("task_ids = %v\nwant %v", got.Loss.TaskIDs, lost)
	}
}
