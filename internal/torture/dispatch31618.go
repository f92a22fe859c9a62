package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/shim/dispatch"
)

// Scenario knobs: upstream #31618's workload scaled from hours to a
// minute (a task every few hundred milliseconds instead of every few
// seconds, 2-4 s runtime limits, a 3 s claim TTL, a 1 s reclaim grace).
const (
	workerCap    = 3
	claimTTL     = 3
	reclaimGrace = 1
	tickInterval = "0.3"
)

// rig is one scenario's world: a home, the binaries, the background
// processes and what was observed.
type rig struct {
	o                      options
	c                      *cellEnv
	work                   time.Duration // how long work is produced
	dir, bin, hermes, home string
	env                    []string
	tally                  *tally

	mu      sync.Mutex
	rng     *rand.Rand
	created []string
	actions map[string]int
	peak    int
	samples int
	overCap int
	slotMax int

	overCapSeen []string
}

// finishOverhead is roughly what finish takes after the work stops.
const finishOverhead = 6 * time.Second

func newRig(c *cellEnv) (*rig, error) {
	dir, err := os.MkdirTemp("", "kanbanshim-torture-31618-"+c.mode+"-")
	if err != nil {
		return nil, err
	}
	work := max(c.budget-finishOverhead, 3*time.Second)
	r := &rig{o: c.o, c: c, work: work, dir: dir, bin: filepath.Join(dir, "bin"), home: filepath.Join(dir, "home"),
		rng: rand.New(rand.NewPCG(uint64(c.seed), 31618)), actions: map[string]int{}, tally: newTally()}
	r.hermes = filepath.Join(r.bin, "hermes")
	for _, p := range []string{"p1", "p2", "p3"} {
		if err := os.MkdirAll(filepath.Join(r.home, "profiles", p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(r.home, "profiles", p, "config.yaml"), nil, 0o644); err != nil {
			return nil, err
		}
	}
	cfg := fmt.Sprintf("kanban:\n  max_concurrent_workers: %d\n  reclaim_grace_seconds: %d\n  failure_limit: 3\n", workerCap, reclaimGrace)
	cfg += journalConfig(c.mode)
	if err := os.WriteFile(filepath.Join(r.home, "config.yaml"), []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	if err := installBin(c.bins, r.bin); err != nil {
		return nil, err
	}
	r.env = append(cleanEnviron(), "HERMES_HOME="+r.home, "HOME="+filepath.Join(dir, "userhome"), "HERMES_BIN="+r.hermes,
		"PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KANBANSHIM_PEER_SQLITE="+peerSQLite(c.mode),
		"HERMES_KANBAN_CLAIM_TTL_SECONDS="+strconv.Itoa(claimTTL), "HERMES_KANBAN_CRASH_GRACE_SECONDS=1",
		"HERMES_KANBAN_RATE_LIMIT_COOLDOWN_SECONDS=2", "TORTURE_SEED="+strconv.FormatInt(c.seed, 10))
	return r, nil
}

// journalConfig is the config.yaml part that makes new boards use mode.
func journalConfig(mode string) string {
	if mode == "delete" {
		return "database:\n  journal_mode: delete\n"
	}
	return ""
}

// peerSQLite is what KANBANSHIM_PEER_SQLITE tells kanban about the local
// Python: a fixed SQLite for WAL boards (so kanban keeps WAL whatever
// python3 links), the WAL-reset-affected 3.40.1 for DELETE boards.
func peerSQLite(mode string) string {
	if mode == "delete" {
		return "3.40.1"
	}
	return "3.51.3"
}

func (r *rig) close(failed bool) string {
	killUnder(r.dir)
	if r.o.keep || failed {
		fmt.Printf("   board kept in %s\n", r.dir)
		return r.dir
	}
	os.RemoveAll(r.dir)
	return ""
}

// kanban runs the CLI.
func (r *rig) kanban(args ...string) (string, string, error) {
	c := exec.Command(filepath.Join(r.bin, "kanban"), args...)
	c.Env = r.env
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if r.o.verbose {
		fmt.Printf("   kanban %s -> %v\n", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), err
}

func (r *rig) count(action string) {
	r.mu.Lock()
	r.actions[action]++
	r.mu.Unlock()
}

func (r *rig) intn(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rng.IntN(n)
}

func (r *rig) sleep(stop <-chan struct{}, loMS, hiMS int) bool {
	select {
	case <-stop:
		return false
	case <-time.After(time.Duration(loMS+r.intn(hiMS-loMS+1)) * time.Millisecond):
		return true
	}
}

func (r *rig) startDaemon(name string) (*bg, error) {
	return startBG(name, filepath.Join(r.bin, "kanban"), r.env, filepath.Join(r.dir, name+".log"),
		"daemon", "--interval", tickInterval, "-v")
}

func runDispatch31618(ctx context.Context, c *cellEnv) (cr *cellReport) {
	cr = &cellReport{Rounds: 1}
	r, err := newRig(c)
	if err != nil {
		cr.Problems = append(cr.Problems, err.Error())
		return cr
	}
	defer func() {
		r.tally.fill(cr)
		if dir := r.close(len(cr.Problems) > 0); dir != "" {
			cr.KeptDirs = append(cr.KeptDirs, dir)
		}
	}()
	if _, e, err := r.kanban("init"); err != nil {
		cr.Problems = append(cr.Problems, fmt.Sprintf("init: %v: %s", err, e))
		return cr
	}
	a, err := r.startDaemon("daemon-a")
	if err != nil {
		cr.Problems = append(cr.Problems, err.Error())
		return cr
	}
	b, err := r.startDaemon("daemon-b")
	if err != nil {
		cr.Problems = append(cr.Problems, err.Error())
		return cr
	}
	daemons := []*bg{a, b}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, loop := range []func(<-chan struct{}){r.producer, r.operator, r.sampler, func(s <-chan struct{}) { r.chaos(s, daemons) }} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(stop) }()
	}
	select {
	case <-ctx.Done():
	case <-time.After(r.work):
	}
	close(stop)
	wg.Wait()
	cr.Problems = append(cr.Problems, r.finish(daemons, cr)...)
	return cr
}

// producer creates a ready task every few hundred milliseconds; most
// have a runtime limit some workers will outlive.
func (r *rig) producer(stop <-chan struct{}) {
	for n := 0; r.sleep(stop, 200, 600); n++ {
		args := []string{"create", "torture " + strconv.Itoa(n), "--assignee", "p" + strconv.Itoa(1+r.intn(3)),
			"--priority", strconv.Itoa(r.intn(3)), "--json"}
		if r.intn(10) < 9 {
			args = append(args, "--max-runtime", strconv.Itoa(2+r.intn(3)))
		}
		out, _, err := r.kanban(args...)
		if m := idRe.FindStringSubmatch(out); err == nil && m != nil {
			r.mu.Lock()
			r.created = append(r.created, m[1])
			r.mu.Unlock()
			r.count("create")
			r.tally.ack("cli", "create")
		}
	}
}

// operator reclaims, archives and unblocks at random, and now and then
// runs a third, one-shot dispatcher.
func (r *rig) operator(stop <-chan struct{}) {
	for r.sleep(stop, 600, 1400) {
		switch n := r.intn(20); {
		case n < 10:
			if id := r.pick("running"); id != "" {
				r.kanban("reclaim", id, "--reason", "torture")
				r.count("reclaim")
			}
		case n < 13:
			if id := r.pick(""); id != "" {
				r.kanban("archive", id)
				r.count("archive")
			}
		case n < 18:
			if id := r.pick("blocked"); id != "" {
				r.kanban("unblock", id)
				r.count("unblock")
			}
		default:
			r.kanban("dispatch")
			r.count("one-shot dispatch")
		}
	}
}

// pick is a random task id in status ("" for any non-archived).
func (r *rig) pick(status string) string {
	args := []string{"list", "--json"}
	if status != "" {
		args = append(args, "--status", status)
	}
	out, _, err := r.kanban(args...)
	ids := idRe.FindAllStringSubmatch(out, -1)
	if err != nil || len(ids) == 0 {
		return ""
	}
	return ids[r.intn(len(ids))][1]
}

// chaos SIGKILLs daemon A at 40% of the run and restarts it, and SIGKILLs
// a random supervisor every few seconds.
func (r *rig) chaos(stop <-chan struct{}, daemons []*bg) {
	killAt := time.Now().Add(r.work * 4 / 10)
	for r.sleep(stop, 2000, 4000) {
		if sups := supervisors(r.bin); len(sups) > 0 {
			if syscall.Kill(sups[r.intn(len(sups))], syscall.SIGKILL) == nil {
				r.tally.kill(tgtSupervisor, phRandom)
			}
			r.count("SIGKILL supervisor")
		}
		if !killAt.IsZero() && time.Now().After(killAt) {
			killAt = time.Time{}
			_ = daemons[0].stop(syscall.SIGKILL, 5*time.Second)
			r.tally.kill(tgtDispatcher, phRandom)
			r.count("SIGKILL daemon")
			time.Sleep(time.Second)
			if d, err := r.startDaemon("daemon-a2"); err == nil {
				daemons[0] = d
			}
		}
	}
}

// sampler counts live workers and held global slots every 25 ms.
func (r *rig) sampler(stop <-chan struct{}) {
	for r.sleep(stop, 25, 25) {
		ws := workers(r.hermes)
		n := len(ws)
		slots, _ := dispatch.SlotsInUse(r.home)
		global := 0
		for _, s := range slots {
			if s.Scope == dispatch.GlobalScope {
				global++
			}
		}
		r.mu.Lock()
		r.samples++
		r.peak = max(r.peak, n)
		r.slotMax = max(r.slotMax, global)
		if n > workerCap || global > workerCap {
			r.overCap++
			r.overCapSeen = append(r.overCapSeen, describe(ws)+" slots "+fmt.Sprint(slots))
		}
		r.mu.Unlock()
	}
}

// finish drains, stops the daemons, and checks the board.
func (r *rig) finish(daemons []*bg, cr *cellReport) []string {
	var problems []string
	time.Sleep(2 * time.Second)
	for _, d := range daemons {
		if err := d.stop(syscall.SIGTERM, 60*time.Second); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v (see %s)", d.name, err, d.log))
		}
	}
	problems = append(problems, r.settle("after the daemons stopped", true)...)
	// Stop every worker the way a reclaim does, then let one more
	// reclaim-only tick book them: nothing may be left running.
	for _, pid := range supervisors(r.bin) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(time.Duration(reclaimGrace+10) * time.Second)
	for len(supervisors(r.bin)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(supervisors(r.bin)); n > 0 {
		problems = append(problems, fmt.Sprintf("%d supervisors still alive %ds after SIGTERM", n, reclaimGrace+10))
	}
	problems = append(problems, r.settle("after every worker was stopped", false)...)
	rep, err := check(r.home, r.created)
	if err != nil {
		return append(problems, err.Error())
	}
	problems = append(problems, rep.problems...)
	cr.Lost = rep.lost
	if rep.integrity != "ok" {
		cr.Corruptions++
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overCap > 0 {
		problems = append(problems, fmt.Sprintf("%d samples saw more than %d workers or slots (peak %d workers, %d slots): %s",
			r.overCap, workerCap, r.peak, r.slotMax, strings.Join(r.overCapSeen, " | ")))
	}
	fmt.Printf("   tasks created %d; final statuses %s\n", len(r.created), rep.statuses)
	fmt.Printf("   actions: %s\n", fmtCounts(r.actions))
	fmt.Printf("   events: %s\n", rep.events)
	fmt.Printf("   peak concurrent workers %d (cap %d), peak held slots %d, over %d samples\n", r.peak, workerCap, r.slotMax, r.samples)
	fmt.Printf("   integrity_check: %s; rows: %d tasks, %d runs, %d events\n", rep.integrity, rep.tasks, rep.runs, rep.eventRows)
	return problems
}

// settle runs reclaim-only ticks until no task is running without a live
// worker (a dispatcher SIGKILLed between claim and spawn leaves a claim
// only the TTL can release). live says whether running tasks may keep
// live workers; when false nothing may be running at all.
func (r *rig) settle(when string, live bool) []string {
	var stuck []string
	for try := 0; try < claimTTL+4; try++ {
		if _, e, err := r.kanban("dispatch", "--max", "0"); err != nil {
			return []string{fmt.Sprintf("final tick %s: %v: %s", when, err, e)}
		}
		var err error
		if stuck, err = stuckTasks(r.home, live); err != nil {
			return []string{err.Error()}
		}
		if len(stuck) == 0 {
			return nil
		}
		time.Sleep(time.Second)
	}
	return []string{fmt.Sprintf("%s: running without a live worker: %s", when, strings.Join(stuck, ", "))}
}
