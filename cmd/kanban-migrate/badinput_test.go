package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/badinput"
	"github.com/kanbanshim/kanbanshim/migrate/cli"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// The bad-input suite of kanban-migrate: malformed command lines, board
// selections and board files, in process, on a fresh copy of a real
// board. Failures print one line and exit 1 (board untouched) or 2
// (usage); status and plan never change the board.

// migrateTimeout bounds one in-process command.
const migrateTimeout = 30 * time.Second

// runMigrate is main's run with injected streams and environment.
func runMigrate(w *badinput.World, args []string) badinput.Result {
	return badinput.Run(migrateTimeout, func(ctx context.Context, stdout, stderr io.Writer) int {
		app := cli.NewApp()
		app.Stdout, app.Stderr = stdout, stderr
		app.Env = home.Env{Getenv: func(k string) string { return w.Env[k] }, UserHome: w.Dir}
		return cli.Exit(ctx, cli.Run(ctx, app, args), app.Stderr)
	})
}

// Defects found by this suite (docs/RELIABILITY.md, "Bad input").
var (
	dUsage = &badinput.Defect{Fixed: true, ID: "M1", What: "usage errors print the whole usage line before the message: two lines on stderr",
		Kinds: []badinput.Kind{badinput.MultiLine}}
	dEmptyBoard = &badinput.Defect{Fixed: true, ID: "M2", What: "--board '' and --db '' are taken as no selection: the verb acts on the active board (kanban: 'kanban: --board requires a slug', 2)",
		Kinds: []badinput.Kind{badinput.WrongCode}}
	dEcho = &badinput.Defect{Fixed: true, ID: "M3", What: "error lines quote arguments raw (newlines, invalid UTF-8)",
		Kinds: []badinput.Kind{badinput.MultiLine, badinput.NotUTF8, badinput.ControlChars}}
)

// mcase is one bad-input case of kanban-migrate.
type mcase struct {
	name  string
	args  []string // placeholders: see badinput.World.Expand
	codes []int
	env   map[string]string
	setup func(t *testing.T, w *badinput.World)
	// readOnly: the verb never changes the board, even when it succeeds.
	readOnly bool
	// db is the board the case acts on ("" = the world's).
	db     string
	mode   string // template journal mode ("" = wal)
	post   func(t *testing.T, w *badinput.World, db string, r badinput.Result) []badinput.Problem
	defect *badinput.Defect
}

func usage(name string, args ...string) mcase {
	return mcase{name: name, args: args, codes: []int{2}, readOnly: true, defect: dUsage}
}

func (c mcase) check(t *testing.T, tps badinput.Templates) {
	t.Parallel()
	mode := c.mode
	if mode == "" {
		mode = "wal"
	}
	w := badinput.NewWorld(t, tps[mode], mode)
	for k, v := range c.env {
		w.Env[k] = v
	}
	if c.setup != nil {
		c.setup(t, w)
	}
	db := w.DB
	if c.db != "" {
		db = w.Expand([]string{c.db})[0]
	}
	before, err := badinput.Take(db)
	if err != nil {
		t.Fatal(err)
	}
	r := runMigrate(w, w.Expand(c.args))
	t.Logf("exit %d; stderr %q", r.Code, badinput.FirstLine(r.Stderr))
	problems := r.Problems(c.codes...)
	if r.Code != 0 || c.readOnly {
		after, err := badinput.Take(db)
		if err != nil {
			t.Fatal(err)
		}
		if d := before.Diff(after); d != "" {
			problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
		}
	}
	if c.post != nil {
		problems = append(problems, c.post(t, w, db, r)...)
	}
	badinput.Report(t, c.defect, problems, fmt.Sprintf("kanban-migrate %q", badinput.ClipArgs(c.args)))
}

// parseCases: malformed command lines are usage errors that touch
// nothing.
func parseCases() []mcase {
	cs := []mcase{
		usage("no-verb"),
		usage("unknown-verb", "nope"),
		usage("empty-verb", ""),
		usage("global-unknown-flag", "--bogus", "status"),
		usage("db-no-value", "--db"),
		usage("board-no-value", "--board"),
		usage("extra-arg", "status", "extra"),
		usage("journal-bogus", "apply", "--journal", "bogus"),
		usage("journal-empty", "apply", "--journal", ""),
		usage("journal-no-value", "apply", "--journal"),
		usage("journal-on-plan", "plan", "--journal", "wal"),
		usage("board-and-db", "--board", "default", "--db", "{db}", "status"),
		usage("db-and-all", "--db", "{db}", "--all", "apply"),
		{name: "help", args: []string{"help"}, codes: []int{0}, readOnly: true},
	}
	for _, v := range []string{"status", "plan", "apply"} {
		cs = append(cs, usage("unknown-flag/"+v, v, "--no-such-flag"))
		for _, s := range badinput.Slugs() {
			c := usage("slug/"+v+"/"+s.Name, "--board", s.V, v)
			switch {
			case s.Missing:
				c.codes, c.defect = []int{1}, nil
			case s.V == "":
				c.defect = dEmptyBoard
			case strings.ContainsAny(s.V, "\n\xff"):
				c.defect = badinput.All(dUsage, dEcho)
			}
			cs = append(cs, c)
		}
		cs = append(cs, mcase{name: "db-empty/" + v, args: []string{"--db", "", v}, codes: []int{2}, readOnly: true, defect: dEmptyBoard})
	}
	return cs
}

