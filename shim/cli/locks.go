package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/pflag"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
)

var (
	locksVerb = &verbInfo{name: "locks", usage: "locks [--json]", summary: "who holds the board's locks and who has it open (kanbanshim)",
		maxArgs: 0, new: func() command { return &locksCmd{} },
		example: "  kanban locks\n  kanban --board ops locks --json"}
)

// locksCmd shows the current board's lock state. It opens no database
// and takes no lock (everything comes from the lock files, /proc/locks
// and /proc/*/fd), so it answers at once even while writers are stuck.
type locksCmd struct{ json bool }

func (c *locksCmd) flags(fs *pflag.FlagSet) { fs.BoolVar(&c.json, "json", false, "JSON output") }

func (c *locksCmd) run(_ context.Context, a *App, _ []string) error {
	db := a.dbPath()
	now := a.now()
	st, err := lockd.Inspect(db, now)
	if errors.Is(err, lockd.ErrUnsupported) {
		return failf("%s: locks: needs Linux /proc, which this system does not have", a.Prog)
	}
	if err != nil {
		return failf("%s: locks: %s", a.Prog, oneLine(err.Error()))
	}
	slots, err := dispatch.SlotsInUse(a.Env.KanbanRoot())
	if err != nil {
		return failf("%s: locks: %s", a.Prog, oneLine(err.Error()))
	}
	v := locksView{board: a.board(), exists: fileExistsAt(db), st: st, slots: slots, now: now}
	if c.json {
		a.printJSON(v.object(), false)
		return nil
	}
	v.print(a)
	return nil
}

// locksView is one snapshot ready to render.
type locksView struct {
	board  string
	exists bool
	st     lockd.BoardLocks
	slots  []dispatch.SlotInfo
	now    time.Time
}

// print renders the text form, one heading per lock.
func (v locksView) print(a *App) {
	st := v.st
	db := st.DB
	if !v.exists {
		db += " (no database yet)"
	}
	line := func(label, value string) { a.out("%-19s %s", label+":", value) }
	line("Board", fmt.Sprintf("%s (%s)", v.board, db))
	line("Write lease", leaseLine(st.Lease))
	line("Maintenance", maintenanceLine(st.Lease))
	line("Open (kanbanshim)", countLine(len(st.Open)))
	for _, p := range st.Open {
		a.out("  pid %-8d %s", p.PID, cmdline(p.Cmdline))
	}
	line("Open (others)", countLine(len(st.Others)))
	for _, o := range st.Others {
		a.out("  pid %-8d %s  [%s]", o.PID, cmdline(o.Cmdline), baseNames(o.Files))
	}
	line("Init lock", namedLine(st.Init))
	line("Dispatch lock", namedLine(st.Dispatch))
	line("Worker slots", inUse(len(v.slots)))
	for _, s := range v.slots {
		a.out("  %s/%-3d pid %-8d %s", s.Scope, s.Index, s.PID, slotTask(s))
	}
}

func leaseLine(l lockd.LeaseState) string {
	switch {
	case !l.Held:
		return "free"
	case l.Holder == nil:
		return fmt.Sprintf("held by %s (no valid holder record)", pidsWithCmd(l.PIDs))
	case l.Holder.Maintenance:
		return fmt.Sprintf("held by pid %d (%s, %s) for %s", l.Holder.PID, l.Holder.Tool, l.Holder.Op, roundSecs(l.HeldFor))
	}
	return fmt.Sprintf("held by pid %d (%s) for %s", l.Holder.PID, l.Holder.Command(), roundSecs(l.HeldFor))
}

func maintenanceLine(l lockd.LeaseState) string {
	if !l.Maintenance() {
		return "no"
	}
	h := l.Holder
	return fmt.Sprintf("board under maintenance by %s (pid %d) since %s", h.Tool, h.PID, h.Since.UTC().Format(time.RFC3339))
}

