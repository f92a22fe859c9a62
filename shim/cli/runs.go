package cli

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"
)

var (
	runsVerb = &verbInfo{name: "runs", usage: "runs <task_id> [--json] [--state-type status|outcome --state-name V]", summary: "show a task's attempt history",
		required: []string{"task_id"}, maxArgs: 1, new: func() command { return &runsCmd{} },
		example: "  kanban runs t_9fc1a3\n  kanban runs t_9fc1a3 --state-type outcome --state-name crashed --json"}
)

type runsCmd struct {
	json      bool
	stateType choiceString
	stateName optString
}

func (c *runsCmd) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.json, "json", false, "JSON output")
	c.stateType = choiceString{choices: []string{"status", "outcome"}}
	fs.Var(&c.stateType, "state-type", "filter by status or outcome (with --state-name)")
	fs.Var(&c.stateName, "state-name", "value for --state-type")
}

// fmtElapsed is "Ns" under a minute, "Nm" under an hour, else "N.Nh".
func fmtElapsed(sec int64) string {
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm", sec/60)
	}
	return fmt.Sprintf("%.1fh", float64(sec)/3600)
}

func (c *runsCmd) run(ctx context.Context, a *App, args []string) error {
	stType, stName, err := runState("runs", c.stateType, c.stateName)
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	runs, err := st.ListRuns(args[0], stType, stName)
	if err != nil {
		return err
	}
	if c.json {
		out := []any{}
		for _, r := range runs {
			out = append(out, runObject(r, runsRunFields))
		}
		a.printJSON(out, false)
		return nil
	}
	if len(runs) == 0 {
		a.out("(no runs yet for %s)", args[0])
		return nil
	}
	a.out("%s  %s  %s  %s  STARTED", padRight("#", 3), padRight("OUTCOME", 12), padRight("PROFILE", 16), padLeft("ELAPSED", 8))
	now := a.now().Unix()
	for i, r := range runs {
		end := now
		if r.EndedAt != nil && *r.EndedAt != 0 {
			end = *r.EndedAt
		}
		outcome := strOr(r.Outcome, "")
		if outcome == "" {
			outcome = r.Status
			if r.EndedAt == nil || *r.EndedAt == 0 {
				outcome = "(running)"
			}
		}
		a.out("%s  %s  %s  %s  %s", padLeft(fmt.Sprint(i+1), 3), padRight(outcome, 12), padRight(strOr(r.Profile, "-"), 16),
			padLeft(fmtElapsed(max(0, end-r.StartedAt)), 8), fmtTS(r.StartedAt))
		if r.Summary != nil && *r.Summary != "" {
			a.out("     → %s", cut(firstLineOf(*r.Summary), 100))
		}
		if r.Error != nil && *r.Error != "" {
			a.out("     ✖ %s", cut(*r.Error, 100))
		}
	}
	return nil
}
