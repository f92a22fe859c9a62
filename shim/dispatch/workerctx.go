package dispatch

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Caps of upstream's build_worker_context, sized for a ~100k-character
// prompt: list lengths, then characters per field.
const (
	ctxMaxPriorAttempts = 10
	ctxMaxComments      = 30
	ctxMaxField         = 4 * 1024
	ctxMaxBody          = 8 * 1024
	ctxMaxComment       = 2 * 1024
)

// ContextOptions are the inputs of BuildWorkerContext that are not on the
// board.
type ContextOptions struct {
	// Now is the one clock reading every relative age agrees on.
	Now time.Time
	// TerminalTimeout is $TERMINAL_TIMEOUT ("" when unset).
	TerminalTimeout string
}

// BuildWorkerContext renders the text a worker reads about its task
// (upstream's build_worker_context, byte for byte): header, body,
// attachments, prior attempts, done-parent handoffs, the assignee's recent
// work elsewhere, and the comment thread. An unknown id is an
// *UnknownTaskError.
func BuildWorkerContext(st *store.Store, id string, o ContextOptions) (string, error) {
	t, err := st.GetTask(id)
	if err != nil {
		return "", err
	}
	if t == nil {
		return "", &store.UnknownTaskError{ID: id}
	}
	now := o.Now.Unix()
	var b ctxBuilder
	b.header(t, o.TerminalTimeout)
	atts, err := st.ListAttachments(id)
	if err != nil {
		return "", err
	}
	b.attachments(atts)
	runs, err := st.ListRuns(id, "", "")
	if err != nil {
		return "", err
	}
	b.priorAttempts(runs, now)
	if err := ctxParentResults(st, &b, id, now); err != nil {
		return "", st.Corrupt(err)
	}
	if err := ctxRoleHistory(st, &b, t, now); err != nil {
		return "", st.Corrupt(err)
	}
	comments, err := st.ListComments(id)
	if err != nil {
		return "", err
	}
	b.comments(comments, now)
	return py.RStrip(strings.Join(b.lines, "\n")) + "\n", nil
}

// ctxBuilder accumulates the context's lines.
type ctxBuilder struct{ lines []string }

func (b *ctxBuilder) add(lines ...string) { b.lines = append(b.lines, lines...) }

func (b *ctxBuilder) header(t *store.Task, terminalTimeout string) {
	b.add("# Kanban task "+t.ID+": "+t.Title, "", "Assignee: "+strOrDefault(t.Assignee, "(unassigned)"), "Status:   "+t.Status)
	if t.Tenant != nil && *t.Tenant != "" {
		b.add("Tenant:   " + *t.Tenant)
	}
	b.add("Workspace: " + t.WorkspaceKind + " @ " + strOrDefault(t.WorkspacePath, "(unresolved)"))
	if t.MaxRuntimeSeconds != nil {
		b.add(fmt.Sprintf("Max runtime: %ds", *t.MaxRuntimeSeconds))
		effective := workerTerminalTimeout(*t.MaxRuntimeSeconds, terminalTimeout)
		if effective == "" {
			effective = terminalTimeout
		}
		if effective != "" {
			b.add("Terminal timeout: " + effective + "s")
		}
	}
	if t.BranchName != nil && *t.BranchName != "" {
		b.add("Branch:   " + *t.BranchName)
	}
	b.add("")
	if t.Body != nil && py.Strip(*t.Body) != "" {
		b.add("## Body", ctxCap(*t.Body, ctxMaxBody), "")
	}
}

// workerTerminalTimeout is upstream's _worker_terminal_timeout_env: the
// TERMINAL_TIMEOUT a worker gets when its runtime cap (less a grace)
// exceeds the inherited one, else "".
func workerTerminalTimeout(maxRuntime int64, current string) string {
	if maxRuntime <= 0 {
		return ""
	}
	desired := max(1, maxRuntime-terminalTimeoutGrace)
	existing, err := strconv.ParseInt(strings.TrimSpace(current), 10, 64)
	if err != nil {
		existing = 0
	}
	if existing >= desired {
		return ""
	}
	return strconv.FormatInt(desired, 10)
}

