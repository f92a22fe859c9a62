package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

var (
	boardsVerb = &verbInfo{name: "boards", usage: "boards [list|create|rm|switch|show|rename|set-default-workdir] …",
		summary: "manage boards (ignores --board)", maxArgs: -1, new: func() command { return &boardsCmd{} },
		example: "  kanban boards create side-project --name \"Side Project\" --switch\n  kanban boards list --json\n  kanban boards rm side-project"}
)

type boardsCmd struct{}

func (c *boardsCmd) flags(fs *pflag.FlagSet) {
	fs.SetInterspersed(false) // the sub-action parses its own flags
}

type boardsSub struct {
	names    []string
	required []string
	max      int
	flags    func(fs *pflag.FlagSet, o *boardsOpts)
	run      func(ctx context.Context, a *App, o *boardsOpts, args []string) error
}

type boardsOpts struct {
	json, all, doSwitch, del, force         bool
	name, description, icon, color, workdir optString
}

var boardsSubs = []boardsSub{
	{names: []string{"list", "ls"}, max: 0, run: boardsList, flags: func(fs *pflag.FlagSet, o *boardsOpts) {
		fs.BoolVar(&o.json, "json", false, "JSON output")
		fs.BoolVar(&o.all, "all", false, "include archived boards")
	}},
	{names: []string{"create", "new"}, required: []string{"slug"}, max: 1, run: boardsCreate, flags: func(fs *pflag.FlagSet, o *boardsOpts) {
		fs.Var(&o.name, "name", "display name")
		fs.Var(&o.description, "description", "description")
		fs.Var(&o.icon, "icon", "icon")
		fs.Var(&o.color, "color", "color")
		fs.BoolVar(&o.doSwitch, "switch", false, "make it the current board")
		fs.Var(&o.workdir, "default-workdir", "default workdir for dir/worktree tasks")
	}},
	{names: []string{"rm", "remove", "delete"}, required: []string{"slug"}, max: 1, run: boardsRemove, flags: func(fs *pflag.FlagSet, o *boardsOpts) {
		fs.BoolVar(&o.del, "delete", false, "delete instead of archiving")
		fs.BoolVar(&o.force, "force", false, "even while processes have the board open")
	}},
	{names: []string{"switch", "use"}, required: []string{"slug"}, max: 1, run: boardsSwitch},
	{names: []string{"show", "current"}, max: 0, run: boardsShow},
	{names: []string{"rename"}, required: []string{"slug", "name"}, max: 2, run: boardsRename},
	{names: []string{"set-default-workdir"}, required: []string{"slug"}, max: 2, run: boardsSetWorkdir},
}

func (c *boardsCmd) run(ctx context.Context, a *App, args []string) error {
	sub := "list"
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	for i := range boardsSubs {
		s := &boardsSubs[i]
		if !contains(s.names, sub) {
			continue
		}
		o := &boardsOpts{}
		fs := pflag.NewFlagSet("kanban boards "+sub, pflag.ContinueOnError)
		fs.SetOutput(nilWriter{})
		var help bool
		fs.BoolVarP(&help, "help", "h", false, "show this help")
		if s.flags != nil {
			s.flags(fs, o)
		}
		if err := fs.Parse(args); err != nil {
			return usagef("kanban boards %s: error: %s", sub, oneLine(err.Error()))
		}
		o.del = o.del || sub == "delete" // the delete alias is rm --delete
		if help {
			a.out("usage: kanban boards %s %s\n%s", sub, strings.ToUpper(strings.Join(s.required, " ")), fs.FlagUsages())
			return nil
		}
		pos := fs.Args()
		if len(pos) < len(s.required) {
			if sub == "create" || sub == "new" {
				return usagef("kanban boards create: slug is required")
			}
			return usagef("kanban boards %s: error: the following arguments are required: %s", sub, strings.Join(s.required[len(pos):], ", "))
		}
		if len(pos) > s.max {
			return usagef("kanban boards %s: error: unrecognized arguments: %s", sub, strings.Join(pos[s.max:], " "))
		}
		return s.run(ctx, a, o, pos)
	}
	return usagef("kanban boards: unknown action %s", py.Repr(sub))
}

type nilWriter struct{}

func (nilWriter) Write(p []byte) (int, error) { return len(p), nil }

