package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/fixtures/legacy"
	"github.com/kanbanshim/kanbanshim/internal/fsutil"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/internal/testhooks"
	"github.com/kanbanshim/kanbanshim/migrate"
)

// legacyCases are the legacy boards a migrate round starts from.
var legacyCases = []string{"early-may-2026", "drifted", "fork-b"}

// migratePoints are where a kanban-migrate apply is killed: its test
// pause points, a random moment, or not at all.
var migratePoints = []string{migrate.PointAfterBackup, migrate.PointBeforeLastStep, migrate.PointBeforeCommit,
	migrate.PointAfterCommit, "random", "none"}

// setupLegacy writes one or two legacy boards into the home (board
// directories m<N>), records their tasks as acknowledged, and runs
// kanban-migrate apply on each, SIGKILLing it at a pause point or at
// random. The writers of the round then use these boards too; the first
// kanban to open one migrates whatever is left.
func (k *kcell) setupLegacy(ctx context.Context) []string {
	var slugs []string
	fixtures, err := openAckLog(filepath.Join(k.ackDir, "fixture.log"))
	if err != nil {
		k.problem("ack log: %v", err)
		return nil
	}
	defer fixtures.close()
	for i, n := 0, 1+k.rnd.intn(2); i < n; i++ {
		k.legacyN++
		slug := fmt.Sprintf("m%d", k.legacyN)
		name := legacyCases[k.rnd.intn(len(legacyCases))]
		path := filepath.Join(k.home, "kanban", "boards", slug, "kanban.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			k.problem("legacy board: %v", err)
			return slugs
		}
		if err := legacy.Generate(ctx, path, name, legacy.Options{Journal: k.mode}); err != nil {
			k.problem("generate legacy board %s: %v", name, err)
			return slugs
		}
		ids, err := readIDs(path)
		if err != nil {
			k.problem("read legacy board %s: %v", name, err)
			return slugs
		}
		k.mu.Lock()
		for _, id := range ids {
			if err := fixtures.add(ackFixture, slug, id, "-"); err != nil {
				k.problem("ack log: %v", err)
			}
			k.fixtures[slug+"/"+id] = true
		}
		k.boards[slug] = path
		k.mu.Unlock()
		before := k.generation(ctx, slug)
		for a, m := 0, 1+k.rnd.intn(2); a < m; a++ {
			k.migrateOnce(ctx, slug, name, before)
		}
		slugs = append(slugs, slug)
	}
	return slugs
}

// readIDs lists a board's task ids through a read-only connection.
func readIDs(path string) ([]string, error) {
	c, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return sqlx.QueryStrings(c, "SELECT id FROM tasks ORDER BY id")
}

