package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	osproc "github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// checkRound runs after every round, with every writer, dispatcher and
// maintenance process stopped (workers and their supervisors may still
// run). In order:
//
//  0. no board may carry a damage marker (nothing damaged them);
//  1. kanban-recover auto on every board, as cron would: it finishes or
//     undoes an interrupted swap, and must find the board healthy;
//  2. PRAGMA integrity_check through the Go driver and through Python's
//     sqlite3 must say ok, and the journal mode must be the cell's;
//  3. every acknowledged write must be on its board;
//  4. once the claims of killed processes expired: one `kanban dispatch`
//     tick; then no task may be running whose worker was already dead (or
//     unknown) before the tick, every worker pid must be a live
//     supervisor, and every held worker slot must belong to one;
//  5. the supervisors are stopped (SIGTERM or SIGKILL) and one more tick
//     must leave no task running at all;
//  6. no lease, open guard, init, dispatch or recover lock and no worker
//     slot may be held by anyone, no swap journal or held sidecar may be
//     left, and no process of the cell may be alive.
func (k *kcell) checkRound(ctx context.Context, stoppedAt time.Time) {
	boards := k.boardList()
	for _, slug := range boards {
		// Nothing damaged these boards: a marker on one is a false alarm
		// that stopped every kanbanshim writer (or damage nobody made).
		if d, _ := board.ReadDamage(k.boardPath(slug)); d != nil {
			k.problem("board %s was marked damaged in a round that did not damage it: %s", slug, d.Summary())
		}
	}
	damaged := map[string]bool{}
	for _, slug := range boards {
		k.cronAuto(ctx, slug, damaged)
	}
	acks, err := readAcks(k.ackDir)
	if err != nil {
		k.problem("read ack logs: %v", err)
	}
	for _, slug := range boards {
		k.inspect(ctx, slug, acks, damaged)
	}
	if len(damaged) > 0 {
		k.corrupt += len(damaged)
		k.stopEverything()
		return
	}
	// Claim expiry is compared in whole seconds (claim_expires < now), so
	// a claim taken just before the stop may live TTL+1 s.
	if d := time.Until(stoppedAt.Add((k9ClaimTTL+1)*time.Second + 300*time.Millisecond)); d > 0 {
		time.Sleep(d)
	}
	for _, slug := range boards {
		k.tickLive(ctx, slug)
	}
	k.checkSlots(true)
	k.stopSupervisors()
	for _, slug := range boards {
		k.tickEmpty(ctx, slug)
	}
	k.checkSlots(false)
	for _, slug := range boards {
		k.checkLocks(slug)
	}
	k.checkLeftovers()
}

// cronAuto runs `kanban-recover auto` on a board.
func (k *kcell) cronAuto(ctx context.Context, slug string, damaged map[string]bool) {
	db := k.boardPath(slug)
	pending := board.SwapPending(db)
	out, err := k.command(ctx, "kanban-recover", "--db", db, "auto", "--json").Output()
	var rep autoReport
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		k.problem("kanban-recover auto on %s: %v (%v): %s", slug, err, jerr, stderrText(err))
		return
	}
	k.tally.event("cron_auto_" + orUnknown(rep.Status))
	if pending {
		k.tally.event("cron_auto_resolved_swap")
	}
	switch rep.Status {
	case "healthy":
	case "repaired":
		damaged[slug] = true
		k.problem("board %s was damaged: kanban-recover auto repaired it (%s): %s", slug, rep.Action, rep.describe())
	default:
		if rep.Check != nil && !rep.Check.Healthy {
			damaged[slug] = true
			k.problem("board %s is damaged: kanban-recover auto says %s: %s", slug, rep.Status, rep.describe())
			return
		}
		k.problem("kanban-recover auto on %s: status %q (exit %v): %s", slug, rep.Status, err, rep.describe())
	}
}

// boardFacts is what one read of a board shows.
type boardFacts struct {
	tasks, created map[string]bool
	runs           map[string]int    // task -> runs
	runIDs         map[string]string // run id -> task
	markers        map[string]bool
}

