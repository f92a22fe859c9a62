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
	"github.com/kanbanshim/kanbanshim/recover/cli"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// The bad-input suite of kanban-recover: malformed command lines, board
// selections, board files and replacement files, in process, on a fresh
// copy of a real board. Failures print one line and exit 1 or 2 (check: 3
// for a damaged board, 1 when it cannot check; 4 when another
// maintenance holds the board); check, salvage and diff never change the
// board, and a failed swap or auto leaves it byte-identical.

// recoverTimeout bounds one in-process command.
const recoverTimeout = 30 * time.Second

// runRecover is main's run with injected streams and environment.
func runRecover(w *badinput.World, args []string) badinput.Result {
	return badinput.Run(recoverTimeout, func(ctx context.Context, stdout, stderr io.Writer) int {
		app := cli.NewApp()
		app.Stdout, app.Stderr, app.StderrTTY = stdout, stderr, false
		app.Env = home.Env{Getenv: func(k string) string { return w.Env[k] }, UserHome: w.Dir}
		return cli.Exit(ctx, cli.Run(ctx, app, args), app.Stderr)
	})
}

// Defects found by this suite (docs/RELIABILITY.md, "Bad input").
var (
	dUsage = &badinput.Defect{Fixed: true, ID: "R1", What: "usage errors print the whole usage line before the message: two lines on stderr",
		Kinds: []badinput.Kind{badinput.MultiLine}}
	dEmptyBoard = &badinput.Defect{Fixed: true, ID: "R3", What: "--board '' (and --db '') is taken as no selection: the verb acts on the active board (kanban says 'kanban: --board requires a slug', 2); `kanban-recover swap --board \"$B\" new.db` with B unset swaps the default board",
		Kinds: []badinput.Kind{badinput.WrongCode, badinput.BoardChanged}}
	dRecoverEcho = &badinput.Defect{Fixed: true, ID: "R2", What: "error lines quote arguments raw (newlines, invalid UTF-8, 100 KB paths)",
		Kinds: []badinput.Kind{badinput.MultiLine, badinput.LongLine, badinput.NotUTF8, badinput.ControlChars}}
)

// rcase is one bad-input case of kanban-recover.
type rcase struct {
	name  string
	args  []string // placeholders: see badinput.World.Expand, plus {new}
	codes []int
	setup func(t *testing.T, w *badinput.World)
	// readOnly: the verb never changes the board, even when it succeeds.
	readOnly bool
	// watch are more files that must be byte-identical after a failure
	// (the replacement of a swap, the inputs of diff).
	watch  []string
	defect *badinput.Defect
}

// usage is a usage error: exit 2, and (R1) two lines.
func usage(name string, args ...string) rcase {
	return rcase{name: name, args: args, codes: []int{2}, readOnly: true, defect: dUsage}
}

func (c rcase) check(t *testing.T, tps badinput.Templates) {
	t.Parallel()
	w := badinput.NewWorld(t, tps["wal"], "wal")
	newDB := filepath.Join(w.Dir, "new.db")
	if err := badinput.CopyBoard(tps["delete"].DB, newDB); err != nil {
		t.Fatal(err)
	}
	if c.setup != nil {
		c.setup(t, w)
	}
	watch := append([]string{w.DB}, expand(w, c.watch)...)
	before := snapshots(t, watch)
	r := runRecover(w, expand(w, c.args))
	problems := problemsOf(r, c.codes...)
	t.Logf("exit %d; stderr %q", r.Code, badinput.FirstLine(r.Stderr))
	if r.Code != 0 || c.readOnly {
		for i, after := range snapshots(t, watch) {
			if d := before[i].Diff(after); d != "" {
				problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: watch[i] + ": " + d})
			}
		}
	}
	badinput.Report(t, c.defect, problems, fmt.Sprintf("kanban-recover %q", badinput.ClipArgs(c.args)))
}

// problemsOf is Result.Problems, except that check's exit 3 (damaged) is
// an answer, not a failure: its report is on stdout.
func problemsOf(r badinput.Result, codes ...int) []badinput.Problem {
	p := r.Problems(codes...)
	if r.Code == 3 {
		p = slices.DeleteFunc(p, func(p badinput.Problem) bool { return p.Kind == badinput.Silent })
	}
	return p
}