// generation is `kanban-migrate status`'s schema generation of a board.
func (k *kcell) generation(ctx context.Context, slug string) string {
	out, err := k.command(ctx, "kanban-migrate", "--board", slug, "status", "--json").Output()
	if err != nil {
		return "unreadable: " + err.Error()
	}
	var st struct {
		Generation string `json:"generation"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return "unreadable: " + err.Error()
	}
	return st.Generation
}

// migrateOnce runs kanban-migrate apply on slug and kills it at a random
// point. Afterwards the board must be exactly the old generation (killed
// before the commit) or current (after it), never in between.
func (k *kcell) migrateOnce(ctx context.Context, slug, name, before string) {
	point := migratePoints[k.rnd.intn(len(migratePoints))]
	env := k.baseEnv
	pausing := point != "random" && point != "none"
	if pausing {
		env = append(append([]string(nil), env...), testhooks.EnvMigratePause+"="+point+":30")
	}
	p, err := k.reg.start(procSpec{target: tgtMigrate, bin: filepath.Join(k.bin, "kanban-migrate"),
		args: []string{"--board", slug, "apply", "--json"}, env: env, onLine: func(p *proc, line string) {
			if strings.HasPrefix(line, testhooks.PauseMarker) {
				go func() {
					time.Sleep(k.rnd.between(0, 2*time.Millisecond))
					p.kill(phMigrate)
				}()
			}
		}})
	if err != nil {
		k.problem("start kanban-migrate: %v", err)
		return
	}
	if point == "random" {
		go func() {
			time.Sleep(k.rnd.between(0, 500*time.Millisecond))
			p.kill(phMigrate)
		}()
	}
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.stop(syscall.SIGKILL, time.Second)
		k.problem("kanban-migrate apply on %s (%s) did not finish within 90 s: %s", slug, name, lastLines(p.output(), 5))
		return
	}
	after := k.generation(ctx, slug)
	_, killed := p.killedBy()
	switch {
	case killed:
		k.tally.event("migrate_killed_" + point)
		want := []string{before, "current"}
		switch point {
		case migrate.PointAfterBackup, migrate.PointBeforeLastStep, migrate.PointBeforeCommit:
			want = []string{before}
		case migrate.PointAfterCommit:
			want = []string{"current"}
		}
		if !contains(want, after) {
			k.problem("kanban-migrate apply on %s (%s) killed at %s left generation %q, want %s", slug, name, point, after, strings.Join(want, " or "))
		}
	case p.exitCode() == 0:
		k.tally.event("migrate_completed")
		if after != "current" {
			k.problem("kanban-migrate apply on %s (%s) succeeded but left generation %q", slug, name, after)
		}
	default:
		k.problem("kanban-migrate apply on %s (%s) exited %d: %s", slug, name, p.exitCode(), lastLines(p.output(), 5))
	}
}

// swapPhase runs after a storm stopped by SIGKILL: it makes a consistent
// replacement of the main board (the same rows) and runs kanban-recover
// swap, SIGKILLed at a random moment, inside its commit (0-8 ms after its
// journal appears: the fsyncs and renames of the commit take a few ms on
// ext4), or not at all. Half the time writers then come back
// before anyone runs kanban-recover auto, as a restarted gateway would.
func (k *kcell) swapPhase(ctx context.Context) {
	db := k.boardPath("default")
	waitFor(3*time.Second, func() bool { return len(workers(k.hermes)) == 0 })
	repl, err := k.replacement(db)
	if err != nil {
		k.problem("make a replacement board: %v", err)
		return
	}
	if fi, err := os.Stat(board.Journal(db)); err == nil {
		k.tally.event("swap_over_journal")
		k.logf("a -journal of %d bytes is next to the board before the swap", fi.Size())
	}
	// Kill modes: none; a random moment; 0-8 ms after its journal appears
	// (somewhere in the commit); the instant the -wal or -shm is held
	// aside (the commit's riskiest window, before the new file is renamed
	// in).
	mode := []string{"none", "random", "random", "commit", "held"}[k.rnd.intn(5)]
	if k.roundKinds["swap"] == 1 {
		mode = "held" // the first swap of a cell, so even a short run covers it
	}
	if mode == "held" && !exists(board.WAL(db)) && !exists(board.SHM(db)) {
		mode = "commit" // nothing to hold aside (DELETE, or a checkpointed WAL board)
	}
	start := time.Now()
	p, err := k.reg.start(procSpec{target: tgtRecover, bin: filepath.Join(k.bin, "kanban-recover"),
		args: []string{"--db", db, "swap", repl, "--json"}, env: k.baseEnv})
	if err != nil {
		k.problem("start kanban-recover swap: %v", err)
		return
	}
	killWhen := func(paths []string, delay time.Duration) {
		for p.alive() {
			for _, f := range paths {
				if exists(f) {
					time.Sleep(delay)
					p.kill(phSwap)
					return
				}
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	switch mode {
	case "random":
		go func() {
			time.Sleep(k.rnd.between(0, k.swapEst*5/4))
			p.kill(phSwap)
		}()
	case "commit":
		go killWhen([]string{board.SwapPendingPath(db)}, k.rnd.between(0, 8*time.Millisecond))
	case "held":
		go killWhen([]string{board.HoldPath(db, board.WALSuffix), board.HoldPath(db, board.SHMSuffix)}, 0)
	}
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.stop(syscall.SIGKILL, time.Second)
		k.problem("kanban-recover swap did not finish within 90 s: %s", lastLines(p.output(), 5))
		return
	}
	_, killed := p.killedBy()
	_, perr := os.Lstat(board.SwapPendingPath(db))
	k.logf("swap (kill: %s) took %v, killed %v, journal left %v, exit %d", mode, time.Since(start), killed, perr == nil, p.exitCode())
	switch {
	case killed && perr == nil:
		k.tally.event("swap_killed_in_commit")
	case killed:
		k.tally.event("swap_killed_" + mode)
	case p.exitCode() == 0:
		k.tally.event("swap_completed_kill_" + mode)
		k.swapEst = (k.swapEst + time.Since(start)) / 2
	default:
		k.tally.event(fmt.Sprintf("swap_quiet_exit%d", p.exitCode()))
		k.note("swap at a quiet moment exited %d: %s", p.exitCode(), lastLines(p.output(), 3))
	}
	switch {
	case k.rnd.intn(2) == 0:
		// A restarted gateway or worker gets to the board before anyone
		// runs kanban-recover.
		k.tally.event("writers_before_auto")
		s := k.startStorm(stormOpts{boards: []string{"default"}})
		time.Sleep(1500 * time.Millisecond)
		s.stopGently()
	case killed && exists(repl):
		// The operator runs the same swap again; it finishes or undoes
		// the interrupted one first, and this time it is not killed.
		out, err := k.command(ctx, "kanban-recover", "--db", db, "swap", repl, "--json").CombinedOutput()
		if err != nil {
			k.tally.event("swap_rerun_failed")
			k.note("the swap run again after the kill failed: %v: %s", err, lastLines(string(out), 3))
		} else {
			k.tally.event("swap_rerun_completed")
		}
	}
}

// replacement writes a board with exactly the main board's committed rows
// to a new file: the db and its -wal or -journal are copied into a
// scratch directory (the live files are only read), the copy is opened
// there (so SQLite replays or rolls back as it would) and VACUUMed INTO
// the replacement. Half the time the replacement goes into the board's
// directory (the swap renames it in), else elsewhere (the swap copies it).
func (k *kcell) replacement(db string) (string, error) {
	scratch, err := os.MkdirTemp(k.dir, "swapwork-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	copyDB := filepath.Join(scratch, "kanban.db")
	for _, suf := range []string{"", board.WALSuffix, board.JournalSuffix} {
		if err := fsutil.CopyNew(db+suf, copyDB+suf, 0o644, false); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	repl := filepath.Join(k.dir, fmt.Sprintf("replacement-%d.db", k.roundNo))
	if k.rnd.intn(2) == 0 {
		repl = filepath.Join(filepath.Dir(db), fmt.Sprintf("replacement-%d.db", k.roundNo))
	}
	return repl, vacuumInto(copyDB, repl)
}

// vacuumInto writes a consistent copy of the board at src to dst.
func vacuumInto(src, dst string) error {
	c, err := sqlite3.OpenFlags(src, sqlite3.OPEN_READWRITE)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.BusyTimeout(10 * time.Second); err != nil {
		return err
	}
	_, err = sqlx.Exec(c, "VACUUM INTO ?", dst)
	return err
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