func countsObject(counts map[string]int64) py.Object {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := py.Object{}
	for _, k := range keys {
		o = append(o, py.Member{Key: k, Value: counts[k]})
	}
	return o
}

func boardsList(ctx context.Context, a *App, o *boardsOpts, _ []string) error {
	metas := a.boards.List(o.all)
	current := a.boards.Current()
	if o.json {
		out := []any{}
		for _, m := range metas {
			db := a.boards.BoardDBPath(m.Slug)
			counts, total, _ := store.PeekCounts(ctx, db)
			obj := m.Object(db)
			obj = append(obj, py.Member{Key: "is_current", Value: m.Slug == current},
				py.Member{Key: "counts", Value: countsObject(counts)}, py.Member{Key: "total", Value: total})
			out = append(out, obj)
		}
		a.printJSON(out, false)
		return nil
	}
	a.out("%s  %s  %s  COUNTS", padRight("", 2), padRight("SLUG", 24), padRight("NAME", 28))
	for _, m := range metas {
		counts, _, _ := store.PeekCounts(ctx, a.boards.BoardDBPath(m.Slug))
		mark := ""
		if m.Slug == current {
			mark = "●"
		}
		name := m.Name()
		if m.Archived() {
			name += " [archived]"
		}
		a.out("%s  %s  %s  %s", padRight(mark, 2), padRight(m.Slug, 24), padRight(name, 28), fmtCounts(countsObject(counts), "(empty)"))
	}
	a.out("\nCurrent board: %s", current)
	if len(metas) > 1 {
		a.out("Switch boards with `hermes kanban boards switch <slug>`.")
	}
	return nil
}

func boardsCreate(ctx context.Context, a *App, o *boardsOpts, args []string) error {
	slug, err := home.NormalizeSlug(args[0])
	if err != nil {
		return usagef("kanban boards create: %v", err)
	}
	if slug == "" {
		return usagef("kanban boards create: slug is required")
	}
	existed := slug != home.DefaultBoard && a.boards.Exists(slug)
	meta, err := a.boards.WriteMeta(slug, home.MetaUpdate{Name: o.name.v, Description: o.description.v, Icon: o.icon.v,
		Color: o.color.v, DefaultWorkdir: expandPtr(a, o.workdir.v)}, a.now())
	if err != nil {
		return err
	}
	db := a.boards.BoardDBPath(slug)
	opts := a.storeOptions()
	opts.Board = slug
	st, err := store.Open(ctx, db, opts)
	if err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	verb := "created"
	if existed {
		verb = "already exists"
	}
	a.out("Board '%s' %s.", slug, verb)
	a.out("  Display name: %s", meta.Name())
	a.out("  DB path:      %s", db)
	if o.doSwitch {
		if err := a.boards.SetCurrent(slug); err != nil {
			return err
		}
		a.out("  Switched to '%s'.", slug)
	} else {
		a.out("  Use `hermes kanban boards switch %s` to make it current.", slug)
	}
	return nil
}

func expandPtr(a *App, p *string) *string {
	if p == nil || *p == "" {
		return p
	}
	v := a.Env.ExpandUser(*p)
	if abs, err := filepath.Abs(v); err == nil {
		v = abs
	}
	return &v
}

func boardsRemove(ctx context.Context, a *App, o *boardsOpts, args []string) error {
	// Every refusal here is upstream's ValueError: exit 1, bad slug too.
	slug, err := home.NormalizeSlug(args[0])
	switch {
	case err != nil:
		return failf("kanban boards rm: %v", err)
	case slug == "":
		return failf("kanban boards rm: board slug is required")
	case slug == home.DefaultBoard:
		return failf("kanban boards rm: the 'default' board cannot be removed")
	case !fileExistsAt(a.boards.Dir(slug)):
		return failf("kanban boards rm: board %s does not exist", py.Repr(slug))
	}
	db := a.boards.BoardDBPath(slug)
	if o.del && board.Refuse(db, slug) != nil {
		// Deleting would take the damaged files (and the quarantine under
		// the board's directory) with it; archiving keeps them.
		return failf("kanban boards rm: board %s is marked damaged; refusing to delete it (archive it without --delete, "+
			"or repair it first). To repair it run: %s", py.Repr(slug), board.RepairCommand(db, slug))
	}
	if !o.force {
		if err := refuseIfOpen(db); err != nil {
			return failf("kanban boards rm: %v; stop them first or pass --force", err)
		}
	}
	newPath, err := a.boards.Remove(slug, !o.del, a.now())
	if err != nil {
		return err
	}
	if o.del {
		a.out("Board %s deleted.", py.Repr(slug))
		return nil
	}
	a.out("Board %s archived → %s", py.Repr(slug), newPath)
	a.out("Recover by moving the directory back to <root>/kanban/boards/<slug>/.")
	return nil
}

