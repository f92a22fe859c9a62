package cli

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

// claimFromReview is what the dispatcher does for the review lane: a new
// run claimed from review, which request-changes needs.
func claimFromReview(t *testing.T, e *verbsEnv, id string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, e.dbPath(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := st.ClaimReviewTask(ctx, id, 900, "")
	if err != nil || res.Task == nil {
		t.Fatalf("claim from review: %v %+v", err, res)
	}
	return res.RunID
}

func TestReview_RoundTripRoutesBackAndReusesReviewer(t *testing.T) {
	e := newVerbsEnv(t)
	id := e.create(t, "feature", "--assignee", "alice")
	if out := e.must(t, "request-review", id, "--summary", "ready for eyes", "--reviewer", "Bob"); out != "Requested review for "+id+": ready for eyes\n" {
		t.Fatalf("request-review: %q", out)
	}
	run := claimFromReview(t, e, id)

	// A worker of another task may not hand this review back.
	e.vars["HERMES_KANBAN_TASK"] = "t_0f0f0f0f"
	_, errs, code := e.run(t, "request-changes", id, "nope")
	if code != 1 || errs != "kanban: worker is scoped to task t_0f0f0f0f; refusing to mutate "+id+"\n" {
		t.Errorf("scoped request-changes: exit %d, stderr %q", code, errs)
	}
	// The reviewer's own worker with a stale run id is refused.
	e.vars["HERMES_KANBAN_TASK"], e.vars["HERMES_KANBAN_RUN_ID"] = id, "99999"
	_, errs, code = e.run(t, "request-changes", id, "nope")
	if code != 1 || errs != "cannot request changes for "+id+": run_id mismatch\n" {
		t.Errorf("stale run: exit %d, stderr %q", code, errs)
	}
	e.vars["HERMES_KANBAN_RUN_ID"] = strconv.FormatInt(run, 10)
	out := e.must(t, "request-changes", id, "  add", "the", "docs  ")
	if out != "Requested changes for "+id+"; routed to alice\n" {
		t.Errorf("request-changes: %q", out)
	}
	delete(e.vars, "HERMES_KANBAN_TASK")
	delete(e.vars, "HERMES_KANBAN_RUN_ID")

	show := e.must(t, "show", id)
	for _, want := range []string{"  status:    ready\n", "  assignee:  alice\n",
		"changes_requested {'reason': 'add the docs', 'implementer': 'alice', 'reviewer': 'bob', 'status': 'ready'}",
		"#" + strconv.FormatInt(run, 10) + "   changes_requested @bob"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}

	// Re-review without --reviewer goes back to the reviewer who asked.
	e.must(t, "request-review", id)
	show = e.must(t, "show", id)
	if !strings.Contains(show, "  assignee:  bob\n") || !strings.Contains(show, "review_requested {'summary': None, 'implementer': 'alice', 'reviewer': 'bob'}") {
		t.Errorf("re-review did not route to the prior reviewer:\n%s", show)
	}
}

func TestReview_RequestChangesRefusals(t *testing.T) {
	e := newVerbsEnv(t)
	id := e.create(t, "feature", "--assignee", "alice")
	e.must(t, "claim", id)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"request-changes", "t_00000000", "x"}, "cannot request changes for t_00000000: task not found\n"},
		{[]string{"request-changes", id, "  "}, "cannot request changes for " + id + ": reason is required\n"},
		{[]string{"request-changes", id, "x"}, "cannot request changes for " + id + ": active run was not claimed from review\n"},
	} {
		out, errs, code := e.run(t, c.args...)
		if code != 1 || out != "" || errs != c.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 1 and %q", c.args, code, out, errs, c.want)
		}
	}
}
