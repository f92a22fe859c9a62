package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/internal/badinput"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// The bad-input suite of kanban: every verb is fed malformed ids, flags,
// numbers, durations, JSON, board slugs, huge arguments and broken board
// files, in process, on a fresh copy of a real board. Each failing
// command must print exactly one clear line on stderr, exit with the
// documented code, and leave the board byte-identical.

// kcase is one bad-input case.
type kcase struct {
	name  string
	args  []string // with placeholders, see expand
	codes []int    // the documented exit code(s)
	// env overrides the world's environment ("" unsets).
	env map[string]string
	// setup changes the world before the run (a broken board file…).
	setup func(t *testing.T, w *badinput.World)
	// post checks more after the run.
	post func(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem
	// untilStopped: the command rightly runs until stopped (tail,
	// watch); it must still be running at the deadline, unharmed.
	untilStopped bool
	// report: stderr is a documented multi-line report (repair, daemon).
	report bool
	// boardMayChange: the command initialises the board before it
	// fails, as upstream's auto-init does; no byte comparison.
	boardMayChange bool
	// timeout bounds the run (0: badinput.KanbanTimeout).
	timeout time.Duration
	// mode is the journal mode of the template ("" = wal).
	mode string
	// defect is a reported, not yet fixed defect this case shows.
	defect *badinput.Defect
}

// check runs c and applies the bad-input rule.
func (c kcase) check(t *testing.T, tps badinput.Templates) {
	t.Parallel()
	mode := c.mode
	if mode == "" {
		mode = "wal"
	}
	w := badinput.NewWorld(t, tps[mode], mode)
	for k, v := range c.env {
		w.Env[k] = w.Expand([]string{v})[0]
	}
	if c.setup != nil {
		c.setup(t, w)
	}
	before, err := badinput.Take(w.DB)
	if err != nil {
		t.Fatal(err)
	}
	r := w.Kanban(c.timeout, w.Expand(c.args)...)
	if c.untilStopped {
		c.checkStopped(t, r)
		return
	}
	problems := r.Problems(c.codes...)
	if c.report {
		problems = dropKinds(problems, badinput.MultiLine, badinput.LongLine)
	}
	if r.Code != 0 && !c.boardMayChange {
		after, err := badinput.Take(w.DB)
		if err != nil {
			t.Fatal(err)
		}
		if d := before.Diff(after); d != "" {
			problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
		}
	}
	if r.Panic != "" {
		t.Log(r.Panic)
	}
	if c.post != nil {
		problems = append(problems, c.post(t, w, r)...)
	}
	if open := badinput.OpenFiles(w.Dir); len(open) > 0 && !r.Hung {
		problems = append(problems, badinput.Problem{Kind: badinput.Leak, Msg: strings.Join(open, ", ")})
	}
	badinput.Report(t, c.defect, problems, fmt.Sprintf("kanban %q", badinput.ClipArgs(c.args)))
}

func dropKinds(ps []badinput.Problem, kinds ...badinput.Kind) []badinput.Problem {
	var out []badinput.Problem
	for _, p := range ps {
		if !slices.Contains(kinds, p.Kind) {
			out = append(out, p)
		}
	}
	return out
}

// checkStopped: a command that polls until stopped was still running at
// its deadline, did not panic and printed nothing on stderr.
func (c kcase) checkStopped(t *testing.T, r badinput.Result) {
	t.Helper()
	switch {
	case r.Panic != "":
		t.Errorf("panicked: %s", r.Panic)
	case !r.Hung:
		t.Errorf("exited %d before being stopped; stderr %q", r.Code, r.Stderr)
	case !c.report && strings.Contains(r.Stderr, "\n") && !strings.HasSuffix(r.Stderr, "context deadline exceeded\n"):
		t.Errorf("stderr while polling: %q", r.Stderr)
	}
}

// wantJSONField checks a field of the task object a --json command printed.
func wantJSONField(key string, want float64) func(*testing.T, *badinput.World, badinput.Result) []badinput.Problem {
	return func(t *testing.T, _ *badinput.World, r badinput.Result) []badinput.Problem {
		var obj map[string]any
		if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: "no JSON: " + err.Error()}}
		}
		if got, _ := obj[key].(float64); got != want {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("%s = %v, want %v", key, obj[key], want)}}
		}
		return nil
	}
}

// claimNotExpired: a claim taken with a huge --ttl must not have
// overflowed into the past, where the next dispatcher pass would reclaim
// it at once.
func claimNotExpired(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
	if r.Code != 0 {
		return nil
	}
	c, err := sqlite3.Open(w.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exp, _, err := sqlx.QueryInt(c, "SELECT claim_expires FROM tasks WHERE id = ?", w.IDs.Ready)
	if err != nil {
		t.Fatal(err)
	}
	if exp < time.Now().Unix() {
		return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("claim_expires = %d: the claim expired before it began", exp)}}
	}
	return nil
}

// noEscape: an id like ../../x must not create files outside the board's
// directories (log, attachment and workspace paths are built from ids).
func noEscape(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
	var p []badinput.Problem
	filepath.WalkDir(w.Dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "escape") && !strings.HasPrefix(path, w.Home+string(filepath.Separator)) {
			p = append(p, badinput.Problem{Kind: badinput.Semantics, Msg: "created " + path})
		}
		return nil
	})
	return p
}

// secret is a log file outside the board that `log ../../../secret` would
// print.
const secret = "not a worker log: this file is outside the board\n"

func plantSecret(t *testing.T, w *badinput.World) {
	if err := os.WriteFile(filepath.Join(w.Dir, "secret.log"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
}

func secretNotShown(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
	if strings.Contains(r.Stdout, secret) {
		return []badinput.Problem{{Kind: badinput.Semantics, Msg: "printed " + filepath.Join(w.Dir, "secret.log")}}
	}
	return nil
}

// runCases runs each case as a parallel subtest.
func runCases(t *testing.T, tps badinput.Templates, cases []kcase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) { c.check(t, tps) })
	}
}

