package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/recover"
)

type salvageVerb struct {
	jsonFlag
	snapshotChoice
	out string
}

func (c *salvageVerb) flags(fs *pflag.FlagSet) {
	c.jsonFlag.register(fs)
	c.snapshotChoice.register(fs)
	fs.StringVar(&c.out, "out", "", "the fresh database to write (must not exist)")
}

func (c *salvageVerb) args(args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if c.out == "" {
		return errors.New("--out NEW.db is required")
	}
	return c.snapshotChoice.validate()
}

// salvageJSON is salvage's --json object.
type salvageJSON struct {
	Board *string `json:"board"`
	*recover.Report
}

// run salvages a copy of the board into --out, filling in from a
// snapshot what its pages lost; the board is only read.
func (c *salvageVerb) run(ctx context.Context, a *App, t target) (result, error) {
	out, err := filepath.Abs(a.Env.ExpandUser(c.out))
	if err != nil {
		return result{}, err
	}
	dir, snap, err := c.source(a, t)
	if err != nil {
		return result{}, err
	}
	rep, err := recover.Salvage(ctx, recover.SalvageOptions{DBPath: t.DB, OutPath: out, Progress: a.progress(), Now: a.Now,
		SnapshotDir: dir, SnapshotPath: snap})
	switch {
	case errors.Is(err, recover.ErrNoBoard):
		return result{}, fmt.Errorf("no board database at %s", t.DB)
	case errors.Is(err, recover.ErrOutputExists):
		return result{}, fmt.Errorf("%s already exists; salvage never writes over a file", out)
	case err != nil:
		return result{}, err
	}
	if !c.json {
		rep.Text(a.Stdout)
		a.out("next: kanban-recover diff %s %s, then %s swap %s", t.DB, out, selectorArgs(t), out)
	}
	return result{obj: salvageJSON{Board: t.SlugOrNil(), Report: rep}}, nil
}

// selectorArgs is "kanban-recover --board SLUG" or "kanban-recover --db PATH".
func selectorArgs(t target) string {
	if t.Slug != "" {
		return Prog + " --board " + t.Slug
	}
	return Prog + " --db " + t.DB
}
