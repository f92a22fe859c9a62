package store

import (
	"context"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// Tx is one write transaction, handed to WriteTx's body. It is what the
// dispatcher (shim/dispatch) writes through: the connection, and the
// store's own bookkeeping of runs and events, so a reclaim or a crash is
// recorded exactly as the store's verbs record them. A Tx is only valid
// inside the body it was given to.
type Tx struct{ s *Store }

// WriteTx is Write with the transaction's helpers: fn runs between BEGIN
// IMMEDIATE and COMMIT under the write lease.
func (s *Store) WriteTx(ctx context.Context, op string, fn func(tx *Tx) error) error {
	return s.Write(ctx, op, func() error { return fn(&Tx{s: s}) })
}

// Conn is the connection, for the transaction's own statements.
func (tx *Tx) Conn() *sqlite3.Conn { return tx.s.conn }

// AppendEvent records an event (upstream's payload rules: an empty
// payload is NULL, JSON as Python's json.dumps writes it).
func (tx *Tx) AppendEvent(taskID, kind string, payload py.Object, runID *int64) error {
	return tx.s.appendEvent(taskID, kind, payload, runID)
}

// EndRun closes the task's active run (status defaults to outcome) and
// clears tasks.current_run_id; nil when no run was active.
func (tx *Tx) EndRun(taskID, outcome, status string, summary, errText *string, metadata any) (*int64, error) {
	return tx.s.endRun(taskID, outcome, status, summary, errText, metadata)
}

// CurrentRunID is the task's open run (nil when none).
func (tx *Tx) CurrentRunID(id string) (*int64, error) { return tx.s.currentRunID(id) }

// RetryStatus is the lane a reclaimed task returns to: "review" when its
// run (nil: the current one) was claimed from review, else "ready".
func (tx *Tx) RetryStatus(taskID string, runID *int64) (string, error) {
	return tx.s.retryStatusForRun(taskID, runID)
}

// ExtendRunClaim mirrors a claim's new expiry onto the task's open run.
func (tx *Tx) ExtendRunClaim(id string, expires int64) error { return tx.s.extendRunClaim(id, expires) }

// LatestEventPayload is the decoded payload of the newest event of kind
// (of one run when runID is set); an empty object when there is none.
func (tx *Tx) LatestEventPayload(taskID, kind string, runID *int64) (py.Object, error) {
	return tx.s.latestEventPayload(taskID, kind, runID)
}

// AddComment inserts a comment as written (no commented event: the
// dispatcher's reconciliation note is followed by its own event).
func (tx *Tx) AddComment(taskID, author, body string) error {
	_, err := sqlx.Exec(tx.s.conn, "INSERT INTO task_comments (task_id, author, body, created_at) VALUES (?, ?, ?, ?)",
		taskID, author, body, tx.s.now())
	return err
}

// RecordReclaim closes the active run as reclaimed (the termination report
// as its metadata) and emits the reclaimed event with the report merged
// into payload.
func (tx *Tx) RecordReclaim(id string, term Termination, errText string, payload py.Object) error {
	return tx.s.recordReclaim(id, term, errText, payload)
}