// Defects found by this suite and reported (docs/RELIABILITY.md, "Bad
// input"); the cases that show them are marked, see badinput.Defect.
var (
	dEcho = &badinput.Defect{Fixed: true, ID: "K1", What: "error lines echo arguments raw: newlines, escape sequences, invalid UTF-8 and 100 KB ids or values reach stderr unquoted and unclipped",
		Kinds: []badinput.Kind{badinput.MultiLine, badinput.LongLine, badinput.NotUTF8, badinput.ControlChars}}
	dIntBase = &badinput.Defect{Fixed: true, ID: "K2", What: "--ttl, --priority (create), --run, --profile-cap and gc's --*-retention-days parse 0x10/0o10/0b10 and read 010 as octal; upstream's int() takes base 10 only",
		Kinds: []badinput.Kind{badinput.WrongCode, badinput.Semantics}}
	dDuration = &badinput.Defect{Fixed: true, ID: "K3", What: "--max-runtime 1e15d overflows int64 and stores -9223372036854775808",
		Kinds: []badinput.Kind{badinput.WrongCode, badinput.Semantics}}
	dDeepJSON = &badinput.Defect{Fixed: true, ID: "K4", What: "--metadata nested 10000 deep is stored; upstream's Python readers of the run metadata raise RecursionError past ~1000",
		Kinds: []badinput.Kind{badinput.WrongCode}}
	dDaemonBoard = &badinput.Defect{Fixed: true, ID: "K5", What: "daemon --board '' runs the daemon over every board instead of 'kanban: --board requires a slug' (2)",
		Kinds: []badinput.Kind{badinput.WrongCode, badinput.Hung}}
	dTTL = &badinput.Defect{Fixed: true, ID: "K7", What: "claim --ttl 9223372036854775807 overflows now+ttl: the claim expires before it begins and the next dispatcher pass reclaims it",
		Kinds: []badinput.Kind{badinput.Semantics}}
	dTraversal = &badinput.Defect{Fixed: true, ID: "K8", What: "task ids are joined to paths unchecked: `log ../../../x` prints <HERMES_HOME>/../x.log, `supervise --task ../../../x` creates <HERMES_HOME>/../x.log",
		Kinds: []badinput.Kind{badinput.WrongCode, badinput.Semantics}}
	dConfigWarn = &badinput.Defect{Fixed: true, ID: "K9", What: "a HERMES_HOME that is not a directory or not readable adds 'warning: ignoring config: …' before the error: two lines (upstream's load_config is silent)",
		Kinds: []badinput.Kind{badinput.MultiLine}}
	dReadOnly = &badinput.Defect{Fixed: true, ID: "K10", What: "a board file the user may only read (0444) cannot even be read: the store opens it read-write and SQLite's Go VFS has no read-only fallback, unlike upstream's C SQLite",
		Kinds: []badinput.Kind{badinput.WrongCode}}
	dLeak = &badinput.Defect{Fixed: true, ID: "K11", What: "store.Open leaks its SQLite connection and the .open guard on every error after the guard is taken (corrupt board, WAL on a network fs): `return nil, err` sets the named result s to nil before the deferred s.Close() (os.File finalizers close them at some later GC, so a case may miss it)",
		Kinds: []badinput.Kind{badinput.Leak}}
	dHint = &badinput.Defect{Fixed: true, ID: "K12", What: "for a damaged HERMES_KANBAN_DB the hint is `kanban-recover auto --board default`, which checks the default board's own file, says healthy and repairs nothing; kanban-recover itself prints `--db <path>`",
		Kinds: []badinput.Kind{badinput.Semantics}}
	dSupervise = &badinput.Defect{Fixed: true, ID: "K6", What: "supervise does not check that --task/--run name a running task's current run: it starts the worker for any id and exits 0",
		Kinds: []badinput.Kind{badinput.WrongCode}}
)

// idVerb is a verb invocation with one task id slot, {id}, and the code
// an id that names no task gets.
type idVerb struct {
	name string
	args []string
	code int
	echo echo // how its error line quotes the id
}

// echo is how a verb's error line quotes an argument (defect K1).
type echo int

const (
	echoRaw  echo = iota // verbatim
	echoFlat             // through Exit's oneLine: newlines become spaces
	echoNone             // not quoted at all
)

// mangles reports whether an error line quoting v that way breaks the
// one-clear-line rule.
func (e echo) mangles(v string) bool {
	switch e {
	case echoNone:
		return false
	case echoFlat:
		v = strings.ReplaceAll(v, "\n", " ")
	}
	return len(v) > badinput.MaxLine/2 || strings.ContainsAny(v, "\n\x01\x1b") || !utf8.ValidString(v)
}

// idVerbs are every verb that takes a task id (tail, which follows an id
// until stopped whether or not it exists, as upstream, is left out).
var idVerbs = []idVerb{
	{"show", []string{"show", "{id}"}, 1, echoRaw},
	{"runs", []string{"runs", "{id}"}, 0, echoNone}, // upstream: no existence check
	{"context", []string{"context", "{id}"}, 1, echoFlat},
	{"log", []string{"log", "{id}"}, 1, echoRaw},
	{"attachments", []string{"attachments", "{id}"}, 1, echoRaw},
	{"notify-list", []string{"notify-list", "{id}"}, 0, echoNone},
	{"assign", []string{"assign", "{id}", "alice"}, 1, echoRaw},
	{"reassign", []string{"reassign", "{id}", "alice"}, 1, echoRaw},
	{"reclaim", []string{"reclaim", "{id}"}, 1, echoRaw},
	{"set-model", []string{"set-model", "{id}", "gpt-x"}, 1, echoRaw},
	{"attach", []string{"attach", "{id}", "{file}"}, 1, echoFlat},
	{"block", []string{"block", "{id}", "reason"}, 1, echoFlat},
	{"schedule", []string{"schedule", "{id}"}, 1, echoRaw},
	{"unblock", []string{"unblock", "{id}"}, 1, echoRaw},
	{"promote", []string{"promote", "{id}"}, 1, echoRaw},
	{"claim", []string{"claim", "{id}"}, 1, echoRaw},
	{"heartbeat", []string{"heartbeat", "{id}"}, 1, echoRaw},
	{"comment", []string{"comment", "{id}", "hi"}, 1, echoFlat},
	{"complete", []string{"complete", "{id}"}, 1, echoRaw},
	{"edit", []string{"edit", "{id}", "--title", "x"}, 1, echoRaw},
	{"link-parent", []string{"link", "{id}", "{ready}"}, 1, echoFlat},
	{"link-child", []string{"link", "{ready}", "{id}"}, 1, echoFlat},
	{"unlink", []string{"unlink", "{id}", "{ready}"}, 1, echoRaw},
	{"notify-subscribe", []string{"notify-subscribe", "{id}", "--platform", "telegram", "--chat-id", "1"}, 1, echoRaw},
	{"notify-unsubscribe", []string{"notify-unsubscribe", "{id}", "--platform", "telegram", "--chat-id", "1"}, 1, echoNone},
	{"request-review", []string{"request-review", "{id}"}, 1, echoRaw},
	{"request-changes", []string{"request-changes", "{id}", "because"}, 1, echoRaw},
	{"reopen-review", []string{"reopen-review", "{id}"}, 1, echoRaw},
	{"archive", []string{"archive", "{id}"}, 1, echoRaw},
	{"archive-rm", []string{"archive", "--rm", "{id}"}, 1, echoRaw},
	{"create-parent", []string{"create", "child", "--parent", "{id}"}, 1, echoFlat}, // "" is dropped, as upstream
	{"supervise", []string{"supervise", "--task", "{id}", "--run", "1", "--", "true"}, 1, echoRaw},
}

func withID(args []string, id string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "{id}", id)
	}
	return out
}