// stateCodes: what each verb makes of each board file. A board that is
// not there, or is not a board, is a failure (1) that changes nothing.
var stateCodes = map[string]map[string]int{
	"missing-dir":      {"status": 1, "plan": 1, "apply": 1},
	"directory":        {"status": 1, "plan": 1, "apply": 1},
	"not-sqlite":       {"status": 1, "plan": 1, "apply": 1},
	"zero-bytes":       {"status": 0, "plan": 0, "apply": 0}, // empty: kanban initialises it; nothing to do
	"truncated-header": {"status": 1, "plan": 1, "apply": 1},
	"truncated-half":   {"status": 1, "plan": 1, "apply": 1},
	"truncated-page1":  {"status": 1, "plan": 1, "apply": 1},
	"garbage-pages":    {"status": 1, "plan": 1, "apply": 1},
}

// fileCases: --db at every broken board state, and journal changes the
// filesystem forbids.
func fileCases() []mcase {
	var cs []mcase
	for _, st := range badinput.DBStates {
		st := st
		db := "{dir}/target/kanban.db"
		setup := func(t *testing.T, w *badinput.World) { st.Make(t, w, filepath.Join(w.Dir, "target", "kanban.db")) }
		for _, v := range [][]string{{"status"}, {"plan"}, {"apply"}, {"apply", "--journal", "delete"}, {"status", "--json"}} {
			cs = append(cs, mcase{name: "db/" + st.Name + "/" + strings.Join(v, ""), args: append([]string{"--db", db}, v...),
				codes: []int{stateCodes[st.Name][v[0]]}, setup: setup, db: db, readOnly: v[0] != "apply"})
		}
	}
	nfs := map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs"}
	cs = append(cs,
		// WAL on NFS is what kanban refuses; its message sends people
		// here to convert, so that must work, and the reverse must not.
		mcase{name: "netfs/wal-to-delete", args: []string{"apply", "--journal", "delete"}, codes: []int{0}, env: nfs,
			post: journalIs("delete")},
		mcase{name: "netfs/delete-to-wal", args: []string{"apply", "--journal", "wal"}, codes: []int{1}, env: nfs, mode: "delete"},
		mcase{name: "netfs/status", args: []string{"status"}, codes: []int{0}, env: nfs, readOnly: true},
		mcase{name: "non-utf8-db", args: []string{"--db", "{dir}/\xff\xfe.db", "status"}, codes: []int{1}, readOnly: true, defect: dEcho},
		mcase{name: "name-too-long", args: []string{"--db", "{dir}/" + strings.Repeat("n", 300) + ".db", "status"}, codes: []int{1}, readOnly: true},
	)
	return cs
}

// journalIs checks the board's journal mode after the command.
func journalIs(mode string) func(*testing.T, *badinput.World, string, badinput.Result) []badinput.Problem {
	return func(t *testing.T, w *badinput.World, db string, r badinput.Result) []badinput.Problem {
		if got := badinput.JournalMode(t, db); got != mode {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("board is %s after the command, want %s", got, mode)}}
		}
		return nil
	}
}

// TestBadInput runs the table.
func TestBadInput(t *testing.T) {
	tps := badinput.NewTemplates(t, "wal", "delete")
	seen := map[string]bool{}
	for _, c := range append(parseCases(), fileCases()...) {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) { c.check(t, tps) })
	}
}

// FuzzArgs feeds kanban-migrate arbitrary argument vectors ("@DB" is the
// board): no panic, a documented exit code, and a board that a failed
// command (or status or plan) left exactly as it was.
func FuzzArgs(f *testing.F) {
	for _, seed := range [][]string{
		{"status"}, {"--db", "@DB", "plan", "--json"}, {"apply", "--journal", "delete"}, {"apply", "--no-backup"},
		{"--all", "status"}, {"--board", "x", "apply"}, {"apply", "--journal"}, {"nope"}, {}, {"apply", "--force", "--journal", "wal"},
	} {
		f.Add(badinput.Join(seed...))
	}
	tps := badinput.NewTemplates(f, "wal")
	f.Chdir(f.TempDir())
	f.Fuzz(func(t *testing.T, raw []byte) {
		if badinput.Unsafe(raw) || len(raw) > 4096 {
			t.Skip()
		}
		w := badinput.NewWorld(t, tps["wal"], "wal")
		args := badinput.Args(raw, map[string]string{"@DB": w.DB})
		before, err := badinput.Take(w.DB)
		if err != nil {
			t.Fatal(err)
		}
		r := runMigrate(w, args)
		problems := slices.DeleteFunc(r.Problems(0, 1, 2), func(p badinput.Problem) bool {
			// M1 and M3 are known; everything else must hold.
			return p.Kind == badinput.MultiLine || p.Kind == badinput.NotUTF8 || p.Kind == badinput.ControlChars || p.Kind == badinput.LongLine
		})
		if r.Code != 0 || !slices.Contains(args, "apply") {
			after, err := badinput.Take(w.DB)
			if err != nil {
				t.Fatal(err)
			}
			if d := before.Diff(after); d != "" {
				problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
			}
		}
		badinput.Report(t, nil, problems, fmt.Sprintf("kanban-migrate %q", badinput.ClipArgs(args)))
	})
}
