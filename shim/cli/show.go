package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	showVerb = &verbInfo{name: "show", usage: "show <task_id> [--json] [--state-type status|outcome --state-name V]",
		summary: "show a task with comments, events and runs", required: []string{"task_id"}, maxArgs: 1,
		new: func() command { return &showCmd{} }, example: "  kanban show t_9fc1a3\n  kanban show t_9fc1a3 --json | jq .runs"}
)

type showCmd struct {
	json      bool
	stateType choiceString
	stateName optString
}

func (c *showCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "JSON output")
	c.stateType = choiceString{choices: []string{"status", "outcome"}}
	fs.Var(&c.stateType, "state-type", "filter runs by status or outcome (with --state-name)")
	fs.Var(&c.stateName, "state-name", "value for --state-type")
}

// runState validates the --state-type/--state-name pair.
func runState(verb string, t choiceString, n optString) (string, string, error) {
	if (t.v == nil) != (n.v == nil) {
		return "", "", usagef("kanban %s: pass both --state-type and --state-name, or omit both", verb)
	}
	return t.String(), n.String(), nil
}

func (c *showCmd) run(ctx context.Context, a *App, args []string) error {
	stType, stName, err := runState("show", c.stateType, c.stateName)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := args[0]
	t, err := st.GetTask(id)
	if err != nil {
		return err
	}
	if t == nil {
		return failf("no such task: %s", id)
	}
	d, err := loadDetail(st, id, stType, stName)
	if err != nil {
		return err
	}
	if c.json {
		a.printJSON(d.object(t), false)
		return nil
	}
	a.printShow(t, d)
	return nil
}

type detail struct {
	comments []store.Comment
	events   []store.Event
	parents  []string
	children []string
	runs     []store.Run
	summary  *string
}

func loadDetail(st *store.Store, id, stType, stName string) (*detail, error) {
	d := &detail{}
	var err error
	if d.comments, err = st.ListComments(id); err != nil {
		return nil, err
	}
	if d.events, err = st.ListEvents(id); err != nil {
		return nil, err
	}
	if d.parents, err = st.ParentIDs(id); err != nil {
		return nil, err
	}
	if d.children, err = st.ChildIDs(id); err != nil {
		return nil, err
	}
	if d.runs, err = st.ListRuns(id, stType, stName); err != nil {
		return nil, err
	}
	d.summary, err = st.LatestSummary(id)
	return d, err
}

func (d *detail) object(t *store.Task) py.Object {
	comments, events, runs := []any{}, []any{}, []any{}
	for _, c := range d.comments {
		comments = append(comments, py.Obj("author", c.Author, "body", c.Body, "created_at", c.CreatedAt))
	}
	for _, e := range d.events {
		events = append(events, py.Obj("kind", e.Kind, "payload", e.Payload, "created_at", e.CreatedAt, "run_id", e.RunID))
	}
	for _, r := range d.runs {
		runs = append(runs, runObject(r, showRunFields))
	}
	return py.Obj("task", taskObject(t), "latest_summary", d.summary, "parents", strList(d.parents),
		"children", strList(d.children), "comments", comments, "events", events, "runs", runs)
}

