package cli

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/clikit"
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

func (v *verbInfo) Name() string      { return v.name }
func (v *verbInfo) Aliases() []string { return v.aliases }

// verbs are the verbs kanbanshim implements, in upstream's help order
// (its parser's), with kanbanshim's own next to their kin: supervise
// after daemon, locks after repair; boards, then completion, last.
var verbs = clikit.Table[*verbInfo]{
	initVerb, createVerb, listVerb, showVerb,
	assignVerb, reassignVerb, reclaimVerb, setModelVerb,
	linkVerb, unlinkVerb, claimVerb, commentVerb, completeVerb,
	blockVerb, scheduleVerb, unblockVerb, promoteVerb, archiveVerb,
	requestReviewVerb, requestChangesVerb, reopenReviewVerb, editVerb,
	heartbeatVerb, runsVerb, logVerb, contextVerb, tailVerb, watchVerb,
	statsVerb, assigneesVerb,
	dispatchVerb, daemonVerb, superviseVerb, gcVerb, repairVerb, locksVerb,
	attachVerb, attachmentsVerb, attachRmVerb,
	notifySubscribeVerb, notifyListVerb, notifyUnsubscribeVerb,
	boardsVerb, completionVerb,
}
