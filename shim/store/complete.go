package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kanbanshim/kanbanshim/internal/fsutil"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// ErrLiveClaim refuses to complete a task a live worker is running.
var ErrLiveClaim = errors.New("a live worker is running it")

// Completion is what `complete` hands off.
type Completion struct {
	Result, Summary *string
	Metadata        py.Object // nil when not given
	ExpectedRun     *int64
	// Force closes a live worker's run and completes anyway.
	Force bool
}

// CompleteTask moves a running, ready, blocked or review task to done,
// closing (or synthesizing) its run with the handoff, as upstream does. It
// returns false when the task is unknown, terminal, or has open parents.
func (s *Store) CompleteTask(ctx context.Context, id string, c Completion) (bool, error) {
	ok, err := s.parentsSatisfied(id)
	if err != nil || !ok {
		return false, s.classify(err)
	}
	if !c.Force && c.ExpectedRun == nil {
		if live, err := s.liveWorker(id); err != nil || live {
			if live {
				return false, ErrLiveClaim
			}
			return false, err
		}
	}
	t, err := s.GetTask(id)
	if err != nil {
		return false, err
	}
	meta, err := s.mergeProseArtifacts(t, c.Metadata, c.Summary, c.Result)
	if err != nil {
		return false, err
	}
	handoff := c.Summary
	if handoff == nil {
		handoff = c.Result
	}
	done := false
	err = s.Write(ctx, "complete "+id, func() error {
		if ok, err := s.parentsSatisfied(id); err != nil || !ok {
			return err
		}
		prior, err := s.taskStatus(id)
		if err != nil {
			return err
		}
		q := `UPDATE tasks SET status = 'done', result = ?, completed_at = ?, claim_lock = NULL, claim_expires = NULL,
			worker_pid = NULL, block_kind = NULL, block_recurrences = 0
			WHERE id = ? AND status IN ('running', 'ready', 'blocked', 'review')`
		args := []any{c.Result, s.now(), id}
		if c.ExpectedRun != nil {
			q += " AND current_run_id = ?"
			args = append(args, *c.ExpectedRun)
		}
		if n, err := sqlx.Exec(s.conn, q, args...); err != nil || n != 1 {
			return err
		}
		if len(meta) > 0 {
			if err := s.stageArtifacts(id, meta, "kanban_complete"); err != nil {
				return err
			}
		}
		var metaArg any
		if len(meta) > 0 {
			metaArg = meta
		}
		runID, err := s.endRun(id, "completed", "done", handoff, nil, metaArg)
		if err != nil {
			return err
		}
		eventSummary := handoff
		if runID == nil && (truthy(c.Summary) || len(meta) > 0 || truthy(c.Result) || prior == "review") {
			synthSummary, synthMeta := handoff, metaArg
			if prior == "review" && !truthy(handoff) && len(meta) == 0 {
				note := reviewApprovedNote
				synthSummary, synthMeta = &note, py.Obj("source_status", "review", "approval", "manual")
			}
			if runID, err = s.synthesizeEndedRun(id, "completed", synthSummary, nil, synthMeta); err != nil {
				return err
			}
		}
		if prior == "review" && (eventSummary == nil || *eventSummary == "") {
			note := reviewApprovedNote
			eventSummary = &note
		}
		if err := s.appendEvent(id, "completed", completedPayload(c.Result, eventSummary, meta), runID); err != nil {
			return err
		}
		if err := s.flagPhantomRefs(id, runID, c.Summary, c.Result); err != nil {
			return err
		}
		done = true
		return s.clearFailureCounter(id)
	})
	if err != nil || !done {
		return false, err
	}
	s.afterCommit(ctx, id)
	return true, nil
}

const reviewApprovedNote = "Review approved without additional evidence."

// liveWorker reports a running task whose host-local worker pid is alive.
func (s *Store) liveWorker(id string) (bool, error) {
	t, err := s.GetTask(id)
	if err != nil || t == nil || t.Status != "running" || t.WorkerPID == nil {
		return false, err
	}
	return HostLocal(t.ClaimLock) && proc.Alive(int(*t.WorkerPID)), nil
}

func (s *Store) clearFailureCounter(id string) error {
	_, err := sqlx.Exec(s.conn, "UPDATE tasks SET consecutive_failures = 0, last_failure_error = NULL WHERE id = ?", id)
	return err
}

// completedPayload: result length, the first summary line (400 chars) and
// any declared artifacts, so notifiers need no second read.
func completedPayload(result, summary *string, meta py.Object) py.Object {
	var rl int64
	if result != nil {
		rl = int64(len([]rune(*result)))
	}
	p := py.Obj("result_len", rl, "summary", firstLineOrNil(summary, 400))
	if arts := artifactPaths(meta); len(arts) > 0 {
		p = p.Set("artifacts", arts)
	}
	return p
}

// firstLine is upstream's _first_line of an optional string.
func firstLine(s *string, limit int) string {
	if s == nil {
		return ""
	}
	return py.FirstLine(*s, limit)
}