func namedLine(n lockd.NamedLock) string {
	if !n.Held {
		return "free"
	}
	return "held by " + pidsWithCmd(n.PIDs)
}

// pidsWithCmd renders "pid 1 (cmd), pid 2 (cmd)".
func pidsWithCmd(pids []int) string {
	parts := make([]string, len(pids))
	for i, pid := range pids {
		parts[i] = fmt.Sprintf("pid %d", pid)
		if cmd := cmdline(proc.Cmdline(pid)); cmd != "?" {
			parts[i] += " (" + cmd + ")"
		}
	}
	return strings.Join(parts, ", ")
}

func inUse(n int) string {
	if n == 0 {
		return "none in use"
	}
	return fmt.Sprintf("%d in use", n)
}

func countLine(n int) string {
	if n == 0 {
		return "none"
	}
	if n == 1 {
		return "1 process"
	}
	return fmt.Sprintf("%d processes", n)
}

// maxCmdline bounds a rendered command line (a `python3 -c` script can
// be long).
const maxCmdline = 120

// cmdline is an argv as a short, one-line command line: the program's
// base name and its arguments, control characters as spaces, cut at
// maxCmdline runes; "?" when unreadable.
func cmdline(argv []string) string {
	if len(argv) == 0 {
		return "?"
	}
	s := strings.Join(append([]string{filepath.Base(argv[0])}, argv[1:]...), " ")
	s = strings.Join(strings.FieldsFunc(s, unicode.IsControl), " ")
	if r := []rune(s); len(r) > maxCmdline {
		s = string(r[:maxCmdline-1]) + "…"
	}
	return s
}

func baseNames(paths []string) string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return strings.Join(out, ", ")
}

func slotTask(s dispatch.SlotInfo) string {
	if s.Task == "" {
		return ""
	}
	if s.Run > 0 {
		return fmt.Sprintf("%s (run %d)", s.Task, s.Run)
	}
	return s.Task
}

func roundSecs(d time.Duration) string { return d.Round(time.Second).String() }

// object is the --json form (documented in docs/LOCKING.md).
func (v locksView) object() py.Object {
	st := v.st
	return py.Obj(
		"board", v.board,
		"db", st.DB,
		"db_exists", v.exists,
		"lease", leaseObject(st.Lease),
		"maintenance", st.Lease.Maintenance(),
		"open", processList(st.Open),
		"other_openers", openerList(st.Others),
		"init_lock", namedObject(st.Init),
		"dispatch_lock", namedObject(st.Dispatch),
		"worker_slots", slotList(v.slots),
	)
}

func leaseObject(l lockd.LeaseState) py.Object {
	o := py.Obj("path", l.Path, "held", l.Held, "pids", intList(l.PIDs), "holder", nil, "held_seconds", nil)
	if h := l.Holder; h != nil {
		o = o.Set("holder", py.Obj("pid", h.PID, "host", h.Host, "argv", h.Argv, "op", h.Op,
			"since", h.Since.UTC().Format(time.RFC3339Nano), "maintenance", h.Maintenance, "tool", h.Tool))
		o = o.Set("held_seconds", l.HeldFor.Seconds())
	}
	return o
}

func namedObject(n lockd.NamedLock) py.Object {
	return py.Obj("path", n.Path, "held", n.Held, "pids", intList(n.PIDs))
}

func processList(ps []lockd.Process) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = py.Obj("pid", p.PID, "cmdline", p.Cmdline)
	}
	return out
}

func openerList(os []proc.Opener) []any {
	out := make([]any, len(os))
	for i, o := range os {
		out[i] = py.Obj("pid", o.PID, "cmdline", o.Cmdline, "files", o.Files)
	}
	return out
}

func slotList(ss []dispatch.SlotInfo) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = py.Obj("scope", s.Scope, "index", s.Index, "pid", s.PID, "task", s.Task, "run", s.Run)
	}
	return out
}

func intList(xs []int) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}