func strList(ss []string) []any {
	out := []any{}
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

func (a *App) printShow(t *store.Task, d *detail) {
	field := func(label, value string) { a.out("  %s%s", padRight(label+":", 11), value) }
	a.out("Task %s: %s", t.ID, t.Title)
	field("status", t.Status)
	field("assignee", strOr(t.Assignee, "-"))
	if t.Tenant != nil && *t.Tenant != "" {
		field("tenant", *t.Tenant)
	}
	ws := t.WorkspaceKind
	if t.WorkspacePath != nil && *t.WorkspacePath != "" {
		ws += " @ " + *t.WorkspacePath
	}
	field("workspace", ws)
	if t.BranchName != nil && *t.BranchName != "" {
		field("branch", *t.BranchName)
	}
	if len(t.Skills) > 0 {
		field("skills", strings.Join(t.Skills, ", "))
	}
	if t.ModelOverride != nil {
		m := *t.ModelOverride
		if t.ProviderOverride != nil {
			m += " (provider: " + *t.ProviderOverride + ")"
		}
		field("model", m)
	}
	a.out("%s", a.maxRetriesLine(t))
	field("created", fmt.Sprintf("%s by %s", fmtTS(t.CreatedAt), strOr(t.CreatedBy, "-")))
	if t.StartedAt != nil && *t.StartedAt != 0 {
		field("started", fmtTS(t.StartedAt))
	}
	if t.CompletedAt != nil && *t.CompletedAt != 0 {
		field("completed", fmtTS(t.CompletedAt))
	}
	if len(d.parents) > 0 {
		field("parents", strings.Join(d.parents, ", "))
	}
	if len(d.children) > 0 {
		field("children", strings.Join(d.children, ", "))
	}
	if t.Body != nil && *t.Body != "" {
		a.section("Body:", *t.Body)
	}
	if t.Result != nil && *t.Result != "" {
		a.section("Result:", *t.Result)
	} else if d.summary != nil {
		a.section("Latest summary:", *d.summary)
	}
	if len(d.comments) > 0 {
		var lines []string
		for _, c := range d.comments {
			lines = append(lines, fmt.Sprintf("  [%s] %s: %s", fmtTS(c.CreatedAt), c.Author, c.Body))
		}
		a.section(fmt.Sprintf("Comments (%d):", len(d.comments)), lines...)
	}
	if len(d.events) > 0 {
		shown := d.events
		if len(shown) > 20 {
			shown = shown[len(shown)-20:]
		}
		var lines []string
		for _, e := range shown {
			lines = append(lines, "  "+eventLine(e))
		}
		a.section(fmt.Sprintf("Events (%d):", len(d.events)), lines...)
	}
	if len(d.runs) > 0 {
		a.out("")
		a.out("Runs (%d):", len(d.runs))
		for _, r := range d.runs {
			el := "active"
			if r.EndedAt != nil && *r.EndedAt != 0 {
				el = fmt.Sprintf("%ds", max(0, *r.EndedAt-r.StartedAt))
			}
			outcome := strOr(r.Outcome, r.Status)
			if outcome == "" {
				outcome = "active"
			}
			a.out("  #%s %s @%s  %s  %s", padRight(fmt.Sprint(r.ID), 3), padRight(outcome, 12), strOr(r.Profile, "-"), el, fmtTS(r.StartedAt))
			if r.Summary != nil && *r.Summary != "" {
				a.out("        → %s", cut(firstLineOf(*r.Summary), 160))
			}
			if r.Error != nil && *r.Error != "" {
				a.out("        ! %s", cut(firstLineOf(*r.Error), 160))
			}
		}
	}
}

// eventLine is "[ts][ [run N]] kind[ payload]" with the payload in
// Python's repr, as upstream prints it.
func eventLine(e store.Event) string {
	s := "[" + fmtTS(e.CreatedAt) + "]"
	if e.RunID != nil && *e.RunID != 0 {
		s += fmt.Sprintf(" [run %d]", *e.RunID)
	}
	s += " " + e.Kind
	if py.Truthy(e.Payload) {
		s += " " + py.ReprValue(e.Payload)
	}
	return s
}

func (a *App) section(title string, lines ...string) {
	a.out("")
	a.out("%s", title)
	for _, l := range lines {
		a.out("%s", l)
	}
}

// maxRetriesLine explains the effective breaker limit: task, config, default.
func (a *App) maxRetriesLine(t *store.Task) string {
	if t.MaxRetries != nil {
		return fmt.Sprintf("  max-retries: %d (task)", *t.MaxRetries)
	}
	if n, ok, err := a.config.Int("failure_limit"); err == nil && ok && n != store.DefaultFailureLimit {
		return fmt.Sprintf("  max-retries: %d (config kanban.failure_limit)", n)
	}
	return fmt.Sprintf("  max-retries: %d (default)", store.DefaultFailureLimit)
}

// firstLineOf is Python's s.splitlines()[0].
func firstLineOf(s string) string {
	for i, r := range s {
		if r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == '\x1c' || r == '\x1d' || r == '\x1e' || r == '\x85' || r == '\u2028' || r == '\u2029' {
			return s[:i]
		}
	}
	return s
}

// cut truncates to n characters.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}