// idCases feeds every malformed id to every verb that takes one.
func idCases() []kcase {
	var cs []kcase
	cs = append(cs, kcase{name: "id/log/secret", args: []string{"log", "../../../secret"}, codes: []int{1},
		setup: plantSecret, post: secretNotShown, defect: dTraversal})
	for _, v := range idVerbs {
		for _, id := range badinput.IDs() {
			c := kcase{name: "id/" + v.name + "/" + id.Name, args: withID(v.args, id.V), codes: []int{v.code}}
			var ds []*badinput.Defect
			if v.code != 0 && v.echo.mangles(id.V) {
				ds = append(ds, dEcho)
			}
			if id.V == badinput.Escape {
				c.post = noEscape
				if v.name == "supervise" {
					ds = append(ds, dTraversal)
				}
			}
			switch {
			case v.name == "create-parent" && id.V == "":
				c.codes = []int{0}
			case v.name == "supervise" && id.V == "":
				c.codes = []int{2} // --task is required
			case v.name == "supervise":
				ds = append(ds, dSupervise)
			}
			c.defect = badinput.All(ds...)
			cs = append(cs, c)
		}
	}
	return cs
}

// verbFlags are each verb's value-taking flags, after arguments that are
// otherwise valid.
var verbFlags = []struct {
	verb  string
	base  []string
	flags []string
}{
	{"archive", []string{"archive"}, []string{"--rm"}},
	{"reassign", []string{"reassign", "{ready}", "alice"}, []string{"--reason"}},
	{"reclaim", []string{"reclaim", "{running}"}, []string{"--reason"}},
	{"set-model", []string{"set-model", "{ready}", "m"}, []string{"--provider"}},
	{"attach", []string{"attach", "{ready}", "{file}"}, []string{"--content-type", "--name", "--author"}},
	{"block", []string{"block", "{ready}"}, []string{"--ids", "--kind"}},
	{"schedule", []string{"schedule", "{ready}"}, []string{"--ids"}},
	{"unblock", []string{"unblock", "{blocked}"}, []string{"--reason"}},
	{"promote", []string{"promote", "{ready}"}, []string{"--ids"}},
	{"claim", []string{"claim", "{ready}"}, []string{"--ttl"}},
	{"heartbeat", []string{"heartbeat", "{running}"}, []string{"--note"}},
	{"comment", []string{"comment", "{ready}", "hi"}, []string{"--author", "--max-len"}},
	{"complete", []string{"complete", "{ready}"}, []string{"--result", "--summary", "--metadata"}},
	{"edit", []string{"edit", "{ready}"}, []string{"--title", "--body", "--priority", "--result", "--summary", "--metadata"}},
	{"create", []string{"create", "t"}, []string{"--body", "--body-file", "--assignee", "--parent", "--workspace", "--branch",
		"--project", "--tenant", "--priority", "--idempotency-key", "--max-runtime", "--created-by", "--skill", "--max-retries",
		"--model", "--provider", "--completion-contract", "--goal-max-turns", "--initial-status"}},
	{"dispatch", []string{"dispatch", "--dry-run"}, []string{"--max", "--failure-limit", "--max-workers"}},
	{"daemon", []string{"daemon"}, []string{"--interval", "--max", "--failure-limit", "--max-workers", "--pidfile", "--board"}},
	{"supervise", []string{"supervise"}, []string{"--task", "--run", "--grace", "--max-workers", "--profile", "--profile-cap", "--log"}},
	{"gc", []string{"gc"}, []string{"--event-retention-days", "--log-retention-days"}},
	{"list", []string{"list"}, []string{"--assignee", "--status", "--tenant", "--session", "--sort", "--workflow-template-id", "--step-key"}},
	{"log", []string{"log", "{ready}"}, []string{"--tail"}},
	{"notify-subscribe", []string{"notify-subscribe", "{ready}", "--platform", "p", "--chat-id", "c"}, []string{"--platform",
		"--chat-id", "--thread-id", "--user-id", "--user-id-alt", "--chat-type", "--notifier-profile", "--delivery-mode"}},
	{"notify-unsubscribe", []string{"notify-unsubscribe", "{ready}", "--platform", "p", "--chat-id", "c"}, []string{"--platform", "--chat-id", "--thread-id"}},
	{"request-review", []string{"request-review", "{running}"}, []string{"--summary", "--reviewer", "--metadata"}},
	{"reopen-review", []string{"reopen-review", "{review}"}, []string{"--reason"}},
	{"runs", []string{"runs", "{ready}"}, []string{"--state-type", "--state-name"}},
	{"show", []string{"show", "{ready}"}, []string{"--state-type", "--state-name"}},
	{"tail", []string{"tail", "{ready}"}, []string{"--interval"}},
	{"watch", []string{"watch"}, []string{"--assignee", "--tenant", "--kinds", "--interval"}},
	{"boards-create", []string{"boards", "create", "side"}, []string{"--name", "--description", "--icon", "--color", "--default-workdir"}},
}

// verbRequired are the verbs with required positional arguments.
var verbRequired = []string{"assign", "reassign", "reclaim", "set-model", "attach", "attachments", "attach-rm", "block",
	"schedule", "unblock", "promote", "claim", "heartbeat", "comment", "complete", "edit", "context", "create", "link",
	"unlink", "log", "notify-subscribe", "notify-unsubscribe", "request-review", "request-changes", "reopen-review",
	"runs", "show", "tail"}

// allVerbs is every verb kanbanshim implements (and the list alias).
var allVerbs = []string{"archive", "assign", "reassign", "reclaim", "set-model", "attach", "attachments", "attach-rm",
	"block", "schedule", "unblock", "promote", "boards", "claim", "heartbeat", "comment", "complete", "edit", "context",
	"create", "dispatch", "daemon", "supervise", "gc", "init", "link", "unlink", "list", "ls", "locks", "log",
	"notify-subscribe", "notify-list", "notify-unsubscribe", "repair", "request-review", "request-changes",
	"reopen-review", "runs", "show", "stats", "assignees", "tail", "watch"}

