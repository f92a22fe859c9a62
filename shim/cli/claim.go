package cli

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	claimVerb = &verbInfo{name: "claim", usage: "claim <task_id> [--ttl SECONDS]", summary: "claim a ready task (ready -> running)",
		required: []string{"task_id"}, maxArgs: 1, mutating: true, new: func() command { return &claimCmd{} },
		example: "  kanban claim t_9fc1a3 --ttl 600"}
	heartbeatVerb = &verbInfo{name: "heartbeat", usage: "heartbeat <task_id> [--note TEXT]", summary: "record worker liveness on a running task",
		required: []string{"task_id"}, maxArgs: 1, mutating: true, new: func() command { return &heartbeatCmd{} },
		example: "  kanban heartbeat $HERMES_KANBAN_TASK --note \"tests passing, writing docs\""}
)

type claimCmd struct{ ttl int64 }

func (c *claimCmd) flags(fs *pflag.FlagSet) {
	intVar(fs, &c.ttl, "ttl", store.DefaultClaimTTL, "claim lifetime in seconds")
}

func (c *claimCmd) run(ctx context.Context, a *App, args []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	id := args[0]
	res, err := st.ClaimTask(ctx, id, store.ClaimTTL(&c.ttl, a.Env.Getenv), "")
	if err != nil {
		return err
	}
	if res.Task == nil {
		t, err := st.GetTask(id)
		if err != nil {
			return err
		}
		if t == nil {
			return failf("no such task: %s", id)
		}
		return failf("%s", (&store.ClaimError{ID: id, Status: t.Status, Lock: t.ClaimLock}).Error())
	}
	ws, err := store.ResolveWorkspace(res.Task, a.storeOptions().Paths)
	if err != nil {
		return err
	}
	if err := st.SetWorkspacePath(ctx, id, ws); err != nil {
		return err
	}
	a.out("Claimed %s\nWorkspace: %s", id, ws)
	return nil
}

type heartbeatCmd struct{ note optString }

func (c *heartbeatCmd) flags(fs *pflag.FlagSet) { fs.Var(&c.note, "note", "what the worker is doing") }

func (c *heartbeatCmd) run(ctx context.Context, a *App, args []string) error {
	id := args[0]
	run, err := a.workerRunID(id)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	ok, err := st.HeartbeatWorker(ctx, id, c.note.v, run)
	if err != nil {
		return err
	}
	if !ok {
		return failf("cannot heartbeat %s (not running?)", id)
	}
	a.out("Heartbeat recorded for %s", id)
	return nil
}
