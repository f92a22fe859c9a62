package cli

import (
	"errors"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// selector holds the board-selection flags, accepted before or after the
// verb; resolution is shared with kanban-recover (home.Selector).
type selector struct{ home.Selector }

func (s *selector) register(fs *pflag.FlagSet) { s.Selector.Register(fs, "act on every board") }

// target is one board database to act on.
type target = home.Target

// resolve turns the flags into targets (see home.Selector.Resolve).
func (s *selector) resolve(env home.Env) ([]target, error) {
	ts, err := s.Selector.Resolve(env)
	if errors.Is(err, home.ErrUsage) {
		return nil, clikit.Usagef("%s", strings.TrimPrefix(err.Error(), home.ErrUsage.Error()+": "))
	}
	return ts, err
}
