package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/recover"
)

// maxKeysShown caps the keys listed per table in diff's text output.
const maxKeysShown = 5

type diffVerb struct {
	jsonFlag
	old, new string
}

func (c *diffVerb) flags(fs *pflag.FlagSet) { c.jsonFlag.register(fs) }

func (c *diffVerb) args(args []string) error {
	if len(args) != 2 {
		return errors.New("two boards are required: diff OLD NEW")
	}
	c.old, c.new = args[0], args[1]
	return nil
}

// run compares two boards row by row; differences are not a failure.
func (c *diffVerb) run(ctx context.Context, a *App, _ target) (result, error) {
	paths := [2]string{}
	for i, p := range []string{c.old, c.new} {
		abs, err := filepath.Abs(a.Env.ExpandUser(p))
		if err != nil {
			return result{}, err
		}
		paths[i] = abs
	}
	d, err := recover.Diff(ctx, paths[0], paths[1])
	if err != nil {
		return result{}, err
	}
	if !c.json {
		a.printDiff(d)
	}
	return result{obj: d}, nil
}

// printDiff is diff's text: a line per table, the first keys of each kind
// of difference, how each side was read, and a verdict.
func (a *App) printDiff(d *recover.DiffReport) {
	d.Text(a.Stdout)
	differ := 0
	for _, t := range d.Tables {
		if t.OnlyOld+t.OnlyNew+t.Changed == 0 {
			continue
		}
		differ++
		for _, k := range []struct {
			name string
			keys []string
			n    int
		}{{"only-old", t.OnlyOldKeys, t.OnlyOld}, {"only-new", t.OnlyNewKeys, t.OnlyNew}, {"changed", t.ChangedKeys, t.Changed}} {
			if k.n > 0 {
				a.out("  %s %s: %s", t.Table, k.name, keyList(k.keys, k.n))
			}
		}
	}
	for side, by := range map[string]string{"old": d.OldReadBy, "new": d.NewReadBy} {
		if by == recover.ReadBySalvage {
			a.out("the %s board was read by the salvager: SQLite could not read it", side)
		}
	}
	a.printLoss("old: ", d.OldLoss, true)
	a.printLoss("new: ", d.NewLoss, true)
	differs := ""
	if differ > 0 {
		differs = fmt.Sprintf("%d table(s) differ", differ)
	}
	a.out("%s", diffVerdict(d, "no differences", differs))
}

func keyList(keys []string, n int) string {
	shown := keys[:min(len(keys), maxKeysShown)]
	s := strings.Join(shown, ", ")
	if n > len(shown) {
		s += fmt.Sprintf(", … (%d in all)", n)
	}
	return s
}
