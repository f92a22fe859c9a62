package cli

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	requestReviewVerb = &verbInfo{name: "request-review", usage: "request-review <task_id> [--summary S] [--reviewer P] [--metadata JSON] [--force]",
		summary: "hand a task to review (implementation done, awaiting review)", required: []string{"task_id"}, maxArgs: 1, mutating: true,
		new:     func() command { return &requestReviewCmd{} },
		example: "  kanban request-review $HERMES_KANBAN_TASK --summary \"API done, tests green\" --reviewer reviewer"}
	requestChangesVerb = &verbInfo{name: "request-changes", usage: "request-changes <task_id> <reason…>",
		summary: "reviewer verdict: return the task to its implementer", required: []string{"task_id", "reason"}, maxArgs: -1, mutating: true,
		new: func() command { return &requestChangesCmd{} }, example: "  kanban request-changes $HERMES_KANBAN_TASK missing tests for the error path"}
	reopenReviewVerb = &verbInfo{name: "reopen-review", usage: "reopen-review <task_id>… [--reason R]",
		summary: "send tasks in review back for changes (review -> ready/todo)", required: []string{"task_ids"}, maxArgs: -1, mutating: true,
		new: func() command { return &reopenReviewCmd{} }, example: "  kanban reopen-review t_9fc1a3 --reason \"handle the empty list\""}
)

type requestReviewCmd struct {
	summary, reviewer, metadata optString
	force                       bool
}

func (c *requestReviewCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.summary, "summary", "what was implemented and how it was verified")
	fs.Var(&c.reviewer, "reviewer", "reviewer profile (reassigns the task)")
	fs.Var(&c.metadata, "metadata", "JSON object of reviewer handoff facts")
	fs.BoolVar(&c.force, "force", false, "move a running, claimed task to review without owning its run")
}

func (c *requestReviewCmd) run(ctx context.Context, a *App, args []string) error {
	id := args[0]
	summary := strippedOrNil(c.summary.v)
	meta, err := parseMetadata(c.metadata.v)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	run, err := a.workerRunID(id)
	if err != nil {
		return err
	}
	ok, reason, err := st.RequestReview(ctx, id, store.ReviewRequest{Summary: summary, Metadata: meta,
		Reviewer: c.reviewer.v, ExpectedRun: run, Force: c.force})
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot request review for %s: %s", id, strOr(&reason, "not running/ready?"))
	}
	latest, err := st.LatestRun(id)
	if err != nil {
		return err
	}
	line := "Requested review for " + id
	if latest != nil && latest.Summary != nil && *latest.Summary != "" {
		line += ": " + *latest.Summary
	}
	a.out("%s", line)
	return nil
}

// strippedOrNil is upstream's _stripped_or_none.
func strippedOrNil(s *string) *string {
	if s == nil {
		return nil
	}
	t := py.Strip(*s)
	if t == "" {
		return nil
	}
	return &t
}

type requestChangesCmd struct{}

func (c *requestChangesCmd) flags(*pflag.FlagSet) {}

func (c *requestChangesCmd) run(ctx context.Context, a *App, args []string) error {
	id := args[0]
	reason := py.Strip(strings.Join(args[1:], " "))
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	run, err := a.workerRunID(id)
	if err != nil {
		return err
	}
	ok, detail, err := st.RequestChanges(ctx, id, reason, run)
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot request changes for %s: %s", id, strOr(&detail, "invalid review state"))
	}
	line := "Requested changes for " + id
	if detail != "" {
		line += "; routed to " + detail
	}
	a.out("%s", line)
	return nil
}

type reopenReviewCmd struct{ reason optString }

func (c *reopenReviewCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.reason, "reason", "why (recorded as a CHANGES REQUESTED comment)")
}

func (c *reopenReviewCmd) run(ctx context.Context, a *App, ids []string) error {
	reason := strippedOrNil(c.reason.v)
	suffix := ""
	if reason != nil {
		suffix = ": " + *reason
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	author := a.Env.Author()
	return a.bulkApply(ids, func(id string) (bool, error) {
		ok, err := st.ReopenReview(ctx, id)
		if err != nil || !ok || reason == nil {
			return ok, err
		}
		_, err = st.AddComment(ctx, id, author, "CHANGES REQUESTED: "+*reason)
		return true, err
	}, func(id string) string { return "Reopened " + id + suffix },
		func(id string) string { return "cannot reopen " + id + " (not in review?)" })
}