// parseCases: missing arguments, unknown flags, flags without their
// value, unknown actions and global options: all usage errors (2),
// before the board is touched.
func parseCases() []kcase {
	usage := []int{2}
	var cs []kcase
	for _, v := range verbRequired {
		cs = append(cs, kcase{name: "missing-args/" + v, args: []string{v}, codes: usage})
	}
	for _, v := range allVerbs {
		cs = append(cs, kcase{name: "unknown-flag/" + v, args: []string{v, "--no-such-flag"}, codes: usage})
	}
	for _, vf := range verbFlags {
		for _, f := range vf.flags {
			cs = append(cs, kcase{name: "no-value/" + vf.verb + f, args: append(slicesClone(vf.base), f), codes: usage})
		}
	}
	for _, sub := range []string{"create", "rm", "switch", "rename", "set-default-workdir"} {
		cs = append(cs, kcase{name: "missing-args/boards-" + sub, args: []string{"boards", sub}, codes: usage})
	}
	for _, sub := range []string{"list", "create", "rm", "switch", "show", "rename", "set-default-workdir"} {
		cs = append(cs, kcase{name: "unknown-flag/boards-" + sub, args: []string{"boards", sub, "--no-such-flag"}, codes: usage})
	}
	cs = append(cs,
		kcase{name: "missing-args/notify-subscribe-platform", args: []string{"notify-subscribe", "{ready}", "--chat-id", "c"}, codes: usage},
		kcase{name: "missing-args/notify-subscribe-chat", args: []string{"notify-subscribe", "{ready}", "--platform", "p"}, codes: usage},
		kcase{name: "missing-args/supervise-task", args: []string{"supervise", "--run", "1", "--", "true"}, codes: usage},
		kcase{name: "too-many-args/show", args: []string{"show", "{ready}", "extra"}, codes: usage},
		kcase{name: "too-many-args/list", args: []string{"list", "extra"}, codes: usage},
		kcase{name: "unknown-action", args: []string{"no-such-action"}, codes: usage},
		kcase{name: "unknown-action/empty", args: []string{""}, codes: usage},
		kcase{name: "unknown-action/non-utf8", args: []string{badinput.NonUTF8}, codes: usage},
		kcase{name: "unknown-action/boards", args: []string{"boards", "no-such-sub"}, codes: usage},
		kcase{name: "global/unknown-flag", args: []string{"--no-such-flag", "list"}, codes: usage},
		kcase{name: "global/board-no-value", args: []string{"--board"}, codes: usage},
		kcase{name: "global/flag-after-board", args: []string{"--board", "default", "--bogus", "list"}, codes: usage},
		kcase{name: "choice/block-kind", args: []string{"block", "{ready}", "--kind", "bogus"}, codes: usage},
		kcase{name: "choice/list-status", args: []string{"list", "--status", "bogus"}, codes: usage},
		kcase{name: "choice/list-sort", args: []string{"list", "--sort", "bogus"}, codes: usage},
		kcase{name: "choice/create-initial-status", args: []string{"create", "t", "--initial-status", "bogus"}, codes: usage},
		kcase{name: "choice/create-workspace", args: []string{"create", "t", "--workspace", "bogus"}, codes: usage},
		kcase{name: "choice/create-workspace-dir-empty", args: []string{"create", "t", "--workspace", "dir:"}, codes: usage},
		kcase{name: "choice/create-branch-no-worktree", args: []string{"create", "t", "--branch", "b"}, codes: usage},
		kcase{name: "choice/notify-chat-type", args: []string{"notify-subscribe", "{ready}", "--platform", "p", "--chat-id", "c", "--chat-type", "bogus"}, codes: usage},
		kcase{name: "choice/notify-delivery-mode", args: []string{"notify-subscribe", "{ready}", "--platform", "p", "--chat-id", "c", "--delivery-mode", "bogus"}, codes: usage},
		kcase{name: "choice/show-state-type", args: []string{"show", "{ready}", "--state-type", "bogus", "--state-name", "x"}, codes: usage},
		kcase{name: "choice/show-state-type-alone", args: []string{"show", "{ready}", "--state-type", "status"}, codes: usage},
		kcase{name: "choice/edit-nothing", args: []string{"edit", "{ready}"}, codes: usage},
		kcase{name: "choice/edit-summary-without-result", args: []string{"edit", "{done}", "--summary", "s"}, codes: usage},
		kcase{name: "choice/complete-summary-many", args: []string{"complete", "{ready}", "{blocked}", "--summary", "s"}, codes: usage},
		kcase{name: "choice/comment-max-len-zero", args: []string{"comment", "{ready}", "hi", "--max-len", "0"}, codes: usage},
		kcase{name: "choice/create-max-retries-zero", args: []string{"create", "t", "--max-retries", "0"}, codes: usage},
		kcase{name: "choice/archive-both", args: []string{"archive", "{done}", "--rm", "{done}"}, codes: []int{1}},
	)
	return cs
}

func slicesClone(s []string) []string { return slices.Clone(s) }

// numberFlags are the integer and float flags, after otherwise valid
// arguments.
// Flags marked native are pflag's own Int64Var/IntVar/Float64Var, whose
// errors quote the value with %q; the others quote it raw (K1).
var intFlags = []struct {
	name   string
	args   []string
	native bool
}{
	{"claim-ttl", []string{"claim", "{ready}", "--ttl"}, true},
	{"comment-max-len", []string{"comment", "{ready}", "hi", "--max-len"}, false},
	{"edit-priority", []string{"edit", "{ready}", "--priority"}, false},
	{"create-priority", []string{"create", "t", "--priority"}, true},
	{"create-max-retries", []string{"create", "t", "--max-retries"}, false},
	{"create-goal-max-turns", []string{"create", "t", "--goal-max-turns"}, false},
	{"dispatch-max", []string{"dispatch", "--dry-run", "--max"}, false},
	{"dispatch-failure-limit", []string{"dispatch", "--dry-run", "--failure-limit"}, false},
	{"dispatch-max-workers", []string{"dispatch", "--dry-run", "--max-workers"}, false},
	{"daemon-max", []string{"daemon", "--max"}, false},
	{"daemon-failure-limit", []string{"daemon", "--failure-limit"}, false},
	{"daemon-max-workers", []string{"daemon", "--max-workers"}, false},
	{"log-tail", []string{"log", "{ready}", "--tail"}, false},
	{"gc-event-retention", []string{"gc", "--event-retention-days"}, true},
	{"gc-log-retention", []string{"gc", "--log-retention-days"}, true},
	{"supervise-run", []string{"supervise", "--task", "{running}", "--run"}, true},
	{"supervise-max-workers", []string{"supervise", "--task", "{running}", "--run", "1", "--max-workers"}, false},
	{"supervise-profile-cap", []string{"supervise", "--task", "{running}", "--run", "1", "--profile-cap"}, true},
	{"attach-rm", []string{"attach-rm"}, false},
}

var floatFlags = []struct {
	name   string
	args   []string
	native bool
}{
	{"tail-interval", []string{"tail", "{ready}", "--interval"}, true},
	{"watch-interval", []string{"watch", "--interval"}, true},
	{"daemon-interval", []string{"daemon", "--interval"}, false},
	{"supervise-grace", []string{"supervise", "--task", "{running}", "--run", "1", "--grace"}, false},
}