// inspect checks integrity, the journal mode and the acknowledged writes
// of one board.
func (k *kcell) inspect(ctx context.Context, slug string, acks []ack, damaged map[string]bool) {
	db := k.boardPath(slug)
	if m := headerMode(db); m != k.mode {
		k.problem("board %s is in %q journal mode, the cell runs %q", slug, m, k.mode)
	}
	facts, integrity, err := readBoard(db)
	if err != nil {
		damaged[slug] = true
		k.problem("board %s: %v", slug, err)
		return
	}
	if integrity != "ok" {
		damaged[slug] = true
		k.problem("board %s: integrity_check: %s", slug, integrity)
	}
	if k.python != "" {
		if pyInt, err := k.pythonIntegrity(ctx, db); err != nil {
			k.problem("board %s: Python's check: %v", slug, err)
		} else if pyInt != "ok" {
			damaged[slug] = true
			k.problem("board %s: Python's integrity_check: %s", slug, pyInt)
		}
	}
	missing := missingAcks(facts, acks, slug)
	if len(missing) > 0 {
		k.lost += len(missing)
		shown := missing[:min(len(missing), 12)]
		k.problem("board %s: %d acknowledged writes lost, e.g. %s", slug, len(missing), strings.Join(shown, "; "))
	}
}

// missingAcks lists the acknowledged writes on slug that facts lack.
// Claims are counted: a task's acknowledged CLI claims cannot outnumber
// its runs (a Python claim names its run).
func missingAcks(facts *boardFacts, acks []ack, slug string) []string {
	var missing []string
	claims := map[string]int{}
	for _, a := range acks {
		if a.board != slug {
			continue
		}
		ok := true
		switch a.kind {
		case ackFixture:
			ok = facts.tasks[a.task]
		case ackCreate:
			ok = facts.tasks[a.task] && facts.created[a.task] && facts.markers[a.marker]
		case ackClaim:
			if strings.HasPrefix(a.marker, "run") {
				ok = facts.runIDs[strings.TrimPrefix(a.marker, "run")] == a.task
			} else {
				claims[a.task]++
				ok = claims[a.task] <= facts.runs[a.task]
			}
		default:
			ok = facts.markers[a.marker]
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s %s %s %s", a.writer, a.kind, a.task, a.marker))
		}
	}
	return missing
}

// readBoard opens a board like any process would (a hot journal is
// rolled back, a -wal replayed) and reads what the checks need.
func readBoard(db string) (*boardFacts, string, error) {
	c, err := sqlite3.OpenFlags(db, sqlite3.OPEN_READWRITE)
	if err != nil {
		return nil, "", fmt.Errorf("open: %w", err)
	}
	defer c.Close()
	if err := c.BusyTimeout(30 * time.Second); err != nil {
		return nil, "", err
	}
	lines, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
	if err != nil {
		return nil, "", fmt.Errorf("integrity_check: %w", err)
	}
	f := &boardFacts{tasks: map[string]bool{}, created: map[string]bool{}, runs: map[string]int{}, runIDs: map[string]string{},
		markers: map[string]bool{}}
	scan := func(sql string, fn func(r *sqlx.Row)) error {
		return sqlx.Query(c, sql, nil, func(r *sqlx.Row) error { fn(r); return nil })
	}
	mark := func(s string) {
		for _, m := range markerRe.FindAllString(s, -1) {
			f.markers[m] = true
		}
	}
	steps := []error{
		scan("SELECT id, title, result FROM tasks", func(r *sqlx.Row) {
			f.tasks[r.Text("id")] = true
			mark(r.Text("title"))
			mark(r.Text("result"))
		}),
		scan("SELECT task_id FROM task_events WHERE kind = 'created'", func(r *sqlx.Row) { f.created[r.Text("task_id")] = true }),
		scan("SELECT CAST(id AS TEXT) AS id, task_id FROM task_runs", func(r *sqlx.Row) {
			f.runs[r.Text("task_id")]++
			f.runIDs[r.Text("id")] = r.Text("task_id")
		}),
		scan("SELECT body FROM task_comments", func(r *sqlx.Row) { mark(r.Text("body")) }),
		scan("SELECT payload FROM task_events WHERE payload IS NOT NULL", func(r *sqlx.Row) { mark(r.Text("payload")) }),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, "", fmt.Errorf("read rows: %w", err)
	}
	return f, strings.Join(lines, "; "), nil
}

