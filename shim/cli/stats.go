package cli

import (
	"context"
	"sort"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

var (
	statsVerb = &verbInfo{name: "stats", usage: "stats [--json]", summary: "counts by status and assignee",
		maxArgs: 0, new: func() command { return &statsCmd{} }, example: "  kanban stats --json"}
	assigneesVerb = &verbInfo{name: "assignees", usage: "assignees [--json]", summary: "known profiles and their task counts",
		maxArgs: 0, new: func() command { return &assigneesCmd{} }, example: "  kanban assignees"}
)

// statsStatuses are the statuses `stats` prints, in order: those upstream
// prints at the golden commit, which has no `review` line (later upstream
// versions take the list from their workflow table and add it). Tasks in
// review still count in --json's by_status and in By assignee.
var statsStatuses = []string{"triage", "todo", "scheduled", "ready", "running", "blocked", "done"}

type statsCmd struct{ json bool }

func (c *statsCmd) flags(fs *pflag.FlagSet) { fs.BoolVar(&c.json, "json", false, "JSON output") }

func (c *statsCmd) run(ctx context.Context, a *App, _ []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	s, err := st.BoardStats()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(s.ByAssignee))
	for n := range s.ByAssignee {
		names = append(names, n)
	}
	sort.Strings(names)
	if c.json {
		by := py.Object{}
		for _, n := range names {
			by = by.Set(n, s.ByAssignee[n])
		}
		a.printJSON(py.Obj("by_status", s.ByStatus, "by_assignee", by, "oldest_ready_age_seconds", s.OldestAge, "now", s.Now), false)
		return nil
	}
	a.out("By status:")
	for _, k := range statsStatuses {
		n, _ := s.ByStatus.Get(k)
		if n == nil {
			n = int64(0)
		}
		a.out("  %s  %v", padRight(k, 8), n)
	}
	if len(names) > 0 {
		a.out("\nBy assignee:")
		for _, n := range names {
			a.out("  %s  %s", padRight(n, 20), fmtCounts(s.ByAssignee[n], ""))
		}
	}
	if s.OldestAge != nil {
		a.out("\nOldest ready task age: %ds", *s.OldestAge)
	}
	return nil
}

type assigneesCmd struct{ json bool }

func (c *assigneesCmd) flags(fs *pflag.FlagSet) { fs.BoolVar(&c.json, "json", false, "JSON output") }

func (c *assigneesCmd) run(ctx context.Context, a *App, _ []string) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	counts, err := st.CountsByAssignee()
	if err != nil {
		return err
	}
	onDisk := map[string]bool{}
	names := map[string]bool{}
	for _, p := range a.Env.ProfilesOnDisk() {
		onDisk[p], names[p] = true, true
	}
	for n := range counts {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	if c.json {
		out := []any{}
		for _, n := range sorted {
			cts := counts[n]
			if cts == nil {
				cts = py.Object{}
			}
			out = append(out, py.Obj("name", n, "on_disk", onDisk[n], "counts", cts))
		}
		a.printJSON(out, false)
		return nil
	}
	if len(sorted) == 0 {
		a.out("(no assignees — create a profile with `hermes -p <name> setup`)")
		return nil
	}
	a.out("%s  %s  COUNTS", padRight("NAME", 20), padRight("ON DISK", 8))
	for _, n := range sorted {
		yes := "no"
		if onDisk[n] {
			yes = "yes"
		}
		a.out("%s  %s  %s", padRight(n, 20), padRight(yes, 8), fmtCounts(counts[n], "(idle)"))
	}
	return nil
}