// valueCases: malformed numbers, durations and JSON metadata are usage
// errors (2).
func valueCases() []kcase {
	usage := []int{2}
	var cs []kcase
	base0 := map[string]bool{"claim-ttl": true, "create-priority": true, "gc-event-retention": true, "gc-log-retention": true}
	for _, f := range intFlags {
		for _, v := range badinput.Ints() {
			c := kcase{name: "int/" + f.name + "/" + v.Name, args: append(slicesClone(f.args), v.V), codes: usage}
			if v.Name == "hex" && base0[f.name] {
				c.defect = dIntBase
			}
			if !f.native && echoRaw.mangles(v.V) {
				c.defect = dEcho
			}
			cs = append(cs, c)
		}
	}
	cs = append(cs,
		kcase{name: "int/create-priority/leading-zero", args: []string{"create", "t", "--json", "--priority", "010"}, codes: []int{0},
			defect: dIntBase, post: wantJSONField("priority", 10)},
		kcase{name: "int/edit-priority/leading-zero", args: []string{"edit", "{ready}", "--priority", "010"}, codes: []int{0}},
		kcase{name: "int/claim-ttl/max-int64", args: []string{"claim", "{ready}", "--ttl", badinput.MaxInt64}, codes: []int{0, 2},
			post: claimNotExpired, defect: dTTL},
		kcase{name: "float/tail-interval/nan", args: []string{"tail", "{ready}", "--interval", "NaN"}, codes: []int{0}, timeout: time.Second,
			untilStopped: true},
		kcase{name: "float/tail-interval/huge", args: []string{"tail", "{ready}", "--interval", badinput.HugeNumber}, codes: []int{0},
			timeout: time.Second, untilStopped: true},
		kcase{name: "float/watch-interval/negative", args: []string{"watch", "--interval", "-5"}, codes: []int{0}, timeout: time.Second,
			untilStopped: true},
	)
	for _, f := range floatFlags {
		for _, v := range badinput.Floats() {
			c := kcase{name: "float/" + f.name + "/" + v.Name, args: append(slicesClone(f.args), v.V), codes: usage}
			if !f.native && echoRaw.mangles(v.V) {
				c.defect = dEcho
			}
			cs = append(cs, c)
		}
	}
	for _, v := range badinput.Durations() {
		c := kcase{name: "duration/" + v.Name, args: []string{"create", "t", "--max-runtime", v.V}, codes: usage}
		switch v.Name {
		case "negative": // upstream's _parse_duration takes it: -180 s
			c.codes = []int{0}
		case "huge-days":
			c.defect = dDuration
		case "non-utf8":
			c.defect = dEcho
		}
		cs = append(cs, c)
	}
	for _, v := range badinput.Metadata() {
		var d *badinput.Defect
		if v.Name == "deep-object" {
			d = dDeepJSON
		}
		cs = append(cs,
			kcase{name: "metadata/complete/" + v.Name, args: []string{"complete", "{ready}", "--metadata", v.V}, codes: usage, defect: d},
			kcase{name: "metadata/edit/" + v.Name, args: []string{"edit", "{done}", "--result", "r", "--metadata", v.V}, codes: usage, defect: d},
			kcase{name: "metadata/request-review/" + v.Name, args: []string{"request-review", "{ready}", "--metadata", v.V}, codes: usage, defect: d},
		)
	}
	return cs
}

