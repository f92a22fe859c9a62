package cli

import (
	"context"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/clikit"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

var completionVerb = &verbInfo{name: "completion", usage: "completion bash|zsh|fish",
	summary: "print a shell completion script (kanbanshim)", required: []string{"shell"}, maxArgs: 1,
	new: func() command { return &completionCmd{} },
	example: "  kanban completion bash > ~/.local/share/bash-completion/completions/kanban\n" +
		"  kanban completion zsh > \"${fpath[1]}/_kanban\"\n" +
		"  kanban completion fish > ~/.config/fish/completions/kanban.fish"}

// boardWordsArg is the hidden argument the scripts call at completion
// time for the board slugs: it reads the boards directory only (no
// database is opened), so it is fast and works with any board state.
const boardWordsArg = "boards"

type completionCmd struct{}

func (c *completionCmd) flags(*pflag.FlagSet) {}

func (c *completionCmd) run(_ context.Context, a *App, args []string) error {
	if args[0] == boardWordsArg {
		if a.Env.CheckDirs() != nil {
			return nil // nothing to offer; the real command will say why
		}
		for _, m := range home.NewBoards(a.Env).List(false) {
			a.out("%s", m.Slug)
		}
		return nil
	}
	if !contains(clikit.Shells, args[0]) {
		q := make([]string, len(clikit.Shells))
		for i, s := range clikit.Shells {
			q[i] = pyq(s)
		}
		return usagef("%s completion: error: argument shell: invalid choice: %s (choose from %s)", a.Prog, py.Repr(args[0]), strings.Join(q, ", "))
	}
	return completionSpec(a.Prog).Write(a.Stdout, args[0])
}

// completionSpec describes kanban's command line from the verb table and
// each verb's own flag set: the verbs, their aliases and flags, the
// boards sub-actions, and the board slugs (--board, and the boards
// sub-actions that name an existing board).
func completionSpec(prog string) clikit.Completion {
	global := clikit.NewFlagSet(prog)
	global.String("board", "", "board to use")
	global.Bool("allow-network-fs", false, "allow a WAL board on a network/VM filesystem")
	global.BoolP("help", "h", false, "show help")
	global.Bool("version", false, "print the version and exit")
	comp := clikit.Completion{Prog: prog, Global: clikit.FlagsOf(global, "board"), Words: completionVerb.name + " " + boardWordsArg}
	for _, v := range verbs {
		fs := clikit.NewFlagSet(prog + " " + v.name)
		fs.BoolP("help", "h", false, "show this help")
		v.new().flags(fs)
		cv := clikit.CompVerb{Name: v.name, Aliases: v.aliases, Summary: v.summary, Flags: clikit.FlagsOf(fs, "board")}
		switch v {
		case completionVerb:
			cv.Args = clikit.Shells
		case boardsVerb:
			cv.Flags = clikit.FlagsOf(helpOnly())
			for i := range boardsSubs {
				cv.Subs = append(cv.Subs, boardsSubCompletion(&boardsSubs[i]))
			}
		}
		comp.Verbs = append(comp.Verbs, cv)
	}
	return comp
}

func helpOnly() *pflag.FlagSet {
	fs := clikit.NewFlagSet("help")
	fs.BoolP("help", "h", false, "show this help")
	return fs
}

// boardsSubCompletion is one `boards` sub-action; those whose first
// argument is an existing board complete slugs (create names a new one).
func boardsSubCompletion(s *boardsSub) clikit.CompVerb {
	fs := helpOnly()
	if s.flags != nil {
		s.flags(fs, &boardsOpts{})
	}
	existing := len(s.required) > 0 && s.required[0] == "slug" && s.names[0] != "create"
	return clikit.CompVerb{Name: s.names[0], Aliases: s.names[1:], Flags: clikit.FlagsOf(fs), Dynamic: existing}
}