// refuseIfOpen fails while any process has the board's files open: a
// board directory is never moved from under a live connection.
func refuseIfOpen(db string) error {
	g, err := lockd.TryExclusive(db)
	if err != nil {
		if errors.Is(err, lockd.ErrBoardInUse) {
			return fmt.Errorf("board is open in other kanban processes (%v)", err)
		}
		return nil // no lock file possible: fall back to the /proc scan
	}
	defer g.Close()
	ops, err := proc.ScanOpeners(db, board.WAL(db), board.SHM(db))
	if errors.Is(err, proc.ErrUnsupported) {
		// hermes Python takes none of our locks: without the scan nobody
		// can be ruled out (macOS).
		return errors.New("cannot tell whether other processes (hermes Python) have the board open on this platform")
	}
	for _, op := range ops {
		if !op.Self {
			return fmt.Errorf("board is open by pid %d (%s)", op.PID, strings.Join(op.Cmdline, " "))
		}
	}
	return nil
}

func boardsSwitch(_ context.Context, a *App, _ *boardsOpts, args []string) error {
	slug, err := home.NormalizeSlug(args[0])
	if err != nil {
		return usagef("kanban boards switch: %v", err)
	}
	if slug == "" {
		return usagef("kanban boards switch: slug is required")
	}
	if !a.boards.Exists(slug) {
		return failf("kanban boards switch: board %s does not exist. Create it with `hermes kanban boards create %s`.", py.Repr(slug), slug)
	}
	if err := a.boards.SetCurrent(slug); err != nil {
		return err
	}
	a.out("Active board is now '%s'.", slug)
	return nil
}

func boardsShow(ctx context.Context, a *App, _ *boardsOpts, _ []string) error {
	slug := a.boards.Current()
	m := a.boards.ReadMeta(slug)
	db := a.boards.BoardDBPath(slug)
	counts, total, _ := store.PeekCounts(ctx, db)
	a.out("Current board: %s", slug)
	a.out("  Display name: %s", m.Name())
	if d := m.Str("description"); d != "" {
		a.out("  Description:  %s", d)
	}
	a.out("  DB path:      %s", db)
	detail := ""
	if len(counts) > 0 {
		detail = " (" + fmtCounts(countsObject(counts), "") + ")"
	}
	a.out("  Tasks:        %d total%s", total, detail)
	return nil
}

func boardsRename(_ context.Context, a *App, _ *boardsOpts, args []string) error {
	slug, err := home.NormalizeSlug(args[0])
	if err != nil {
		return usagef("kanban boards rename: %v", err)
	}
	if slug == "" || !a.boards.Exists(slug) {
		return failf("kanban boards rename: board %s does not exist", py.Repr(args[0]))
	}
	m, err := a.boards.WriteMeta(slug, home.MetaUpdate{Name: &args[1]}, a.now())
	if err != nil {
		return err
	}
	a.out("Board %s renamed to %s.", py.Repr(slug), py.Repr(m.Name()))
	return nil
}

func boardsSetWorkdir(_ context.Context, a *App, _ *boardsOpts, args []string) error {
	slug, err := home.NormalizeSlug(args[0])
	if err != nil {
		return usagef("kanban boards set-default-workdir: %v", err)
	}
	if slug == "" || !a.boards.Exists(slug) {
		return failf("kanban boards set-default-workdir: board %s does not exist", py.Repr(args[0]))
	}
	// As upstream: an omitted path leaves the setting as it is (and
	// reports it), "" clears it.
	var path *string
	if len(args) > 1 {
		path = expandPtr(a, &args[1])
	}
	m, err := a.boards.WriteMeta(slug, home.MetaUpdate{DefaultWorkdir: path}, a.now())
	if err != nil {
		return err
	}
	if wd := m.Str("default_workdir"); wd != "" {
		a.out("Board %s default workdir set to %s.", py.Repr(slug), py.Repr(wd))
	} else {
		a.out("Board %s default workdir cleared.", py.Repr(slug))
	}
	return nil
}