// slugCases: a malformed --board is a usage error (2); a valid slug that
// names no board is a failure (1), as upstream.
func slugCases() []kcase {
	var cs []kcase
	for _, s := range badinput.Slugs() {
		code := []int{2}
		if s.Missing {
			code = []int{1}
		}
		for _, v := range []struct {
			name string
			args []string
		}{
			{"list", []string{"--board", s.V, "list"}},
			{"create", []string{"--board", s.V, "create", "t"}},
			{"show", []string{"--board", s.V, "show", "{ready}"}},
			{"board-equals", []string{"--board=" + s.V, "stats"}},
			{"daemon", []string{"daemon", "--board", s.V}},
		} {
			c := kcase{name: "slug/" + v.name + "/" + s.Name, args: v.args, codes: code}
			if v.name == "daemon" && s.V == "" {
				c.defect, c.timeout = dDaemonBoard, 2*time.Second
			}
			cs = append(cs, c)
		}
		if s.Missing {
			continue
		}
		for _, sub := range []string{"create", "switch", "rm", "rename", "set-default-workdir"} {
			args := []string{"boards", sub, s.V}
			if sub == "rename" {
				args = append(args, "New Name")
			}
			c := kcase{name: "slug/boards-" + sub + "/" + s.Name, args: args, codes: code}
			// Upstream raises ValueError there: 1, bad slug too.
			if sub == "rm" || (s.V == "" && (sub == "rename" || sub == "set-default-workdir")) {
				c.codes = []int{1}
			}
			if strings.HasPrefix(s.V, "-") {
				c.codes = []int{2} // an unknown flag to the sub-action's parser
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// TestBadInput runs the whole table on a WAL board.
func TestBadInput(t *testing.T) {
	tps := badinput.NewTemplates(t, "wal", "delete")
	var cases []kcase
	for _, g := range [][]kcase{idCases(), parseCases(), valueCases(), slugCases(), dbCases(), homeCases(), hugeCases()} {
		cases = append(cases, g...)
	}
	runCases(t, tps, cases)
}

// storeVerbs are one invocation of every verb that opens the board, with
// ids that name no task (the board is broken anyway).
var storeVerbs = [][]string{
	{"list"}, {"ls", "--json"}, {"show", "t_00000000"}, {"create", "t"}, {"stats"}, {"assignees"},
	{"runs", "t_00000000"}, {"context", "t_00000000"}, {"claim", "t_00000000"}, {"comment", "t_00000000", "hi"},
	{"complete", "t_00000000"}, {"gc"}, {"dispatch", "--dry-run"}, {"init"}, {"repair"}, {"notify-list"},
	{"log", "t_00000000"}, {"attachments", "t_00000000"}, {"attach", "t_00000000", "{file}"}, {"attach-rm", "1"},
	{"edit", "t_00000000", "--title", "x"}, {"block", "t_00000000"}, {"schedule", "t_00000000"},
	{"unblock", "t_00000000"}, {"promote", "t_00000000"}, {"archive", "t_00000000"},
	{"link", "t_00000000", "t_00000001"}, {"unlink", "t_00000000", "t_00000001"}, {"assign", "t_00000000", "alice"},
	{"reassign", "t_00000000", "alice"}, {"reclaim", "t_00000000"}, {"heartbeat", "t_00000000"},
	{"set-model", "t_00000000", "m"}, {"request-review", "t_00000000"}, {"request-changes", "t_00000000", "why"},
	{"reopen-review", "t_00000000"}, {"notify-subscribe", "t_00000000", "--platform", "p", "--chat-id", "c"},
	{"notify-unsubscribe", "t_00000000", "--platform", "p", "--chat-id", "c"}, {"tail", "t_00000000"},
	{"watch"}, {"daemon", "--interval", "0.1"},
}

// someStoreVerbs are a few of them, for states every verb meets the same
// way (through the one board open); the full list runs on the others.
var someStoreVerbs = [][]string{{"list"}, {"show", "t_00000000"}, {"create", "t"}, {"complete", "t_00000000"},
	{"init"}, {"repair"}, {"tail", "t_00000000"}}

// longRunning verbs poll until stopped on a healthy board.
func longRunning(verb string) bool { return verb == "tail" || verb == "watch" || verb == "daemon" }

// dbCases point HERMES_KANBAN_DB at each broken state and run every verb:
// a healthy state works, a broken one fails (1) with one line and is left
// byte-identical (no empty board is created over it).
func dbCases() []kcase {
	var cs []kcase
	for _, st := range badinput.DBStates {
		verbs := storeVerbs
		if st.Few {
			verbs = someStoreVerbs
		}
		for _, args := range verbs {
			if st.Healthy && longRunning(args[0]) {
				continue
			}
			st, args := st, args
			c := kcase{name: "db/" + st.Name + "/" + strings.Join(args[:1], ""), args: args, codes: []int{1}}
			switch {
			case st.Healthy && args[0] == "attach-rm":
				c.codes = []int{1}
			case st.Healthy:
				c.codes = []int{0, 1} // as on an empty board: unknown ids fail
			case args[0] == "repair":
				c.report = true // upstream's multi-line CORRUPT report
			case args[0] == "daemon":
				// A daemon reports each failed tick and keeps going.
				c.untilStopped, c.report, c.timeout = true, true, time.Second
			}
			c.boardMayChange = st.Healthy
			if st.SQLite && args[0] != "repair" && args[0] != "daemon" {
				c.defect = dLeak
			}
			c.setup = func(t *testing.T, w *badinput.World) {
				db := filepath.Join(w.Dir, "elsewhere", "sub", "kanban.db")
				st.Make(t, w, db)
				w.Env["HERMES_KANBAN_DB"] = db
				w.DB = db
			}
			if st.Healthy && args[0] != "repair" { // repair runs before auto-init
				c.post = boardUsable
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// boardUsable: after a command on a missing or empty file, the board is a
// real kanban board that passes integrity_check.
func boardUsable(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
	c, err := sqlite3.Open(w.DB)
	if err != nil {
		return []badinput.Problem{{Kind: badinput.Semantics, Msg: err.Error()}}
	}
	defer c.Close()
	msgs, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil || len(msgs) != 1 || msgs[0] != "ok" {
		return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("integrity_check: %v %v", msgs, err)}}
	}
	if _, found, err := sqlx.QueryInt(c, "SELECT 1 FROM sqlite_schema WHERE name = 'tasks'"); err != nil || !found {
		return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("no tasks table after %s (%v)", r.Stdout, err)}}
	}
	return nil
}

// homeCases: HERMES_HOME itself is unusable.
func homeCases() []kcase {
	var cs []kcase
	for _, args := range someStoreVerbs {
		if longRunning(args[0]) {
			continue
		}
		cs = append(cs, kcase{name: "home/is-a-file/" + args[0], args: args, codes: []int{1}, defect: dConfigWarn,
			setup: func(t *testing.T, w *badinput.World) {
				f := filepath.Join(w.Dir, "home-file")
				badinput.WriteFile(t, f, []byte("not a directory\n"))
				w.Env["HERMES_HOME"] = f
			}})
	}
	return cs
}

// hugeCases: huge arguments either work or fail cleanly, and what is
// stored is what was given.
func hugeCases() []kcase {
	mb := badinput.Big("title ", 1<<20)
	many := []string{"complete"}
	for i := 0; i < 300; i++ {
		many = append(many, fmt.Sprintf("t_%08x", i))
	}
	return []kcase{
		{name: "huge/create-title-1MB", args: []string{"create", mb, "--json"}, codes: []int{0}, post: storedTitle(mb)},
		{name: "huge/create-body-1MB", args: []string{"create", "t", "--body", mb}, codes: []int{0}},
		{name: "huge/comment-1MB", args: []string{"comment", "{ready}", mb}, codes: []int{0}},
		{name: "huge/complete-result-1MB", args: []string{"complete", "{ready}", "--result", mb}, codes: []int{0}},
		{name: "huge/metadata-1MB", args: []string{"complete", "{ready}", "--metadata", `{"a":"` + mb + `"}`}, codes: []int{0}},
		{name: "huge/300-unknown-ids", args: many, codes: []int{1}, report: true}, // one line per id, as upstream
		{name: "huge/body-file-missing", args: []string{"create", "t", "--body-file", "{dir}/no-such-file"}, codes: []int{2}},
		{name: "huge/body-file-directory", args: []string{"create", "t", "--body-file", "{dir}"}, codes: []int{2}},
		{name: "huge/body-file-and-body", args: []string{"create", "t", "--body-file", "{file}", "--body", "b"}, codes: []int{2}},
		{name: "huge/attach-missing-file", args: []string{"attach", "{ready}", "{dir}/no-such-file"}, codes: []int{1}},
		{name: "huge/attach-directory", args: []string{"attach", "{ready}", "{dir}"}, codes: []int{1}},
	}
}

// storedTitle: the task holds exactly the title given.
func storedTitle(want string) func(*testing.T, *badinput.World, badinput.Result) []badinput.Problem {
	return func(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
		var obj struct{ ID, Title string }
		if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: "no JSON: " + err.Error()}}
		}
		if obj.Title != want {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("stored title is %d bytes, want %d", len(obj.Title), len(want))}}
		}
		return nil
	}
}

// permVerbs read and write a read-only board.
var permVerbs = []struct {
	args  []string
	write bool
}{
	{[]string{"list"}, false}, {[]string{"show", "{ready}"}, false}, {[]string{"stats", "--json"}, false},
	{[]string{"create", "t"}, true}, {[]string{"complete", "{ready}"}, true}, {[]string{"comment", "{ready}", "hi"}, true},
	{[]string{"init"}, false}, {[]string{"gc"}, true}, {[]string{"repair"}, false}, // init: the schema is current
}

// permState makes a world read-only in one way; undo lets cleanup work.
type permState struct {
	name string
	make func(t *testing.T, w *badinput.World)
	// readsWork: read verbs must succeed in these modes (the data is
	// readable, and no file must be created to read it).
	readsWork []string
	// defect excuses a reported failure.
	defect *badinput.Defect
}

var permStates = []permState{
	{name: "ro-file", readsWork: []string{"wal", "delete"}, defect: dReadOnly,
		make: func(t *testing.T, w *badinput.World) { badinput.Chmod(t, w.DB, 0o444) }},
	// A WAL board cannot be read without creating its -shm.
	{name: "ro-dir", readsWork: []string{"delete"}, make: func(t *testing.T, w *badinput.World) { badinput.Chmod(t, w.Home, 0o555) }},
	{name: "home-unreadable", defect: dConfigWarn, make: func(t *testing.T, w *badinput.World) { badinput.Chmod(t, w.Home, 0o000) }},
}