func (b *ctxBuilder) attachments(atts []store.Attachment) {
	if len(atts) == 0 {
		return
	}
	b.add("## Attachments", "Files attached to this task. Read them with the file/terminal tools at the absolute paths below:")
	for _, a := range atts {
		size := ""
		if a.Size != 0 {
			size = fmt.Sprintf(", %d KB", max(1, (a.Size+1023)/1024))
		}
		ctype := ""
		if a.ContentType != nil && *a.ContentType != "" {
			ctype = ", " + *a.ContentType
		}
		b.add("- `" + a.Filename + "`" + ctype + size + " → `" + a.StoredPath + "`")
	}
	b.add("")
}

func (b *ctxBuilder) priorAttempts(runs []store.Run, now int64) {
	var closed []store.Run
	for _, r := range runs {
		if r.EndedAt != nil {
			closed = append(closed, r)
		}
	}
	shown, note := ctxTail(len(closed), ctxMaxPriorAttempts, "attempt")
	if shown == 0 {
		return
	}
	b.add("## Prior attempts on this task")
	if note != "" {
		b.add(note)
	}
	first := len(closed) - shown
	for i, r := range closed[first:] {
		outcome := strOrDefault(r.Outcome, r.Status)
		b.add(fmt.Sprintf("### Attempt %d — %s (%s, %s)", first+i+1, outcome, strOrDefault(r.Profile, "(unknown)"), ctxStamp(r.StartedAt, now)))
		if r.Summary != nil && py.Strip(*r.Summary) != "" {
			b.add(ctxCap(*r.Summary, ctxMaxField))
		}
		if r.Error != nil && py.Strip(*r.Error) != "" {
			b.add("_error_: " + ctxCap(*r.Error, ctxMaxField))
		}
		if m := ctxMetadataLine(r.Metadata); m != "" {
			b.add(m)
		}
		b.add("")
	}
}

// ctxParentResults adds each done parent's handoff: its newest completed
// run's summary and metadata, else the task result.
func ctxParentResults(st *store.Store, b *ctxBuilder, id string, now int64) error {
	parents, err := st.ParentIDs(id)
	if err != nil {
		return err
	}
	wrote := false
	for _, pid := range parents {
		pt, err := st.GetTask(pid)
		if err != nil {
			return err
		}
		if pt == nil || pt.Status != "done" {
			continue
		}
		run, err := newestCompletedRun(st, pid)
		if err != nil {
			return err
		}
		if !wrote {
			b.add("## Parent task results", "_Handoffs from upstream tasks, captured when each parent completed (see age below). "+
				"These are point-in-time snapshots, not live state — if a result drives your current work and it's not recent, "+
				"re-verify against the source before acting on it as current._")
			wrote = true
		}
		b.parentResult(pt, run, now)
	}
	return nil
}

func (b *ctxBuilder) parentResult(pt *store.Task, run *store.Run, now int64) {
	var done *int64
	if run != nil && run.EndedAt != nil && *run.EndedAt != 0 {
		done = run.EndedAt
	} else if pt.CompletedAt != nil && *pt.CompletedAt != 0 {
		done = pt.CompletedAt
	}
	head := "### " + pt.ID
	if done != nil {
		head += " (completed " + relativeAge(*done, now) + ")"
	}
	b.add(head)
	switch {
	case run != nil && run.Summary != nil && py.Strip(*run.Summary) != "":
		b.add(ctxCap(*run.Summary, ctxMaxField))
	case pt.Result != nil && *pt.Result != "":
		b.add(ctxCap(*pt.Result, ctxMaxField))
	default:
		b.add("(no result recorded)")
	}
	if run != nil {
		if m := ctxMetadataLine(run.Metadata); m != "" {
			b.add(m)
		}
	}
	b.add("")
}

// newestCompletedRun is the completed run that started last (the earliest
// such run on a tie, as Python's stable reverse sort picks).
func newestCompletedRun(st *store.Store, id string) (*store.Run, error) {
	runs, err := st.ListRuns(id, "outcome", "completed")
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt > runs[j].StartedAt })
	return &runs[0], nil
}