// pythonIntegrity is integrity_check through Python's sqlite3 (pypeer's
// `check`).
func (k *kcell) pythonIntegrity(ctx context.Context, db string) (string, error) {
	out, err := k.command(ctx, k.python, filepath.Join(k.peerDir, "peer.py"), db, "check").Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, stderrText(err))
	}
	var res struct {
		Integrity []string `json:"integrity"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return "", fmt.Errorf("%w: %q", err, out)
	}
	return strings.Join(res.Integrity, "; "), nil
}

// tick runs one reclaim-only dispatcher pass on a board.
func (k *kcell) tick(ctx context.Context, slug string) bool {
	args := []string{"dispatch", "--max", "0", "--json"}
	if slug != "default" {
		args = append([]string{"--board", slug}, args...)
	}
	cmd := k.command(ctx, "kanban", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		k.problem("board %s: kanban dispatch: %v: %s", slug, err, lastLines(string(out), 3))
		return false
	}
	return true
}

// running lists the running tasks of a board with their worker pid (0
// when none).
func (k *kcell) running(slug string) (map[string]int, error) {
	c, err := sqlite3.OpenFlags(k.boardPath(slug), sqlite3.OPEN_READWRITE)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.BusyTimeout(30 * time.Second); err != nil {
		return nil, err
	}
	out := map[string]int{}
	err = sqlx.Query(c, "SELECT id, worker_pid FROM tasks WHERE status = 'running'", nil, func(r *sqlx.Row) error {
		pid := 0
		if p := r.NullInt("worker_pid"); p != nil {
			pid = int(*p)
		}
		out[r.Text("id")] = pid
		return nil
	})
	return out, err
}

// tickLive: one tick with the supervisors still running; afterwards a
// running task must have a supervisor that was alive when the tick began
// (one that died during the tick is the next tick's business).
func (k *kcell) tickLive(ctx context.Context, slug string) {
	before := map[int]bool{}
	for _, pid := range supervisors(k.bin) {
		before[pid] = true
	}
	run, ok := k.runningAfterTick(ctx, slug)
	if !ok {
		return
	}
	var bad []string
	for id, pid := range run {
		if k.foreignFixture(slug, id, pid) {
			continue
		}
		switch {
		case pid == 0:
			bad = append(bad, id+" (no worker pid)")
		case !before[pid] && procState(pid) == "":
			bad = append(bad, fmt.Sprintf("%s (worker %d was already dead)", id, pid))
		case procState(pid) != "" && !isSupervisor(argvOf(pid)):
			bad = append(bad, fmt.Sprintf("%s (worker pid %d is %q, not a supervisor)", id, pid, strings.Join(argvOf(pid), " ")))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		k.problem("board %s: after one dispatcher tick, running without a live worker: %s", slug, strings.Join(bad, ", "))
	}
}

// runningAfterTick runs one dispatcher tick and reads the running tasks
// (task id → worker pid); ok is false when either failed (a problem is
// recorded).
func (k *kcell) runningAfterTick(ctx context.Context, slug string) (run map[string]int, ok bool) {
	if !k.tick(ctx, slug) {
		return nil, false
	}
	run, err := k.running(slug)
	if err != nil {
		k.problem("board %s: read running tasks: %v", slug, err)
		return nil, false
	}
	return run, true
}

// tickEmpty: every supervisor is gone, so one tick must leave nothing
// running.
func (k *kcell) tickEmpty(ctx context.Context, slug string) {
	run, ok := k.runningAfterTick(ctx, slug)
	if !ok {
		return
	}
	var ids []string
	for id, pid := range run {
		if !k.foreignFixture(slug, id, pid) {
			ids = append(ids, fmt.Sprintf("%s (worker pid %d)", id, pid))
		}
	}
	if len(ids) > 0 {
		sort.Strings(ids)
		k.problem("board %s: with every worker gone, one dispatcher tick left running: %s", slug, strings.Join(ids, ", "))
	}
}

// foreignFixture tells a legacy fixture's own running task whose
// recorded worker pid happens to be a live process of the host (the
// fixtures use small made-up pids; pid 31 is often a kernel thread). The
// dispatcher rightly leaves a task alone while a live process holds its
// pid, so such a task is not counted as stuck.
func (k *kcell) foreignFixture(slug, id string, pid int) bool {
	k.mu.Lock()
	fixture := k.fixtures[slug+"/"+id]
	k.mu.Unlock()
	if !fixture || pid == 0 || procState(pid) == "" {
		return false
	}
	for _, p := range []string{k.dir} {
		if strings.Contains(strings.Join(argvOf(pid), " "), p) {
			return false
		}
	}
	k.tally.event("fixture_task_on_foreign_live_pid")
	return true
}

func isSupervisor(argv []string) bool { return len(argv) > 1 && argv[1] == "supervise" }

// stopSupervisors ends every supervisor, alternating SIGTERM (which stops
// the worker group within the grace) and SIGKILL (the worker dies with
// it), and waits for the workers to be gone.
func (k *kcell) stopSupervisors() {
	for i, pid := range supervisors(k.bin) {
		sig := syscall.SIGTERM
		if i%2 == 1 {
			sig = syscall.SIGKILL
		}
		_ = syscall.Kill(pid, sig)
	}
	if !waitFor(time.Duration(k9Grace+10)*time.Second, func() bool { return len(supervisors(k.bin)) == 0 }) {
		k.problem("supervisors still alive %ds after SIGTERM: %s", k9Grace+10, describe(supervisors(k.bin)))
	}
	if !waitFor(3*time.Second, func() bool { return len(workers(k.hermes)) == 0 }) {
		k.problem("workers outlived their supervisors: %s", describe(workers(k.hermes)))
	}
}

// checkSlots: with live supervisors every held slot must be held by one
// and the global ones must not exceed the cap; without any, none may be
// held.
func (k *kcell) checkSlots(live bool) {
	root := filepath.Join(k.home, "kanban", "slots")
	global := 0
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".lock") {
			return nil
		}
		holders, herr := osproc.FlockHolders(path)
		if herr != nil {
			k.problem("slot %s: %v", path, herr)
			return nil
		}
		for _, h := range holders {
			argv := argvOf(h.PID)
			switch {
			case !live:
				k.problem("worker slot %s leaked: held by pid %d (%s) with no supervisor left", rel(k.home, path), h.PID, strings.Join(argv, " "))
			case !isSupervisor(argv):
				k.problem("worker slot %s is held by pid %d (%s), not a supervisor", rel(k.home, path), h.PID, strings.Join(argv, " "))
			case strings.Contains(path, "/global/"):
				global++
			}
		}
		return nil
	})
	if global > k9WorkerCap {
		k.problem("%d global worker slots held, the cap is %d", global, k9WorkerCap)
	}
}

// checkLocks: with every process gone no lock next to the board may be
// held, and no interrupted swap may be left.
func (k *kcell) checkLocks(slug string) {
	db := k.boardPath(slug)
	files := []string{board.LeasePath(db), board.OpenPath(db), board.InitLockPath(db), board.DispatchLockPath(db), board.RecoverLockPath(db),
		filepath.Join(k.home, "kanban", ".dispatcher.lock")}
	for _, f := range files {
		if !exists(f) {
			continue
		}
		holders, err := osproc.FlockHolders(f)
		if err != nil {
			k.problem("%s: %v", rel(k.home, f), err)
			continue
		}
		for _, h := range holders {
			k.problem("%s leaked: held by pid %d (%s) after the quiesce", rel(k.home, f), h.PID, strings.Join(argvOf(h.PID), " "))
		}
	}
	for _, f := range []string{board.SwapPendingPath(db), board.HoldPath(db, board.WALSuffix), board.HoldPath(db, board.SHMSuffix), board.HoldPath(db, board.JournalSuffix)} {
		if exists(f) {
			k.problem("board %s: %s left next to the board after kanban-recover auto", slug, filepath.Base(f))
		}
	}
	if fi, err := os.Lstat(board.WAL(db)); err == nil && fi.IsDir() {
		k.problem("board %s: still blocked (its -wal is a swap's directory) after kanban-recover auto", slug)
	}
}

// checkLeftovers: no process of the cell may outlive the round, except
// children a SIGKILLed supervisor's stubborn worker started (the fake
// worker's own misbehaviour), which are counted and killed.
func (k *kcell) checkLeftovers() {
	var orphans, others []int
	for _, p := range listProcs() {
		if p.pid == os.Getpid() || !strings.Contains(strings.Join(p.argv, " "), k.dir) || procState(p.pid) == "Z" {
			continue
		}
		if p.argv[0] == k.hermes {
			orphans = append(orphans, p.pid)
		} else {
			others = append(others, p.pid)
		}
	}
	for _, pid := range orphans {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		k.tally.event("orphan_worker_children_killed")
	}
	if len(others) > 0 {
		k.problem("processes still running after the quiesce: %s", describe(others))
		for _, pid := range others {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// stopEverything ends every process of the cell (after a failed round).
func (k *kcell) stopEverything() {
	killUnder(k.dir)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil {
		return r
	}
	return p
}

func stderrText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}