// TestBadInputPermissions runs kanban as a real process (as nobody when
// the tests run as root) on boards it may not write: reads work where the
// data is readable, writes fail with one line and exit 1, and the board is
// byte-identical.
func TestBadInputPermissions(t *testing.T) {
	bin := badinput.NewBinary(t)
	tps := badinput.NewTemplates(t, "wal", "delete")
	for _, mode := range []string{"wal", "delete"} {
		for _, st := range permStates {
			for _, v := range permVerbs {
				name := mode + "/" + st.name + "/" + v.args[0]
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					w := badinput.NewWorld(t, tps[mode], mode)
					badinput.Chown(t, w.Dir, 1)
					st.make(t, w)
					before, err := badinput.Take(w.DB)
					if err != nil && st.name != "home-unreadable" {
						t.Fatal(err)
					}
					var env []string
					for k, v := range w.Env {
						env = append(env, k+"="+v)
					}
					r := bin.Run("kanban", w.Expand(v.args), env, w.Dir, badinput.AsUser(), badinput.KanbanTimeout)
					codes := []int{1}
					if slices.Contains(st.readsWork, mode) && !v.write {
						codes = []int{0}
					}
					if v.args[0] == "repair" && st.name != "home-unreadable" {
						codes = []int{0, 1}
					}
					problems := r.Problems(codes...)
					if r.Code != 0 && before != nil {
						if after, err := badinput.Take(w.DB); err == nil {
							if d := before.Diff(after); d != "" {
								problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
							}
						}
					}
					d := st.defect
					if d == dReadOnly && !slices.Equal(codes, []int{0}) {
						d = nil // writes rightly fail; only reads show K10
					}
					badinput.Report(t, d, problems, fmt.Sprintf("kanban %q as uid %d", v.args, os.Geteuid()))
				})
			}
		}
	}
}

// networkFS are the filesystems kanban must refuse a WAL board on, as
// KANBANSHIM_TEST_FSTYPE names them (mountinfo's fstype).
var networkFS = []string{"nfs", "nfs4", "cifs", "smb3", "virtiofs", "9p", "fuse", "fuse.sshfs", "drvfs"}

// TestNetworkFSGuard: an existing WAL board on a network or VM filesystem
// is refused by every verb with one line that says why and how to go on,
// and left byte-identical; --allow-network-fs, the environment variable
// and config.yaml let it through; DELETE boards work; new boards there
// are created in DELETE mode. The filesystem is faked with
// KANBANSHIM_TEST_FSTYPE (see TestNetworkFSGuardFUSE for a real mount).
func TestNetworkFSGuard(t *testing.T) {
	tps := badinput.NewTemplates(t, "wal", "delete")
	var cases []kcase
	for i, fs := range networkFS {
		verbs := storeVerbs
		if i > 0 { // the name only changes the message
			verbs = someStoreVerbs
		}
		for _, args := range verbs {
			if longRunning(args[0]) || args[0] == "repair" { // repair reads the file itself, before any open
				continue
			}
			cases = append(cases, kcase{name: "refuse/" + fs + "/" + args[0], args: args, codes: []int{1},
				env: map[string]string{"KANBANSHIM_TEST_FSTYPE": fs}, post: saysWhy(fs), defect: dLeak})
		}
	}
	allow := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"flag", []string{"--allow-network-fs", "list"}, nil},
		{"flag-with-board", []string{"--board", "default", "--allow-network-fs", "list"}, nil},
		{"env", []string{"list"}, map[string]string{"HERMES_KANBAN_ALLOW_NETWORK_FS": "1"}},
	}
	for _, a := range allow {
		env := map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs"}
		for k, v := range a.env {
			env[k] = v
		}
		cases = append(cases, kcase{name: "allow/" + a.name, args: a.args, codes: []int{0}, env: env})
	}
	cases = append(cases,
		kcase{name: "allow/config", args: []string{"list"}, codes: []int{0},
			env: map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs"}, setup: func(t *testing.T, w *badinput.World) {
				badinput.WriteFile(t, filepath.Join(w.Home, "config.yaml"), []byte("kanban:\n  allow_network_fs: true\n"))
			}},
		kcase{name: "allow/env-not-1", args: []string{"list"}, codes: []int{1}, defect: dLeak,
			env: map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs", "HERMES_KANBAN_ALLOW_NETWORK_FS": "yes please"}},
		kcase{name: "local", args: []string{"list"}, codes: []int{0}, env: map[string]string{"KANBANSHIM_TEST_FSTYPE": "local"}},
		kcase{name: "delete-board", args: []string{"create", "t"}, codes: []int{0}, mode: "delete",
			env: map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs"}},
		kcase{name: "new-board/delete", args: []string{"create", "t"}, codes: []int{0}, boardMayChange: true,
			env:   map[string]string{"KANBANSHIM_TEST_FSTYPE": "virtiofs"},
			setup: newBoardAt, post: wantMode("delete")},
		kcase{name: "new-board/allowed-wal", args: []string{"--allow-network-fs", "create", "t"}, codes: []int{0}, boardMayChange: true,
			env:   map[string]string{"KANBANSHIM_TEST_FSTYPE": "virtiofs"},
			setup: newBoardAt, post: wantMode("wal")},
		kcase{name: "global-flag-after-action", args: []string{"list", "--allow-network-fs"}, codes: []int{2},
			env: map[string]string{"KANBANSHIM_TEST_FSTYPE": "nfs"}},
	)
	runCases(t, tps, cases)
}

// saysWhy: the refusal names the filesystem, why WAL is unsafe there and
// the ways out.
func saysWhy(fs string) func(*testing.T, *badinput.World, badinput.Result) []badinput.Problem {
	return func(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
		var p []badinput.Problem
		for _, want := range []string{"refusing to open WAL board", " on " + fs + ":", "--allow-network-fs", "kanban-migrate apply --journal delete"} {
			if !strings.Contains(r.Stderr, want) {
				p = append(p, badinput.Problem{Kind: badinput.Semantics, Msg: fmt.Sprintf("refusal does not say %q: %q", want, r.Stderr)})
			}
		}
		return p
	}
}

// newBoardAt points HERMES_KANBAN_DB at a board that does not exist yet.
func newBoardAt(t *testing.T, w *badinput.World) {
	w.DB = filepath.Join(w.Dir, "netfs", "kanban.db")
	w.Env["HERMES_KANBAN_DB"] = w.DB
}

// wantMode checks the journal mode of the board in its header.
func wantMode(mode string) func(*testing.T, *badinput.World, badinput.Result) []badinput.Problem {
	return func(t *testing.T, w *badinput.World, r badinput.Result) []badinput.Problem {
		if got := badinput.JournalMode(t, w.DB); got != mode {
			return []badinput.Problem{{Kind: badinput.Semantics, Msg: fmt.Sprintf("new board is %s, want %s", got, mode)}}
		}
		return nil
	}
}

