package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/pypeer"
)

// The kill-9 scenario's knobs. Claims live 2 s so that a claim whose
// holder was killed is released by the tick right after the quiesce.
const (
	k9WorkerCap   = 3
	k9ClaimTTL    = 2 // seconds: dispatcher claims (env) and writers' claims (--ttl)
	k9Grace       = 1 // reclaim grace, seconds
	k9TickEvery   = "0.3"
	k9CLIWriters  = 3
	k9MaxBurst    = 10 * time.Second
	k9MinBurst    = 3 * time.Second
	k9DefaultOver = 7 * time.Second // first guess of a round's quiesce and checks
)

//go:embed torture_peer.py
var peerScript []byte

// kcell is one home of the kill-9 scenario in one journal mode: a main
// board that lives through every round, the legacy boards migrate rounds
// add, and the home's counters. A cell starts a fresh kcell after a failed
// round (see runKill9).
type kcell struct {
	env                             *cellEnv
	mode                            string
	seed                            int64 // this home's seed (the cell's, varied per fresh home)
	roundBase                       int   // rounds the cell ran before this home
	dir, bin, home, ackDir, peerDir string
	hermes, python                  string
	baseEnv                         []string
	tally                           *tally
	reg                             *registry
	rnd                             *lockedRand

	mu         sync.Mutex
	boards     map[string]string // slug -> db path, checked after every round
	retired    map[string]bool
	fixtures   map[string]bool // "<slug>/<task>" of legacy boards' own tasks
	legacyN    int
	seqs       map[string]int // per writer name: last marker number
	pyRuns     map[string]int // per Python slot: runs started
	roundNo    int
	swapEst    time.Duration // how long an unkilled swap took
	overhead   time.Duration // how long the quiesce and checks took
	problems   []string
	corrupt    int
	lost       int
	roundKinds map[string]int
	lastKinds  string
	notes      []string
	damageN    int
	damaged    map[string]string // slug -> db of the damage rounds' boards (not checked by checkRound)
	dmg        damageFigures
}

// roundPlan says what a round does besides the storm.
type roundPlan struct {
	migrate, swap, damage bool
	burst                 time.Duration
}

// k9Restart is the least time left for which a failed home is replaced
// by a fresh one.
const k9Restart = 20 * time.Second

// runKill9 runs rounds until the budget is spent. A round that fails
// leaves its home as it is (kept for inspection) and the cell goes on in
// a fresh home, so a long run counts how often things go wrong; the
// control run stops at its first failure.
func runKill9(ctx context.Context, c *cellEnv) *cellReport {
	cr := &cellReport{RoundKinds: map[string]int{}, Events: map[string]int{}, Acked: counts{}, Kills: counts{}}
	deadline := time.Now().Add(c.budget)
	for home := 0; ctx.Err() == nil; home++ {
		if home > 0 && (c.o.control || time.Until(deadline) < k9Restart) {
			break
		}
		if home > 0 {
			fmt.Printf("   starting again in a fresh home (%v left)\n", time.Until(deadline).Round(time.Second))
		}
		k, err := newKCell(ctx, c, int64(home), cr.Rounds)
		if err != nil {
			cr.Problems = append(cr.Problems, err.Error())
			if k != nil {
				cr.KeptDirs = append(cr.KeptDirs, k.close(true))
			}
			break
		}
		for ctx.Err() == nil {
			plan, ok := k.plan(time.Until(deadline))
			if !ok {
				break
			}
			k.runRound(ctx, plan)
			cr.Rounds++
			if len(k.problems) > 0 {
				break
			}
		}
		k.finalTally()
		k.merge(cr)
		failed := len(k.problems) > 0
		if dir := k.close(failed && !c.o.control); dir != "" {
			cr.KeptDirs = append(cr.KeptDirs, dir)
		}
		if !failed {
			break
		}
	}
	cr.Corruptions, cr.Lost = 0, 0
	for _, f := range cr.Failures {
		cr.Corruptions += f.Corruptions
		cr.Lost += f.Lost
		for _, p := range f.Problems {
			cr.Problems = append(cr.Problems, fmt.Sprintf("round %d: %s", f.Round, p))
		}
	}
	cr.AckedTotal, cr.AckedByWriter, cr.AckedByKind = cr.Acked.total(), cr.Acked.byFirst(), cr.Acked.bySecond()
	cr.KillsTotal, cr.KillsByTarget, cr.KillsByPhase = cr.Kills.total(), cr.Kills.byFirst(), cr.Kills.bySecond()
	if c.o.control && len(cr.Problems) == 0 {
		fmt.Println("   control: no damage was seen in this cell")
	}
	return cr
}

