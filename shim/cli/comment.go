package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

var (
	commentVerb = &verbInfo{name: "comment", usage: "comment <task_id> <text…> [--author NAME] [--max-len N]", summary: "add a comment to a task",
		required: []string{"task_id", "text"}, maxArgs: -1, mutating: true, new: func() command { return &commentCmd{} },
		example: "  kanban comment t_9fc1a3 \"blocked on the API key\" --author ops"}
)

type commentCmd struct {
	author optString
	maxLen optInt
}

func (c *commentCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.author, "author", "author (default: the current profile)")
	fs.Var(&c.maxLen, "max-len", "cut longer bodies to N characters")
}

func (c *commentCmd) run(ctx context.Context, a *App, args []string) error {
	body := py.Strip(strings.Join(args[1:], " "))
	if c.maxLen.v != nil {
		n := *c.maxLen.v
		if n < 1 {
			return usagef("kanban: --max-len must be positive")
		}
		if r := []rune(body); int64(len(r)) > n {
			suffix := fmt.Sprintf("\n\n[trimmed to %d chars by --max-len]", n)
			keep := max(0, n-int64(len([]rune(suffix))))
			body = py.RStrip(string(r[:keep])) + suffix
		}
	}
	author := strOr(c.author.v, "")
	if author == "" {
		author = a.Env.Author()
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	if _, err := st.AddComment(ctx, args[0], author, body); err != nil {
		return err
	}
	a.out("Comment added to %s", args[0])
	return nil
}