func expand(w *badinput.World, args []string) []string {
	out := w.Expand(args)
	for i, a := range out {
		out[i] = strings.ReplaceAll(a, "{new}", filepath.Join(w.Dir, "new.db"))
	}
	return out
}

func snapshots(t *testing.T, paths []string) []badinput.Snapshot {
	t.Helper()
	var out []badinput.Snapshot
	for _, p := range paths {
		s, err := badinput.Take(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// parseCases: malformed command lines are usage errors (2) that touch
// nothing.
func parseCases() []rcase {
	cs := []rcase{
		usage("no-verb"),
		usage("unknown-verb", "nope"),
		usage("empty-verb", ""),
		usage("global-unknown-flag", "--bogus", "check"),
		usage("db-no-value", "--db"),
		usage("board-no-value", "--board"),
		usage("salvage-no-out", "salvage"),
		usage("salvage-out-no-value", "salvage", "--out"),
		usage("diff-no-args", "diff"),
		usage("diff-one-arg", "diff", "{db}"),
		usage("diff-three-args", "diff", "{db}", "{new}", "{new}"),
		usage("diff-with-board", "diff", "--board", "default", "{db}", "{new}"),
		usage("swap-no-args", "swap"),
		usage("swap-two-args", "swap", "{new}", "{new}"),
		usage("check-extra-arg", "check", "extra"),
		usage("auto-extra-arg", "auto", "extra"),
		usage("snapshot-extra-arg", "snapshot", "extra"),
		usage("salvage-all", "salvage", "--all", "--out", "{dir}/out.db"),
		usage("swap-all", "swap", "--all", "{new}"),
		usage("board-and-db", "--board", "default", "--db", "{db}", "check"),
		usage("db-and-all", "--db", "{db}", "--all", "auto"),
	}
	for _, v := range []string{"check", "salvage", "diff", "swap", "auto", "snapshot"} {
		cs = append(cs, usage("unknown-flag/"+v, v, "--no-such-flag"))
	}
	cs = append(cs, rcase{name: "help", args: []string{"help"}, codes: []int{0}, readOnly: true})
	for _, s := range badinput.Slugs() {
		for _, v := range []string{"check", "auto", "swap", "snapshot"} {
			args := []string{"--board", s.V, v}
			if v == "swap" {
				args = append(args, "{new}")
			}
			c := usage("slug/"+v+"/"+s.Name, args...)
			if s.Missing {
				c.codes, c.defect = []int{1}, nil
			}
			if s.V == "" {
				c.defect = dEmptyBoard
			}
			if strings.ContainsAny(s.V, "\n\xff") {
				c.defect = badinput.All(dUsage, dRecoverEcho)
			}
			c.watch = []string{"{new}"}
			cs = append(cs, c)
		}
	}
	return cs
}

// stateCodes are each verb's exit code on each board state: 1 when there
// is nothing to work on (no file, a directory, no b-tree page at all: auto
// names --fresh), 3 from check for anything damaged, 0 where salvage finds
// rows and swap and auto replace the damaged board. auto on a missing
// board has nothing to do (0); check and auto call a 0-byte file empty,
// not damaged (0): kanban initialises it. snapshot refuses what SQLite
// calls damaged (3) and fails on what is no board (1).
var stateCodes = map[string]map[string]int{
	"missing-dir":      {"check": 1, "salvage": 1, "diff": 1, "auto": 0, "swap": 1, "snapshot": 1},
	"directory":        {"check": 1, "salvage": 1, "diff": 1, "auto": 1, "swap": 1, "snapshot": 1},
	"not-sqlite":       {"check": 3, "salvage": 1, "diff": 1, "auto": 1, "swap": 0, "snapshot": 3},
	"zero-bytes":       {"check": 0, "salvage": 1, "diff": 0, "auto": 0, "swap": 0, "snapshot": 0},
	"truncated-header": {"check": 3, "salvage": 1, "diff": 1, "auto": 1, "swap": 0, "snapshot": 3},
	"truncated-half":   {"check": 3, "salvage": 0, "diff": 0, "auto": 0, "swap": 0, "snapshot": 3},
	"truncated-page1":  {"check": 3, "salvage": 0, "diff": 0, "auto": 0, "swap": 0, "snapshot": 3},
	"garbage-pages":    {"check": 3, "salvage": 0, "diff": 0, "auto": 0, "swap": 0, "snapshot": 3},
}

// fileCases: --db, salvage --out, swap NEW and diff inputs that are
// missing, directories, not SQLite, damaged, or the board itself.
func fileCases() []rcase {
	var cs []rcase
	for _, st := range badinput.DBStates {
		st := st
		setup := func(t *testing.T, w *badinput.World) { st.Make(t, w, filepath.Join(w.Dir, "target", "kanban.db")) }
		db := "{dir}/target/kanban.db"
		code := func(verb string) []int { return []int{stateCodes[st.Name][verb]} }
		check := code("check")
		cs = append(cs,
			rcase{name: "db/" + st.Name + "/check", args: []string{"--db", db, "check"}, codes: check, setup: setup,
				readOnly: true, watch: []string{db}},
			rcase{name: "db/" + st.Name + "/check-full", args: []string{"check", "--full", "--db", db}, codes: check, setup: setup,
				readOnly: true, watch: []string{db}},
			rcase{name: "db/" + st.Name + "/salvage", args: []string{"--db", db, "salvage", "--out", "{dir}/out.db"},
				codes: code("salvage"), setup: setup, readOnly: true, watch: []string{db}},
			rcase{name: "db/" + st.Name + "/diff", args: []string{"diff", db, "{new}"}, codes: code("diff"), setup: setup,
				readOnly: true, watch: []string{db, "{new}"}},
			rcase{name: "db/" + st.Name + "/auto", args: []string{"--db", db, "auto"}, codes: code("auto"), setup: setup,
				watch: []string{db}},
			rcase{name: "db/" + st.Name + "/swap", args: []string{"--db", db, "swap", "{new}"}, codes: code("swap"), setup: setup,
				watch: []string{db, "{new}"}},
			rcase{name: "db/" + st.Name + "/snapshot", args: []string{"--db", db, "snapshot"}, codes: code("snapshot"), setup: setup,
				readOnly: true, watch: []string{db}},
		)
	}
	notSQLite := func(t *testing.T, w *badinput.World) {
		badinput.WriteFile(t, filepath.Join(w.Dir, "junk.db"), []byte(strings.Repeat("junk\n", 500)))
	}
	truncated := func(t *testing.T, w *badinput.World) {
		data := badinput.ReadFile(t, w.DB)
		badinput.WriteFile(t, filepath.Join(w.Dir, "junk.db"), data[:len(data)/2])
	}
	// An empty file: SQLite reads it as an empty database, which is no
	// board.
	empty := func(t *testing.T, w *badinput.World) { badinput.WriteFile(t, filepath.Join(w.Dir, "junk.db"), nil) }
	long := "{dir}/" + strings.Repeat("n", 300) + ".db"
	cs = append(cs,
		// salvage never writes over a file, least of all the board.
		rcase{name: "salvage/out-is-board", args: []string{"salvage", "--out", "{db}"}, codes: []int{1}, readOnly: true},
		rcase{name: "salvage/out-exists", args: []string{"salvage", "--out", "{new}"}, codes: []int{1}, readOnly: true, watch: []string{"{new}"}},
		rcase{name: "salvage/out-is-dir", args: []string{"salvage", "--out", "{dir}"}, codes: []int{1}, readOnly: true},
		rcase{name: "salvage/out-missing-dir", args: []string{"salvage", "--out", "{dir}/no/such/dir/out.db"}, codes: []int{0, 1}, readOnly: true},
		rcase{name: "salvage/out-name-too-long", args: []string{"salvage", "--out", long}, codes: []int{1}, readOnly: true},
		rcase{name: "salvage/out-non-utf8", args: []string{"salvage", "--out", "{dir}/\xff\xfe.db"}, codes: []int{0}, readOnly: true},
		rcase{name: "salvage/out-empty", args: []string{"salvage", "--out", ""}, codes: []int{2}, readOnly: true, defect: dUsage},
		// swap only ever puts a verified board in place.
		rcase{name: "swap/new-is-board", args: []string{"swap", "{db}"}, codes: []int{1}},
		rcase{name: "swap/new-missing", args: []string{"swap", "{dir}/missing.db"}, codes: []int{1}},
		rcase{name: "swap/new-is-dir", args: []string{"swap", "{dir}"}, codes: []int{1}},
		rcase{name: "swap/new-not-sqlite", args: []string{"swap", "{dir}/junk.db"}, codes: []int{1}, setup: notSQLite, watch: []string{"{dir}/junk.db"}},
		rcase{name: "swap/new-truncated", args: []string{"swap", "{dir}/junk.db"}, codes: []int{1}, setup: truncated, watch: []string{"{dir}/junk.db"}},
		rcase{name: "swap/new-empty-file", args: []string{"swap", "{dir}/junk.db"}, codes: []int{1}, setup: empty, watch: []string{"{dir}/junk.db"}},
		rcase{name: "swap/new-name-too-long", args: []string{"swap", long}, codes: []int{1}},
		rcase{name: "swap/new-empty-arg", args: []string{"swap", ""}, codes: []int{1, 2}},
		rcase{name: "diff/missing", args: []string{"diff", "{dir}/missing.db", "{new}"}, codes: []int{1}, readOnly: true, watch: []string{"{new}"}},
		rcase{name: "diff/dir", args: []string{"diff", "{db}", "{dir}"}, codes: []int{1}, readOnly: true},
		rcase{name: "diff/same", args: []string{"diff", "{db}", "{db}"}, codes: []int{0}, readOnly: true},
		rcase{name: "diff/not-sqlite", args: []string{"diff", "{db}", "{dir}/junk.db"}, codes: []int{0, 1}, setup: notSQLite, readOnly: true, watch: []string{"{dir}/junk.db"}},
		rcase{name: "db/name-too-long", args: []string{"--db", long, "check"}, codes: []int{1}, readOnly: true},
		rcase{name: "db/non-utf8", args: []string{"--db", "{dir}/\xff\xfe.db", "check"}, codes: []int{1}, readOnly: true, defect: dRecoverEcho},
		rcase{name: "db/empty", args: []string{"--db", "", "check"}, codes: []int{2}, readOnly: true, defect: dEmptyBoard},
	)
	return cs
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

// FuzzArgs feeds kanban-recover arbitrary argument vectors ("@DB" is the
// board, "@NEW" a good replacement, "@OUT" a fresh output path): it must
// not panic, must exit with a documented code, must print one line on a
// usage error, and check, salvage and diff must leave the board as it was.
func FuzzArgs(f *testing.F) {
	for _, seed := range [][]string{
		{"check"}, {"--db", "@DB", "check", "--full", "--json"}, {"salvage", "--out", "@OUT"},
		{"diff", "@DB", "@NEW"}, {"--db", "@DB", "swap", "@NEW"}, {"auto", "--quick"}, {"--all", "check"},
		{"--board", "x", "auto"}, {"check", "--db"}, {"nope"}, {}, {"salvage", "--out", "@DB"}, {"swap", "@DB"},
	} {
		f.Add(badinput.Join(seed...))
	}
	tps := badinput.NewTemplates(f, "wal", "delete")
	f.Chdir(f.TempDir()) // relative paths the fuzzer invents land here
	f.Fuzz(func(t *testing.T, raw []byte) {
		if badinput.Unsafe(raw) || len(raw) > 4096 {
			t.Skip()
		}
		w := badinput.NewWorld(t, tps["wal"], "wal")
		newDB := filepath.Join(w.Dir, "new.db")
		if err := badinput.CopyBoard(tps["delete"].DB, newDB); err != nil {
			t.Fatal(err)
		}
		args := badinput.Args(raw, map[string]string{"@DB": w.DB, "@NEW": newDB, "@OUT": filepath.Join(w.Dir, "out.db")})
		before := snapshots(t, []string{w.DB})[0]
		r := runRecover(w, args)
		problems := problemsOf(r, 0, 1, 2, 3, 4)
		problems = slices.DeleteFunc(problems, func(p badinput.Problem) bool {
			// R1 and R2 are known; everything else must hold.
			return p.Kind == badinput.MultiLine || p.Kind == badinput.NotUTF8 || p.Kind == badinput.ControlChars || p.Kind == badinput.LongLine
		})
		if r.Code != 0 || !changesBoard(args) {
			if d := before.Diff(snapshots(t, []string{w.DB})[0]); d != "" {
				problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
			}
		}
		badinput.Report(t, nil, problems, fmt.Sprintf("kanban-recover %q", badinput.ClipArgs(args)))
	})
}

// changesBoard: the command line may change the board when it succeeds
// (swap and auto); a failed one never may.
func changesBoard(args []string) bool {
	return slices.Contains(args, "swap") || slices.Contains(args, "auto")
}
