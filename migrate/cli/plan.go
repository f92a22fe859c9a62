package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/migrate"
)

// planVerb prints the statements apply would run, in order, as a script.
type planVerb struct{ json bool }

func (v *planVerb) flags(fs *pflag.FlagSet) { fs.BoolVar(&v.json, "json", false, "print JSON") }
func (v *planVerb) jsonOut() bool           { return v.json }

type planJSON struct {
	Board *string        `json:"board"`
	DB    string         `json:"db_path"`
	Steps []migrate.Step `json:"steps"`
	Empty bool           `json:"empty,omitempty"` // a zero-byte file: kanban initialises it
	Error string         `json:"error,omitempty"`
}

func (v *planVerb) run(ctx context.Context, a *App, t target) (any, error) {
	if t.Missing {
		if !v.json {
			fmt.Fprintf(a.Stdout, "-- %s: no database yet\n", t.Describe())
		}
		return planJSON{Board: t.SlugOrNil(), DB: t.DB, Steps: []migrate.Step{}}, nil
	}
	steps, err := migrate.PlanUpgrade(ctx, t.DB, a.now(), a.busyTimeout())
	if errors.Is(err, migrate.ErrEmptyBoard) {
		if !v.json {
			fmt.Fprintf(a.Stdout, "-- %s: %s; nothing to plan\n", t.Describe(), emptyNote)
		}
		return planJSON{Board: t.SlugOrNil(), DB: t.DB, Steps: []migrate.Step{}, Empty: true}, nil
	}
	err = a.explain(t, err)
	if steps == nil {
		steps = []migrate.Step{}
	}
	obj := planJSON{Board: t.SlugOrNil(), DB: t.DB, Steps: steps}
	if err != nil {
		obj.Error = oneLine(err.Error())
		return obj, err
	}
	if !v.json {
		a.writePlan(t, steps)
	}
	return obj, nil
}

func (a *App) writePlan(t target, steps []migrate.Step) {
	w := a.Stdout
	if len(steps) == 0 {
		fmt.Fprintf(w, "-- %s: nothing to do, the board is at the current schema\n", t.Describe())
		return
	}
	fmt.Fprintf(w, "-- %s: %d step%s, applied in one transaction\n", t.Describe(), len(steps), plural(len(steps)))
	fmt.Fprintln(w, "BEGIN IMMEDIATE;")
	for _, s := range steps {
		fmt.Fprintf(w, "-- step %s: %s\n", s.N, s.Name)
		for _, q := range s.Statements {
			fmt.Fprintf(w, "%s;\n", q)
		}
	}
	fmt.Fprintln(w, "COMMIT;")
}
