package dispatch

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// openTruthyBoard is a fresh board with one task.
func openTruthyBoard(t *testing.T) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "kanban.db"), store.Options{Board: "default",
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := st.CreateTask(ctx, store.NewTask{Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return st, id
}

// Payload flags are read with Python's truthiness, as upstream reads run
// metadata: an empty list or object is false (kanbanshim once read them
// as true). The protocol-violation streak therefore stops at a crashed
// run whose protocol_violation is {} unless its error says so.
func TestProtocolViolationStreak_pythonTruthiness(t *testing.T) {
	st, id := openTruthyBoard(t)
	runs := []struct{ outcome, metadata, err string }{ // oldest first
		{"crashed", `{"protocol_violation": true}`, "x"},
		{"crashed", `{"protocol_violation": {}}`, "pid 1 exited with code 1"},   // falsy: ends the streak
		{"crashed", `{"protocol_violation": []}`, "... protocol violation ..."}, // the error counts
		{"rate_limited", `{}`, "quota"},                                         // neutral
		{"crashed", `{"protocol_violation": [1]}`, "x"},
		{"crashed", `{"protocol_violation": "yes"}`, "x"},
	}
	err := st.WriteTx(context.Background(), "test runs", func(tx *store.Tx) error {
		for i, r := range runs {
			if _, err := sqlx.Exec(tx.Conn(), `INSERT INTO task_runs (task_id, status, outcome, error, metadata, started_at, ended_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, id, r.outcome, r.outcome, r.err, r.metadata, 100+i, 101+i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocolViolationStreak(st, id)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3 {
		t.Errorf("streak = %d, want 3 (the {} run ends it; the [] run counts by its error)", got)
	}
}

// A worker_exited record whose flags are empty collections did not
// terminate or SIGKILL anything.
func TestWorkerExit_pythonTruthiness(t *testing.T) {
	st, id := openTruthyBoard(t)
	cases := []struct {
		payload             string
		sigkill, terminated bool
	}{
		{`{"pid": 5, "sigkill": [], "terminated": {}}`, false, false},
		{`{"pid": 5, "sigkill": [0], "terminated": {"a": 1}}`, true, true},
		{`{"pid": 5, "sigkill": 0, "terminated": ""}`, false, false},
		{`{"pid": 5, "sigkill": true, "terminated": "no"}`, true, true},
	}
	for i, c := range cases {
		runID := int64(1000 + i)
		err := st.WriteTx(context.Background(), "test exit", func(tx *store.Tx) error {
			if _, err := sqlx.Exec(tx.Conn(), "INSERT INTO task_events (task_id, run_id, kind, payload, created_at) VALUES (?, ?, ?, ?, ?)",
				id, runID, WorkerExitEvent, c.payload, 100); err != nil {
				return err
			}
			e, err := workerExit(tx, id, runID)
			if err != nil {
				return err
			}
			if e == nil || e.PID != 5 || e.SIGKILL != c.sigkill || e.Terminated != c.terminated {
				t.Errorf("%s: workerExit = %+v, want sigkill %v terminated %v", c.payload, e, c.sigkill, c.terminated)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
