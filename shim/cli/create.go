package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	createVerb = &verbInfo{name: "create", usage: "create <title> [--assignee P] [--body B] [--parent ID]... [options]",
		summary: "create a task", required: []string{"title"}, maxArgs: 1, mutating: true,
		new: func() command { return &createCmd{} },
		example: "  kanban create \"Design auth schema\" --assignee backend-dev --priority 2\n" +
			"  ID=$(kanban create \"Implement API\" --assignee backend-dev --parent $SCHEMA --json | jq -r .id)"}
)

type createCmd struct {
	body, assignee, workspace, branch, project, tenant, idem, maxRuntime, model, provider, contract, bodyFile optString
	createdBy                                                                                                 string
	parents, skills                                                                                           []string
	priority                                                                                                  int64
	triage, goal, json                                                                                        bool
	maxRetries, goalMaxTurns                                                                                  optInt
	initial                                                                                                   choiceString
}

func (c *createCmd) flags(fs *pflag.FlagSet) {
	fs.Var(&c.body, "body", "opening post")
	fs.Var(&c.bodyFile, "body-file", "read the body from a file (- for stdin)")
	fs.Var(&c.assignee, "assignee", "profile name")
	fs.StringArrayVar(&c.parents, "parent", nil, "parent task id (repeatable)")
	fs.Var(&c.workspace, "workspace", "scratch | worktree | worktree:<path> | dir:<path>")
	fs.Var(&c.branch, "branch", "branch name (with --workspace worktree)")
	fs.Var(&c.project, "project", "project id or slug")
	fs.Var(&c.tenant, "tenant", "tenant")
	intVar(fs, &c.priority, "priority", 0, "priority (higher first)")
	fs.BoolVar(&c.triage, "triage", false, "park in triage")
	fs.Var(&c.idem, "idempotency-key", "return the existing task with this key")
	fs.Var(&c.maxRuntime, "max-runtime", "runtime limit: 300, 90s, 30m, 2h, 1d")
	fs.StringVar(&c.createdBy, "created-by", "user", "recorded author")
	fs.StringArrayVar(&c.skills, "skill", nil, "skill to force-load (repeatable)")
	fs.Var(&c.maxRetries, "max-retries", "failures before the breaker blocks the task (>= 1)")
	fs.Var(&c.model, "model", "model override")
	fs.Var(&c.provider, "provider", "provider of the model override")
	fs.Var(&c.contract, "completion-contract", "local-only, OWNER/REPO or a PR URL")
	fs.BoolVar(&c.goal, "goal", false, "run the worker in a goal loop")
	fs.Var(&c.goalMaxTurns, "goal-max-turns", "goal-loop turn budget")
	c.initial = choiceString{choices: []string{"blocked", "running"}}
	fs.Var(&c.initial, "initial-status", "blocked parks the card in blocked")
	fs.BoolVar(&c.json, "json", false, "print the task as JSON")
}

// parseWorkspace is upstream's --workspace parser: (kind, path).
func parseWorkspace(v *string) (string, *string, error) {
	if v == nil || *v == "" {
		return "", nil, nil
	}
	s := strings.TrimSpace(*v)
	if s == "scratch" || s == "worktree" {
		return s, nil, nil
	}
	for _, p := range []struct{ prefix, kind string }{{"dir:", "dir"}, {"worktree:", "worktree"}} {
		if !strings.HasPrefix(s, p.prefix) {
			continue
		}
		path := strings.TrimSpace(s[len(p.prefix):])
		if path == "" {
			return "", nil, usagef("kanban: --workspace %s requires a path after the colon", p.prefix)
		}
		return p.kind, &path, nil
	}
	return "", nil, usagef("kanban: unknown --workspace value %s: use scratch, worktree, worktree:<path>, or dir:<path>", pyRepr(*v))
}