// merge adds one home's figures to the cell's.
func (k *kcell) merge(cr *cellReport) {
	var part cellReport
	k.tally.fill(&part)
	for a, m := range part.Acked {
		for b, n := range m {
			cr.Acked.add(a, b, n)
		}
	}
	for a, m := range part.Kills {
		for b, n := range m {
			cr.Kills.add(a, b, n)
		}
	}
	for e, n := range part.Events {
		cr.Events[e] += n
	}
	for kd, n := range k.roundKinds {
		cr.RoundKinds[kd] += n
	}
	if k.dmg.Rounds > 0 {
		if cr.Damage == nil {
			cr.Damage = &damageFigures{}
		}
		k.dmg.Refused = part.Events[evDamageRefused]
		cr.Damage.add(&k.dmg)
	}
	if len(k.problems) > 0 {
		cr.Failures = append(cr.Failures, failure{Round: k.roundBase + k.roundNo, Kinds: k.lastKinds, Seed: k.seed,
			Corruptions: k.corrupt, Lost: k.lost, Problems: k.problems, Dir: k.dir})
	}
}

func newKCell(ctx context.Context, c *cellEnv, home int64, roundBase int) (*kcell, error) {
	dir, err := os.MkdirTemp("", "kanbanshim-torture-kill9-"+c.mode+"-")
	if err != nil {
		return nil, err
	}
	seed := c.seed + 7919*home
	k := &kcell{env: c, mode: c.mode, seed: seed, roundBase: roundBase, dir: dir, bin: filepath.Join(dir, "bin"), home: filepath.Join(dir, "home"),
		ackDir: filepath.Join(dir, "acks"), peerDir: filepath.Join(dir, "peer"), tally: newTally(),
		rnd: newLockedRand(seed, 9), boards: map[string]string{}, retired: map[string]bool{}, fixtures: map[string]bool{}, seqs: map[string]int{},
		damaged: map[string]string{},
		pyRuns:  map[string]int{}, swapEst: 80 * time.Millisecond, overhead: k9DefaultOver, roundKinds: map[string]int{}}
	k.reg = newRegistry(k.tally)
	k.hermes = filepath.Join(k.bin, "hermes")
	for _, d := range []string{k.ackDir, k.peerDir, filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return k, err
		}
	}
	for _, p := range []string{"p1", "p2"} {
		if err := os.MkdirAll(filepath.Join(k.home, "profiles", p), 0o755); err != nil {
			return k, err
		}
		if err := os.WriteFile(filepath.Join(k.home, "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			return k, err
		}
	}
	cfg := fmt.Sprintf("kanban:\n  max_concurrent_workers: %d\n  reclaim_grace_seconds: %d\n  failure_limit: 5\n", k9WorkerCap, k9Grace)
	if err := os.WriteFile(filepath.Join(k.home, "config.yaml"), []byte(cfg+journalConfig(c.mode)), 0o644); err != nil {
		return k, err
	}
	if err := installBin(c.bins, k.bin); err != nil {
		return k, err
	}
	if py, err := exec.LookPath("python3"); err == nil {
		k.python = py
		if err := os.WriteFile(filepath.Join(k.peerDir, "peer.py"), pypeer.Script(), 0o644); err != nil {
			return k, err
		}
		if err := os.WriteFile(filepath.Join(k.peerDir, "torture_peer.py"), peerScript, 0o644); err != nil {
			return k, err
		}
	} else {
		k.note("python3 not found: no Python writers")
	}
	k.baseEnv = append(cleanEnviron(), "HERMES_HOME="+k.home, "HOME="+filepath.Join(dir, "userhome"), "HERMES_BIN="+k.hermes,
		"PATH="+k.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KANBANSHIM_PEER_SQLITE="+peerSQLite(c.mode),
		"HERMES_KANBAN_CLAIM_TTL_SECONDS="+strconv.Itoa(k9ClaimTTL), "HERMES_KANBAN_CRASH_GRACE_SECONDS=0",
		"HERMES_KANBAN_RATE_LIMIT_COOLDOWN_SECONDS=2", "HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS=1",
		"TORTURE_SEED="+strconv.FormatInt(seed, 10),
		"TORTURE_ACKDIR="+k.ackDir)
	out, err := k.command(ctx, "kanban", "init").CombinedOutput()
	if err != nil {
		return k, fmt.Errorf("kanban init: %v: %s", err, out)
	}
	k.boards["default"] = filepath.Join(k.home, "kanban.db")
	if m := headerMode(k.boards["default"]); m != c.mode {
		return k, fmt.Errorf("the new board is in %q mode, want %q", m, c.mode)
	}
	return k, nil
}

