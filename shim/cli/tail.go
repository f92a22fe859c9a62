package cli

import (
	"context"
	"errors"
	"math"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	tailVerb = &verbInfo{name: "tail", usage: "tail <task_id> [--interval SECONDS]", summary: "follow a task's event stream",
		required: []string{"task_id"}, maxArgs: 1, new: func() command { return &tailCmd{} },
		example: "  kanban tail t_9fc1a3\n  kanban tail t_9fc1a3 --interval 0.2"}
	watchVerb = &verbInfo{name: "watch", usage: "watch [--assignee P] [--tenant T] [--kinds a,b] [--interval SECONDS]",
		summary: "live-stream board events (Ctrl-C to stop)", maxArgs: 0, new: func() command { return &watchCmd{} },
		example: "  kanban watch\n  kanban watch --kinds completed,blocked,gave_up --assignee researcher"}
)

// watchBatch is how many events one watch poll reads, as upstream.
const watchBatch = 200

type tailCmd struct{ interval float64 }

func (c *tailCmd) flags(fs *pflag.FlagSet) {
	fs.Float64Var(&c.interval, "interval", 1.0, "poll interval in seconds (minimum 0.1)")
}

func (c *tailCmd) run(ctx context.Context, a *App, args []string) error {
	if err := a.initThenRelease(ctx); err != nil {
		return err
	}
	id := args[0]
	a.out("Tailing events for %s. Ctrl-C to stop.", id)
	var last int64
	return a.poll(ctx, c.interval, func(st *store.Store) error {
		events, err := st.ListEvents(id)
		if err != nil {
			return err
		}
		for _, e := range events {
			if e.ID > last {
				a.out("[%s] %s%s", fmtTS(e.CreatedAt), e.Kind, payloadSuffix(e.Payload))
				last = e.ID
			}
		}
		return nil
	})
}

type watchCmd struct {
	assignee, tenant, kinds optString
	interval                float64
}

func (c *watchCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.assignee, "assignee", "only events of tasks assigned to this profile")
	fs.Var(&c.tenant, "tenant", "only events of tasks in this tenant")
	fs.Var(&c.kinds, "kinds", "comma-separated event kinds to include")
	fs.Float64Var(&c.interval, "interval", 0.5, "poll interval in seconds (minimum 0.1)")
}

func (c *watchCmd) run(ctx context.Context, a *App, _ []string) error {
	if err := a.initThenRelease(ctx); err != nil {
		return err
	}
	kinds := c.kindSet()
	// The starting point is read before the banner is printed: whoever
	// sees the banner and then writes must see that write streamed (read
	// after it, the write could land in the skipped history).
	var cursor int64
	err := a.withReader(ctx, func(st *store.Store) (err error) {
		cursor, err = st.MaxEventID() // start after history: no replay
		return err
	})
	if err != nil {
		return a.stopped(ctx, err)
	}
	a.out("Watching kanban events. Ctrl-C to stop.")
	return a.poll(ctx, c.interval, func(st *store.Store) error {
		rows, err := st.EventsAfter(cursor, "", watchBatch)
		if err != nil {
			return err
		}
		for _, r := range rows {
			cursor = max(cursor, r.ID)
			if c.skip(r, kinds) {
				continue
			}
			a.out("[%s] %s %s (@%s)%s", fmtTS(r.CreatedAt), padRight(r.TaskID, 10), padRight(r.Kind, 18), strOr(r.Assignee, "-"), payloadSuffix(r.Payload))
		}
		return nil
	})
}

// kindSet parses --kinds; nil means every kind.
func (c *watchCmd) kindSet() map[string]bool {
	if c.kinds.v == nil {
		return nil
	}
	set := map[string]bool{}
	for _, k := range strings.Split(*c.kinds.v, ",") {
		if k = strings.TrimSpace(k); k != "" {
			set[k] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	return set
}

// skip applies the filters; assignee and tenant compare exactly, as
// upstream does.
func (c *watchCmd) skip(r store.EventRow, kinds map[string]bool) bool {
	if kinds != nil && !kinds[r.Kind] {
		return true
	}
	if c.assignee.v != nil && *c.assignee.v != "" && strOr(r.Assignee, "\x00") != *c.assignee.v {
		return true
	}
	return c.tenant.v != nil && *c.tenant.v != "" && strOr(r.Tenant, "\x00") != *c.tenant.v
}

// payloadSuffix is " <repr(payload)>" for a truthy payload, else "".
func payloadSuffix(p any) string {
	if !py.Truthy(p) {
		return ""
	}
	return " " + py.ReprValue(p)
}

// initThenRelease runs upstream's auto-init (create or migrate the board,
// refuse a damaged one) and then lets go of the store, so a long-running
// reader holds nothing between polls.
func (a *App) initThenRelease(ctx context.Context) error {
	if _, err := a.open(ctx); err != nil {
		return err
	}
	a.flushDamageWarning() // now: the command runs until stopped
	err := a.st.Close()
	a.st = nil
	return err
}

// withReader opens a read-only connection for one poll and closes it.
func (a *App) withReader(ctx context.Context, fn func(st *store.Store) error) error {
	st, err := store.OpenRead(ctx, a.dbPath(), a.storeOptions())
	if err != nil {
		return err
	}
	return errors.Join(fn(st), st.Close())
}

// poll runs tick on a fresh read connection every interval (at least
// 0.1 s, as upstream) until the command is cancelled.
func (a *App) poll(ctx context.Context, interval float64, tick func(st *store.Store) error) error {
	d := pollInterval(interval)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return a.stopped(ctx, nil)
		case <-timer.C:
		}
		if err := a.withReader(ctx, tick); err != nil {
			return a.stopped(ctx, err)
		}
		timer.Reset(d)
	}
}

// stopped ends a poll loop. Ctrl-C (SIGINT) is the normal way out, as in
// upstream: "(stopped)" and success. Any other signal is returned as the
// cause, so the process exits 128+n; an error while not cancelled is the
// error.
func (a *App) stopped(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	var se *lockd.SignalError
	if errors.As(cause, &se) && se.Signal == syscall.SIGINT {
		a.out("\n(stopped)")
		return nil
	}
	return cause
}

// pollInterval is max(0.1 s, interval), NaN as 0.1 s, capped far away so
// the conversion cannot overflow.
func pollInterval(sec float64) time.Duration {
	switch {
	case math.IsNaN(sec) || sec < 0.1:
		sec = 0.1
	case sec > 1e9:
		sec = 1e9
	}
	return time.Duration(sec * float64(time.Second))
}