func parseBranch(v *string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	b := strings.TrimSpace(*v)
	switch {
	case b == "":
		return nil, usagef("kanban: --branch requires a non-empty name")
	case strings.HasPrefix(b, "-"):
		return nil, usagef("kanban: --branch must not start with '-'")
	case strings.IndexFunc(b, unicode.IsSpace) >= 0:
		return nil, usagef("kanban: --branch must not contain whitespace")
	}
	return &b, nil
}

func (c *createCmd) run(ctx context.Context, a *App, args []string) error {
	body := c.body.v
	if body != nil && c.bodyFile.v != nil {
		return usagef("kanban: --body and --body-file are mutually exclusive")
	}
	if c.bodyFile.v != nil {
		data, err := readBodyFile(a, *c.bodyFile.v)
		if err != nil {
			return usagef("kanban: --body-file: %s", pyOSError(err, *c.bodyFile.v))
		}
		body = &data
	}
	kind, wsPath, err := parseWorkspace(c.workspace.v)
	if err != nil {
		return err
	}
	if wsPath != nil {
		p := a.Env.ExpandUser(*wsPath)
		wsPath = &p
	}
	branch, err := parseBranch(c.branch.v)
	if err != nil {
		return err
	}
	if branch != nil && kind != "worktree" {
		return usagef("kanban: --branch is only valid with --workspace worktree")
	}
	maxRuntime, err := ParseDuration(c.maxRuntime.String())
	if err != nil {
		return usagef("kanban: --max-runtime: %v", err)
	}
	if c.maxRetries.v != nil && *c.maxRetries.v < 1 {
		return usagef("kanban: --max-retries must be >= 1 (got %d); use 1 to trip on the first failure.", *c.maxRetries.v)
	}
	if c.project.v != nil && *c.project.v != "" {
		a.errLine("kanban: warning: --project needs hermes' projects database, which kanbanshim does not read; task created without a project link")
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	createdBy := c.createdBy
	if createdBy == "" {
		createdBy = a.Env.Author()
	}
	var skills []string
	if len(c.skills) > 0 {
		skills = c.skills
	}
	var creator *string
	if t := a.Env.Getenv("HERMES_KANBAN_TASK"); t != "" {
		creator = &t
	}
	n := store.NewTask{
		Title: args[0], Body: body, Assignee: c.assignee.v, CreatedBy: createdBy, WorkspaceKind: kind,
		WorkspacePath: wsPath, BranchName: branch, Tenant: c.tenant.v, Priority: c.priority, Parents: c.parents,
		Triage: c.triage, IdempotencyKey: c.idem.v, MaxRuntimeSeconds: maxRuntime, Skills: skills,
		MaxRetries: c.maxRetries.v, ModelOverride: c.model.v, ProviderOverride: c.provider.v, GoalMode: c.goal,
		GoalMaxTurns: c.goalMaxTurns.v, InitialStatus: c.initial.String(), CreatorTaskID: creator,
		CompletionContract: c.contract.v,
	}
	if kind == "dir" || kind == "worktree" {
		n.DefaultWorkdir = a.boards.ReadMeta(a.board()).Str("default_workdir")
	}
	id, err := st.CreateTask(ctx, n)
	if err != nil {
		return err
	}
	t, err := st.GetTask(id)
	if err != nil {
		return fmt.Errorf("created %s, but reading it back failed: %w", id, err)
	}
	if t == nil {
		// Committed, yet gone: deleted meanwhile, or a damaged board.
		// Never exit 0 without the id a caller records.
		return fmt.Errorf("created %s, but it was gone when read back (deleted meanwhile, or the board is damaged: run %s)", id, board.CheckCommand(a.dbPath(), repairBoard(a.Env, a.board())))
	}
	if c.json {
		a.printJSON(taskObject(t), false)
		return nil
	}
	a.out("Created %s  (%s, assignee=%s)", id, t.Status, strOr(t.Assignee, "-"))
	return nil
}

func readBodyFile(a *App, path string) (string, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = readAll(a.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(string(data), "\ufeff"), nil
}
