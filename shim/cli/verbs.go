package cli

import (
	"context"

	"github.com/spf13/pflag"
)

// command is one verb: its flags live in the struct (no package-level
// flag variables) and run gets the positional arguments.
type command interface {
	flags(fs *pflag.FlagSet)
	run(ctx context.Context, a *App, args []string) error
}

// verbInfo describes a verb for dispatch, argument checks and help.
type verbInfo struct {
	name     string
	aliases  []string
	usage    string   // synopsis after the program name
	summary  string   // one line for `kanban --help`
	example  string   // shown by `kanban <verb> --help`
	required []string // positional arguments that must be present
	maxArgs  int      // -1: no limit
	nargs    []string // options taking one or more values (argparse nargs='+')
	mutating bool     // refused in delegate_task child contexts
	noStore  bool     // runs without opening the board
	new      func() command
}

// mutates reports whether this invocation writes; boards decides by its
// sub-action.
func (v *verbInfo) mutates(args []string) bool {
	if v.name == "boards" {
		sub := "list"
		if len(args) > 0 {
			sub = args[0]
		}
		return contains([]string{"create", "new", "rm", "remove", "delete", "switch", "use", "rename", "set-default-workdir", "import"}, sub)
	}
	return v.mutating
}

// registry lists the verbs kanbanshim implements, in help order.
var registry []*verbInfo

func register(v *verbInfo) { registry = append(registry, v) }

func lookupVerb(name string) (*verbInfo, bool) {
	for _, v := range registry {
		if v.name == name || contains(v.aliases, name) {
			return v, true
		}
	}
	return nil, false
}