func firstLineOrNil(s *string, limit int) any {
	if l := firstLine(s, limit); l != "" {
		return l
	}
	return nil
}

func artifactPaths(meta py.Object) []string {
	v, ok := meta.Get("artifacts")
	arr, isArr := v.([]any)
	if !ok || !isArr {
		return nil
	}
	var out []string
	for _, x := range arr {
		if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}

var taskRefRe = regexp.MustCompile(`\bt_[a-f0-9]{8,}\b`)

// flagPhantomRefs records (advisory) t_<hex> references in the handoff
// that name no task.
func (s *Store) flagPhantomRefs(id string, runID *int64, summary, result *string) error {
	text := strings.TrimSpace(Str(summary) + " " + Str(result))
	if text == "" {
		return nil
	}
	var refs []string
	seen := map[string]bool{}
	for _, m := range taskRefRe.FindAllString(text, -1) {
		if !seen[m] {
			seen[m] = true
			refs = append(refs, m)
		}
	}
	missing, err := s.missingTaskIDs(refs)
	if err != nil || len(missing) == 0 {
		return err
	}
	return s.appendEvent(id, "suspected_hallucinated_references", py.Obj("phantom_refs", missing, "source", "completion_summary"), runID)
}

// mergeProseArtifacts adds files named by absolute path in the handoff
// text that live in the task's managed scratch workspace to
// metadata["artifacts"], before workspace cleanup can erase them.
func (s *Store) mergeProseArtifacts(t *Task, meta py.Object, summary, result *string) (py.Object, error) {
	ws := s.scratchWorkspace(t)
	text := strings.Join(nonEmpty(Str(summary), Str(result)), "\n")
	if ws == "" || text == "" {
		return meta, nil
	}
	re := regexp.MustCompile(regexp.QuoteMeta(ws) + "(?:[/\\\\][^\\s`\"'<>]+)")
	var found []string
	for _, m := range re.FindAllString(text, -1) {
		p := strings.TrimRight(m, ".,;:!?)]}")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			found = append(found, p)
		}
	}
	if len(found) == 0 {
		return meta, nil
	}
	out := append(py.Object{}, meta...)
	existing, _ := out.Get("artifacts")
	merged, _ := existing.([]any)
	merged = append([]any{}, merged...)
	seen := map[string]bool{}
	for _, x := range merged {
		if s, ok := x.(string); ok {
			seen[s] = true
		}
	}
	for _, p := range found {
		if !seen[p] {
			seen[p] = true
			merged = append(merged, p)
		}
	}
	return out.Set("artifacts", merged), nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stageArtifacts copies declared artifacts that live in the managed scratch
// workspace into the task's attachments and records them, rewriting
// metadata["artifacts"] to the durable copies. Runs inside the txn.
func (s *Store) stageArtifacts(id string, meta py.Object, by string) error {
	t, err := s.GetTask(id)
	if err != nil {
		return err
	}
	ws := s.scratchWorkspace(t)
	arts, _ := meta.Get("artifacts")
	list, ok := arts.([]any)
	if ws == "" || !ok {
		return nil
	}
	dir := filepath.Join(s.opts.Paths.AttachmentsRoot, id)
	var persisted []any
	changed := false
	for _, item := range list {
		src, _ := item.(string)
		src = strings.TrimSpace(src)
		rel, err := filepath.Rel(ws, src)
		if src == "" || err != nil || strings.HasPrefix(rel, "..") {
			if src != "" {
				persisted = append(persisted, src)
			}
			continue
		}
		st, err := os.Stat(src)
		if err != nil || !st.Mode().IsRegular() {
			return invalid("declared scratch artifact is unavailable or not a regular file: %s", src)
		}
		if st.Size() > MaxAttachmentBytes {
			return invalid("declared scratch artifact exceeds the %d-byte limit: %s", MaxAttachmentBytes, src)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		dest := uniquePath(dir, filepath.Base(src))
		if err := fsutil.CopyNew(src, dest, 0o644, true); err != nil {
			return err
		}
		if _, err := sqlx.Exec(s.conn, `INSERT INTO task_attachments (task_id, filename, stored_path, content_type, size, uploaded_by, created_at)
			VALUES (?, ?, ?, NULL, ?, ?, ?)`, id, filepath.Base(dest), dest, st.Size(), by, s.now()); err != nil {
			return err
		}
		if err := s.appendEvent(id, "attached", py.Obj("filename", filepath.Base(dest), "size", st.Size(), "by", by), nil); err != nil {
			return err
		}
		persisted = append(persisted, dest)
		changed = true
	}
	if changed {
		meta.Set("artifacts", persisted)
	}
	return nil
}

func uniquePath(dir, name string) string {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	if stem == "" {
		stem = "artifact"
	}
	cand := filepath.Join(dir, stem+ext)
	for i := 1; fileExists(cand); i++ {
		cand = filepath.Join(dir, stem+"_"+itoa(i)+ext)
	}
	return cand
}

// truthy is Python truthiness of an optional string.
func truthy(s *string) bool { return s != nil && *s != "" }