// TestNetworkFSGuardFUSE runs the guard on a real FUSE mount: statfs and
// mountinfo must see it, an existing WAL board there is refused (and left
// byte-identical), a DELETE board works, and a new board is made in
// DELETE mode.
func TestNetworkFSGuardFUSE(t *testing.T) {
	_, mnt := badinput.FuseMount(t)
	if fi := host.Filesystem(mnt); !fi.Network || !strings.HasPrefix(fi.Name, "fuse") {
		t.Fatalf("Filesystem(%s) = %+v, want a network fuse filesystem", mnt, fi)
	}
	tps := badinput.NewTemplates(t, "wal", "delete")
	run := func(t *testing.T, w *badinput.World, args ...string) badinput.Result {
		t.Helper()
		w.Env["HERMES_KANBAN_DB"] = w.DB
		return w.Kanban(0, args...)
	}
	onMount := func(t *testing.T, mode, name string) *badinput.World {
		w := badinput.NewWorld(t, tps[mode], mode)
		db := filepath.Join(mnt, name, "kanban.db")
		if mode != "" {
			if err := badinput.CopyBoard(tps[mode].DB, db); err != nil {
				t.Fatal(err)
			}
		}
		w.DB = db
		return w
	}
	t.Run("wal-refused", func(t *testing.T) {
		w := onMount(t, "wal", "wal")
		before, err := badinput.Take(w.DB)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"list"}, {"create", "t"}, {"show", w.IDs.Ready}} {
			r := run(t, w, args...)
			p := r.Problems(1)
			p = append(p, saysWhy("fuse")(t, w, r)...)
			after, _ := badinput.Take(w.DB)
			if d := before.Diff(after); d != "" {
				p = append(p, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
			}
			if open := badinput.OpenFiles(filepath.Dir(w.DB)); len(open) > 0 {
				p = append(p, badinput.Problem{Kind: badinput.Leak, Msg: strings.Join(open, ", ")})
			}
			badinput.Report(t, dLeak, p, fmt.Sprintf("kanban %q on FUSE", args))
		}
	})
	t.Run("wal-allowed", func(t *testing.T) {
		w := onMount(t, "wal", "allowed")
		r := run(t, w, "--allow-network-fs", "list")
		badinput.Report(t, nil, r.Problems(0), "kanban --allow-network-fs list on FUSE")
	})
	t.Run("delete-works", func(t *testing.T) {
		w := onMount(t, "delete", "delete")
		for _, args := range [][]string{{"list"}, {"create", "t"}, {"complete", w.IDs.Ready, "--result", "ok"}} {
			r := run(t, w, args...)
			badinput.Report(t, nil, r.Problems(0), fmt.Sprintf("kanban %q on FUSE", args))
		}
	})
	t.Run("new-board-delete", func(t *testing.T) {
		w := badinput.NewWorld(t, tps["wal"], "wal")
		w.DB = filepath.Join(mnt, "new", "kanban.db")
		r := run(t, w, "create", "t")
		p := append(r.Problems(0), wantMode("delete")(t, w, r)...)
		badinput.Report(t, nil, p, "kanban create on a new board on FUSE")
	})
}

// FuzzArgs feeds kanban arbitrary argument vectors (NUL-separated; "@R"
// is a ready task's id, "@F" a file to attach): it must not panic or
// hang, must exit 0, 1 or 2, a failure must say something on stderr, and
// a failed command must leave the board byte-identical. Verbs that run
// until stopped (tail, watch, daemon, supervise) are left out.
func FuzzArgs(f *testing.F) {
	for _, seed := range [][]string{
		{"list", "--json"}, {"create", "t", "--priority", "5", "--max-runtime", "30m"}, {"show", "@R", "--json"},
		{"complete", "@R", "--metadata", `{"a":1}`}, {"claim", "@R", "--ttl", "60"}, {"--board", "x", "list"},
		{"comment", "@R", "hi", "--max-len", "3"}, {"block", "@R", "--kind", "dependency"}, {"edit", "@R", "--priority", "x"},
		{"boards", "create", "b", "--name", "B"}, {"attach", "@R", "@F"}, {"link", "@R", "@R"}, {"gc"}, {"stats"}, {},
		{"--allow-network-fs", "init"}, {"promote", "@R", "--ids", "t_1", "t_2", "--dry-run", "--json"},
	} {
		f.Add(badinput.Join(seed...))
	}
	tps := badinput.NewTemplates(f, "wal")
	f.Chdir(f.TempDir()) // relative paths the fuzzer invents land here
	f.Fuzz(func(t *testing.T, raw []byte) {
		if badinput.Unsafe(raw) || len(raw) > 4096 {
			t.Skip()
		}
		w := badinput.NewWorld(t, tps["wal"], "wal")
		args := badinput.Args(raw, map[string]string{"@R": w.IDs.Ready, "@F": filepath.Join(w.Dir, "attach-me.txt")})
		for _, a := range args {
			if a == "tail" || a == "watch" || a == "daemon" || a == "supervise" {
				t.Skip()
			}
		}
		before, err := badinput.Take(w.DB)
		if err != nil {
			t.Fatal(err)
		}
		r := w.Kanban(10*time.Second, args...)
		// Bulk verbs print a line per id, and K1 quotes raw: the line
		// rules are the table's; here the rest must hold.
		problems := dropKinds(r.Problems(0, 1, 2), badinput.MultiLine, badinput.LongLine, badinput.NotUTF8, badinput.ControlChars)
		if slices.Contains(args, "--json") { // errors go in the JSON (promote)
			problems = dropKinds(problems, badinput.Silent)
		}
		if r.Code != 0 && !slices.Contains(args, "@R") && !slices.Contains(args, w.IDs.Ready) {
			if d := before.Diff(mustTake(t, w.DB)); d != "" {
				problems = append(problems, badinput.Problem{Kind: badinput.BoardChanged, Msg: d})
			}
		}
		badinput.Report(t, nil, problems, fmt.Sprintf("kanban %q", badinput.ClipArgs(args)))
	})
}

func mustTake(t *testing.T, db string) badinput.Snapshot {
	t.Helper()
	s, err := badinput.Take(db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCorruptBoardHint: the fix kanban prints for a damaged board must
// repair that board. With HERMES_KANBAN_DB set, `kanban-recover auto
// --board default` names the default board's own file instead (K12), so
// it reports "healthy" and repairs nothing.
func TestCorruptBoardHint(t *testing.T) {
	tps := badinput.NewTemplates(t, "wal")
	w := badinput.NewWorld(t, tps["wal"], "wal")
	bad := filepath.Join(w.Dir, "elsewhere", "kanban.db")
	badinput.WriteFile(t, bad, []byte(strings.Repeat("junk\n", 100)))
	w.Env["HERMES_KANBAN_DB"] = bad
	r := w.Kanban(0, "list")
	_, fix, ok := strings.Cut(strings.TrimSpace(r.Stderr), "To repair it run: ")
	p := r.Problems(1)
	switch {
	case !ok:
		p = append(p, badinput.Problem{Kind: badinput.Semantics, Msg: "no fix named: " + r.Stderr})
	case !strings.Contains(fix, bad) && strings.Contains(fix, "--board"):
		p = append(p, badinput.Problem{Kind: badinput.Semantics, Msg: fmt.Sprintf("fix %q does not name %s", fix, bad)})
	}
	badinput.Report(t, dHint, p, "kanban list on a damaged HERMES_KANBAN_DB")
}