// command is a program of the cell (a name in its bin directory, or a
// path) with the cell's environment: its own HERMES_HOME, never the
// user's.
func (k *kcell) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if !filepath.IsAbs(name) {
		name = filepath.Join(k.bin, name)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = k.baseEnv
	return cmd
}

func (k *kcell) close(keep bool) string {
	killUnder(k.dir)
	if k.env.o.keep || keep {
		fmt.Printf("   boards kept in %s\n", k.dir)
		return k.dir
	}
	os.RemoveAll(k.dir)
	return ""
}

func (k *kcell) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	k.mu.Lock()
	k.notes = append(k.notes, msg)
	k.mu.Unlock()
	if k.env.o.verbose {
		fmt.Println("   note:", msg)
	}
}

func (k *kcell) problem(format string, args ...any) {
	k.mu.Lock()
	k.problems = append(k.problems, fmt.Sprintf(format, args...))
	k.mu.Unlock()
}

func (k *kcell) logf(format string, args ...any) {
	if k.env.o.verbose {
		fmt.Printf("   "+format+"\n", args...)
	}
}

// marker is the next unique marker of writer.
func (k *kcell) marker(writer string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.seqs[writer]++
	return fmt.Sprintf("mk-%s-%d", writer, k.seqs[writer])
}

// boardList is the checked boards, sorted.
func (k *kcell) boardList() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for s := range k.boards {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (k *kcell) boardPath(slug string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p, ok := k.boards[slug]; ok {
		return p
	}
	return k.damaged[slug]
}

// plan decides the next round from the time left: the first round
// migrates legacy boards, the second ends in a swap and damages a board
// of its own, later ones do any of these at random; the first two always
// run, so even a short budget covers every phase.
func (k *kcell) plan(remaining time.Duration) (roundPlan, bool) {
	n := k.roundNo
	var p roundPlan
	switch n {
	case 0:
		p.migrate = true
	case 1:
		p.swap, p.damage = true, true
	default:
		p.migrate = k.rnd.float() < 0.35
		p.swap = k.rnd.float() < 0.35
		p.damage = k.rnd.float() < 0.3
	}
	over := k.overhead
	if p.migrate {
		over += 1500 * time.Millisecond
	}
	if p.swap {
		over += 2500 * time.Millisecond
	}
	if p.damage {
		over += 1500 * time.Millisecond
	}
	if n < 2 {
		p.burst = min(k9MaxBurst, max(k9MinBurst, remaining/time.Duration(2-n)-over))
		return p, true
	}
	p.burst = min(k9MaxBurst, remaining-over)
	return p, p.burst >= k9MinBurst
}

func (k *kcell) runRound(ctx context.Context, plan roundPlan) {
	k.roundNo++
	start := time.Now()
	acksBefore, killsBefore := k.ackCount(), k.tally.killTotal()
	kinds := []string{"storm"}
	var legacy []string
	if plan.migrate {
		kinds = append(kinds, "migrate")
		legacy = k.setupLegacy(ctx)
	}
	if plan.swap {
		kinds = append(kinds, "swap")
	}
	var dmg *damageRound
	if plan.damage {
		kinds = append(kinds, "damage")
		// The first damage round of a WAL cell has a Python writer on the
		// board, that of a DELETE cell has none (its bytes must not
		// move); later ones choose at random.
		python := k.mode == "wal"
		if k.damageN > 0 {
			python = k.rnd.float() < 0.5
		}
		dmg = k.setupDamage(ctx, python && k.python != "")
	}
	for _, kd := range kinds {
		k.roundKinds[kd]++
	}
	k.lastKinds = strings.Join(kinds, "+")
	active := append([]string{"default"}, legacy...)
	if dmg != nil {
		active = append(active, dmg.slug)
	}
	s := k.startStorm(stormOpts{boards: active, kills: true, daemon: true, checkpointer: true, maintenance: true,
		control: k.env.o.control, damage: dmg})
	select {
	case <-ctx.Done():
	case <-time.After(plan.burst):
	}
	stopAt := time.Now()
	if plan.swap {
		s.stopNow()
		k.swapPhase(ctx)
	} else {
		s.stopGently()
	}
	stoppedAt := time.Now()
	k.checkRound(ctx, stoppedAt)
	k.damagePhase(ctx, dmg)
	if len(k.problems) == 0 {
		for _, slug := range legacy {
			k.retire(ctx, slug)
		}
	}
	k.overhead = (k.overhead + time.Since(stopAt)) / 2
	verdict := "ok"
	if len(k.problems) > 0 {
		verdict = "FAILED"
	}
	fmt.Printf("   round %d [%s] %v: +%d acknowledged, +%d kills; checks %s (%v)\n", k.roundBase+k.roundNo, k.lastKinds,
		time.Since(start).Round(100*time.Millisecond), k.ackCount()-acksBefore, k.tally.killTotal()-killsBefore, verdict,
		time.Since(stoppedAt).Round(100*time.Millisecond))
}

// retire archives a legacy board after its round passed, so later rounds'
// dispatchers do not keep ticking a growing list of boards.
func (k *kcell) retire(ctx context.Context, slug string) {
	out, err := k.command(ctx, "kanban", "boards", "rm", slug).CombinedOutput()
	if err != nil {
		k.note("boards rm %s: %v: %s", slug, err, out)
		return
	}
	k.mu.Lock()
	delete(k.boards, slug)
	k.retired[slug] = true
	k.mu.Unlock()
}

// ackCount is the number of acknowledged writes in the logs so far.
func (k *kcell) ackCount() int {
	acks, err := readAcks(k.ackDir)
	if err != nil {
		return 0
	}
	n := 0
	for _, a := range acks {
		if a.kind != ackFixture {
			n++
		}
	}
	return n
}

// finalTally takes the acknowledged-write figures from the logs, the one
// source of truth (Python writers and workers log for themselves).
func (k *kcell) finalTally() {
	acks, err := readAcks(k.ackDir)
	if err != nil {
		k.problem("read ack logs: %v", err)
		return
	}
	t := counts{}
	for _, a := range acks {
		if a.kind == ackFixture {
			continue
		}
		t.add(writerType(a.writer), a.kind, 1)
	}
	k.tally.mu.Lock()
	k.tally.acked = t
	k.tally.mu.Unlock()
	for _, n := range k.notes {
		fmt.Println("   note:", n)
	}
}

// headerMode reads the journal mode from a database header: "wal",
// "delete" (any rollback journal) or "".
func headerMode(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	hdr := make([]byte, 20)
	if _, err := f.ReadAt(hdr, 0); err != nil || string(hdr[:15]) != "SQLite format 3" {
		return ""
	}
	switch {
	case hdr[18] == 2 && hdr[19] == 2:
		return "wal"
	case hdr[18] == 1 && hdr[19] == 1:
		return "delete"
	}
	return ""
}
