package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/recover"
)

type swapVerb struct {
	jsonFlag
	force   bool
	newPath string
}

func (c *swapVerb) flags(fs *pflag.FlagSet) {
	c.jsonFlag.register(fs)
	fs.BoolVar(&c.force, "force", false, "swap even while other processes have the board open")
}

func (c *swapVerb) args(args []string) error {
	if len(args) != 1 {
		return errors.New("the replacement board is required: swap NEW")
	}
	c.newPath = args[0]
	return nil
}

// swapJSON is swap's --json object.
type swapJSON struct {
	Board *string `json:"board"`
	*recover.SwapReport
	Error string `json:"error,omitempty"`
}

// run swaps the replacement in, holding <db>.recover.lock so no auto runs
// at the same time.
func (c *swapVerb) run(ctx context.Context, a *App, t target) (result, error) {
	np, err := filepath.Abs(a.Env.ExpandUser(c.newPath))
	if err != nil {
		return result{}, err
	}
	if _, err := os.Stat(t.DB); errors.Is(err, fs.ErrNotExist) {
		return result{}, fmt.Errorf("no board database at %s", t.DB)
	}
	lk, err := recover.LockRecover(t.DB)
	if err != nil {
		return result{}, err
	}
	defer lk.Close()
	rep, err := recover.Swap(ctx, recover.SwapOptions{DBPath: t.DB, NewPath: np, QuarantineDir: t.Quarantine(),
		Force: c.force, LeaseTimeout: a.leaseTimeout(), JournalMode: a.journalMode(), Now: a.Now})
	if errors.Is(err, recover.ErrBoardBusy) {
		err = fmt.Errorf("%w (or use --force: they keep writing to the quarantined file)", err)
	}
	err = nameResolve(t, err)
	res := result{}
	if rep != nil {
		obj := swapJSON{Board: t.SlugOrNil(), SwapReport: rep}
		if err != nil {
			obj.Error = oneLine(err.Error())
		}
		res.obj = obj
		if !c.json && rep.Swapped {
			a.printSwap("", t, rep)
		}
	}
	return res, err
}

// printSwap describes a done swap.
func (a *App) printSwap(indent string, t target, r *recover.SwapReport) {
	a.out("%sswapped %s into %s", indent, r.NewPath, t.Describe())
	a.out("%s  the original db and its sidecars are kept in %s/", indent, r.Quarantine)
	if r.QuickCheck != "" {
		a.out("%s  journal mode %s; quick_check %s", indent, r.JournalMode, r.QuickCheck)
	}
	if d := r.MarkerCleared; d != nil {
		a.out("%s  damage marker cleared (%s)", indent, d.Summary())
	}
	for _, o := range r.Forced {
		a.out("%s  forced past: %s (it still has the old file open)", indent, o)
	}
	for _, n := range r.Notes {
		a.out("%s  note: %s", indent, n)
	}
}