// ctxRoleHistory adds the assignee's five latest completed runs on other
// tasks: role continuity without any memory file.
func ctxRoleHistory(st *store.Store, b *ctxBuilder, t *store.Task, now int64) error {
	if t.Assignee == nil || *t.Assignee == "" {
		return nil
	}
	var lines []string
	err := sqlx.Query(st.Conn(), `SELECT t.id AS id, t.title AS title, r.summary AS summary, r.ended_at AS ended_at
		FROM task_runs r JOIN tasks t ON r.task_id = t.id
		WHERE r.profile = ? AND r.task_id != ? AND r.outcome = 'completed'
		ORDER BY r.ended_at DESC LIMIT 5`, []any{*t.Assignee, t.ID}, func(r *sqlx.Row) error {
		first := py.FirstLine(store.Str(r.NullText("summary")), 200)
		if first == "" {
			first = "(no summary)"
		}
		lines = append(lines, "- "+r.Text("id")+" — "+r.Text("title")+" ("+ctxStamp(r.Int("ended_at"), now)+"): "+first)
		return nil
	})
	if err != nil || len(lines) == 0 {
		return err
	}
	b.add("## Recent work by @" + *t.Assignee)
	b.add(lines...)
	b.add("")
	return nil
}

func (b *ctxBuilder) comments(comments []store.Comment, now int64) {
	shown, note := ctxTail(len(comments), ctxMaxComments, "comment")
	if shown == 0 {
		return
	}
	b.add("## Comment thread")
	if note != "" {
		b.add(note)
	}
	for _, c := range comments[len(comments)-shown:] {
		ts, _ := asInt64(c.CreatedAt)
		// The "comment from worker" framing keeps an operator-chosen author
		// name from reading as a system directive to the next worker.
		b.add("comment from worker `"+strings.ReplaceAll(c.Author, "`", "")+"` at "+ctxStamp(ts, now)+":", ctxCap(c.Body, ctxMaxComment), "")
	}
}

// ctxTail keeps the newest limit of n items and describes the rest.
func ctxTail(n, limit int, noun string) (shown int, note string) {
	if n <= limit {
		return n, ""
	}
	omitted := n - limit
	plural := "s"
	if omitted == 1 {
		plural = ""
	}
	return limit, fmt.Sprintf("_(%d earlier %s%s omitted; showing most recent %d)_", omitted, noun, plural, limit)
}

// ctxCap strips s and cuts it to limit characters with a visible marker.
func ctxCap(s string, limit int) string {
	s = py.Strip(s)
	n := py.Len(s)
	if n <= limit {
		return s
	}
	return py.Cut(s, limit) + fmt.Sprintf("… [truncated, %d chars omitted]", n-limit)
}

// ctxStamp is "YYYY-MM-DD HH:MM, <age>" in local time.
func ctxStamp(ts, now int64) string {
	return time.Unix(ts, 0).Local().Format("2006-01-02 15:04") + ", " + relativeAge(ts, now)
}

// relativeAge is "just now", "Nm ago", "Nh ago" or "Nd ago": a bare date
// reads as current fact to a model, an age prompts it to re-verify.
func relativeAge(ts, now int64) string {
	d := now - ts
	switch {
	case d < 60:
		return "just now"
	case d < 3600:
		return fmt.Sprintf("%dm ago", d/60)
	case d < 86400:
		return fmt.Sprintf("%dh ago", d/3600)
	}
	return fmt.Sprintf("%dd ago", d/86400)
}

// ctxMetadataLine renders run metadata as sorted-key JSON, "" when empty.
func ctxMetadataLine(meta any) string {
	if !py.Truthy(meta) {
		return ""
	}
	return "_metadata_: `" + ctxCap(py.Compact(sortKeys(meta)), ctxMaxField) + "`"
}

// sortKeys orders every object's keys, as json.dumps(sort_keys=True).
func sortKeys(v any) any {
	switch x := v.(type) {
	case py.Object:
		o := make(py.Object, len(x))
		for i, m := range x {
			o[i] = py.Member{Key: m.Key, Value: sortKeys(m.Value)}
		}
		sort.SliceStable(o, func(i, j int) bool { return o[i].Key < o[j].Key })
		return o
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sortKeys(e)
		}
		return out
	}
	return v
}

// asInt64 reads an integer column value that may be stored as text.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func strOrDefault(s *string, def string) string {
	if s == nil || *s == "" {
		return def
	}
	return *s
}
