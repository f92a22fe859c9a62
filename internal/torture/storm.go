package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/testhooks"
)

// stormOpts selects the actors of a storm.
type stormOpts struct {
	boards       []string // boards the writers use; the first is the main board
	kills        bool     // the killer, in-transaction kills, maintenance runs
	daemon       bool
	checkpointer bool
	maintenance  bool // kanban-recover auto and refused swaps, kanban-migrate on legacy boards
	control      bool // the deliberately unsafe writer
	// damage is the round's damage board (the last of boards), nil when
	// the round damages none; kanban-recover auto leaves it alone until
	// the storm is over.
	damage *damageRound
}

// evDamageRefused counts kanban CLI writes a damage marker refused.
const evDamageRefused = "damage_writes_refused"

// storm is a burst of concurrent activity on the cell's boards.
type storm struct {
	k    *kcell
	o    stormOpts
	stop chan struct{}
	hard atomic.Bool // stopping by SIGKILL (a swap round) rather than gently
	wg   sync.WaitGroup

	mu        sync.Mutex
	ckptBegin map[int]chan struct{} // checkpointer pid -> "begin" lines
	repl      string                // a replacement board for refused swaps
}

func (k *kcell) startStorm(o stormOpts) *storm {
	s := &storm{k: k, o: o, stop: make(chan struct{}), ckptBegin: map[int]chan struct{}{}}
	for i := 1; i <= k9CLIWriters; i++ {
		s.goLoop(func() { s.cliWriter(fmt.Sprintf("cli%d", i)) })
	}
	if k.python != "" {
		s.goLoop(func() { s.pyWriter("py1", o.boards[0], false) })
		second := o.boards[0]
		if len(o.boards) > 1 && (o.damage == nil || o.boards[1] != o.damage.slug) {
			second = o.boards[1]
		}
		if o.damage != nil && o.damage.python {
			second = o.damage.slug
		}
		s.goLoop(func() { s.pyWriter("py2", second, false) })
		if o.control && k.mode == "delete" {
			s.goLoop(func() { s.pyWriter("pyx", o.boards[0], true) })
		}
	}
	if o.daemon {
		s.goLoop(func() { s.daemon("daemon-a") })
		if k.rnd.float() < 0.3 {
			s.goLoop(func() { s.daemon("daemon-b") })
		}
		s.goLoop(s.oneShotDispatch)
	}
	if o.checkpointer {
		s.goLoop(s.checkpointer)
	}
	if o.maintenance {
		s.goLoop(s.recoverRuns)
		if len(o.boards) > 1 {
			s.goLoop(s.migrateRuns)
		}
	}
	if o.kills {
		s.goLoop(s.killer)
	}
	if o.damage != nil {
		s.goLoop(s.damager)
	}
	if o.control && k.mode == "wal" {
		s.goLoop(s.unsafe)
	}
	return s
}

func (s *storm) goLoop(f func()) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); f() }()
}

// stopGently ends the storm: writers finish the command in flight, Python
// writers, daemons and the checkpointer get SIGTERM.
func (s *storm) stopGently() {
	close(s.stop)
	s.wg.Wait()
}

// stopNow ends the storm with SIGKILL for everything in flight
// (counted as random kills), then SIGKILLs the supervisors, whose
// workers die with them.
func (s *storm) stopNow() {
	s.hard.Store(true)
	close(s.stop)
	s.wg.Wait()
	for _, pid := range supervisors(s.k.bin) {
		s.k.reg.killPID(pid, tgtSupervisor, phRandom)
	}
}

// await waits for p, or for the end of the storm: then a gentle stop
// sends sig (SIGKILL after grace) and a hard one SIGKILLs it.
func (s *storm) await(p *proc, sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	case <-s.stop:
	}
	if s.hard.Load() {
		p.kill(phRandom)
		<-p.done
		return
	}
	if sig == 0 {
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
		sig = syscall.SIGKILL
	}
	p.stop(sig, grace)
}

// idRe finds the task id in `kanban create --json` and `list --json`.
var idRe = regexp.MustCompile(`"id": "(t_[0-9a-f]+)"`)

// kanban runs one kanban command as a storm process (target writer or
// dispatcher). pause, when set, makes the command stop inside its write
// transaction whose op starts with it, and kills it there.
func (s *storm) kanban(target, board, pause string, args ...string) (*proc, error) {
	k := s.k
	if board != "" && board != "default" {
		args = append([]string{"--board", board}, args...)
	}
	env := k.baseEnv
	if pause != "" {
		env = append(append([]string(nil), env...), testhooks.EnvPauseInTxn+"="+pause)
	}
	return k.reg.start(procSpec{target: target, bin: filepath.Join(k.bin, "kanban"), args: args, env: env,
		onLine: func(p *proc, line string) {
			if strings.HasPrefix(line, testhooks.TxnPauseMarker) {
				go func() {
					time.Sleep(k.rnd.between(0, 2*time.Millisecond))
					p.kill(phInTxn)
				}()
			}
		}})
}

// wtask is a task one CLI writer drives through its plan.
type wtask struct {
	board, id string
	plan      []string
	step      int
}

// cliWriter runs kanban commands back to back, each a process of its own,
// and logs an ack for each one that exited 0.
func (s *storm) cliWriter(name string) {
	k := s.k
	log, err := openAckLog(filepath.Join(k.ackDir, name+".log"))
	if err != nil {
		k.problem("ack log: %v", err)
		return
	}
	defer log.close()
	var t *wtask
	for !stopped(s.stop) {
		if t == nil || t.step >= len(t.plan) {
			t = s.newTask()
		}
		op := t.plan[t.step]
		t.step++
		mk := k.marker(name)
		var args []string
		switch op {
		case "create":
			args = []string{"create", "cli " + mk, "--json"}
		case "create-for-worker":
			args = []string{"create", "cli " + mk, "--json", "--assignee", "p" + strconv.Itoa(1+k.rnd.intn(2)),
				"--max-runtime", strconv.Itoa(2 + k.rnd.intn(3))}
		case ackComment:
			args = []string{"comment", t.id, mk}
		case ackClaim:
			args = []string{"claim", t.id, "--ttl", strconv.Itoa(k9ClaimTTL)}
			mk = "claim"
		case ackHeartbeat:
			args = []string{"heartbeat", t.id, "--note", mk}
		case ackBlock:
			args = []string{"block", t.id, mk}
		case ackUnblock:
			args = []string{"unblock", t.id, "--reason", mk}
		case ackComplete:
			args = []string{"complete", t.id, "--result", mk}
		}
		pause := ""
		if s.o.kills && k.rnd.float() < 0.1 {
			pause = strings.TrimSuffix(op, "-for-worker")
		}
		p, err := s.kanban(tgtWriter, t.board, pause, args...)
		if err != nil {
			k.problem("start kanban: %v", err)
			return
		}
		s.await(p, 0, 30*time.Second)
		if !p.wait() {
			if strings.HasPrefix(op, "create") {
				t = nil
			}
			if p.exitCode() == 1 && strings.Contains(p.output(), "is marked damaged") {
				k.tally.event(evDamageRefused)
				t = nil // its board is out of bounds until repaired
				sleepOr(s.stop, 30*time.Millisecond)
			}
			continue
		}
		kind := op
		if strings.HasPrefix(op, "create") {
			m := idRe.FindStringSubmatch(p.output())
			if m == nil {
				k.problem("kanban create exited 0 without a task id: %q", p.output())
				t = nil
				continue
			}
			t.id, kind = m[1], ackCreate
		}
		if err := log.add(kind, t.board, t.id, mk); err != nil {
			k.problem("ack log: %v", err)
			return
		}
	}
}

// newTask picks a board and a plan: most tasks the writer claims and
// drives itself (unassigned, so no dispatcher spawns them); one in four
// is assigned to a profile for the dispatcher's workers.
func (s *storm) newTask() *wtask {
	k := s.k
	t := &wtask{board: s.o.boards[0]}
	if len(s.o.boards) > 1 && k.rnd.float() < 0.4 {
		t.board = s.o.boards[1+k.rnd.intn(len(s.o.boards)-1)]
	}
	switch {
	case k.rnd.intn(4) == 0:
		t.plan = []string{"create-for-worker", ackComment, ackComment}
	case k.rnd.intn(2) == 0:
		t.plan = []string{"create", ackComment, ackClaim, ackHeartbeat, ackHeartbeat, ackBlock, ackUnblock, ackClaim, ackHeartbeat, ackComplete}
	default:
		t.plan = []string{"create", ackComment, ackClaim, ackHeartbeat, ackComplete}
	}
	return t
}

// pyWriter keeps one Python writer running on board, restarting it
// after each kill under a new name (its ack log and markers).
func (s *storm) pyWriter(slot, board string, unsafe bool) {
	k := s.k
	for !stopped(s.stop) {
		k.mu.Lock()
		name := fmt.Sprintf("%sr%d", slot, k.pyRuns[slot])
		k.pyRuns[slot]++
		k.mu.Unlock()
		args := []string{filepath.Join(k.peerDir, "torture_peer.py"), k.boardPath(board), board, name,
			filepath.Join(k.ackDir, name+".log"), "seed=" + strconv.Itoa(k.rnd.intn(1<<30)), "ttl=" + strconv.Itoa(k9ClaimTTL)}
		if s.o.kills {
			args = append(args, "pause=0.02")
		}
		if unsafe {
			args = append(args, "cancel-locks=1")
		}
		p, err := k.reg.start(procSpec{target: tgtPython, bin: k.python, args: args, env: k.baseEnv,
			logTo: filepath.Join(k.dir, "logs", name+".log"), onLine: func(p *proc, line string) {
				if line == "paused-in-txn" {
					go func() {
						time.Sleep(k.rnd.between(0, 2*time.Millisecond))
						p.kill(phInTxn)
					}()
				}
			}})
		if err != nil {
			k.problem("start python: %v", err)
			return
		}
		s.await(p, syscall.SIGTERM, 5*time.Second)
		if phase, signaled := p.killedBy(); !signaled && phase == "" && !p.byHarness() && p.exitCode() != 0 {
			k.note("python writer %s exited %d: %s", name, p.exitCode(), lastLines(p.output(), 3))
		}
		if !sleepOr(s.stop, k.rnd.between(200*time.Millisecond, 800*time.Millisecond)) {
			return
		}
	}
}

// daemon keeps a `kanban daemon` running, restarting it after each kill.
func (s *storm) daemon(name string) {
	k := s.k
	for !stopped(s.stop) {
		p, err := k.reg.start(procSpec{target: tgtDispatcher, bin: filepath.Join(k.bin, "kanban"),
			args: []string{"daemon", "--interval", k9TickEvery, "-v"}, env: k.baseEnv,
			logTo: filepath.Join(k.dir, "logs", name+".log")})
		if err != nil {
			k.problem("start daemon: %v", err)
			return
		}
		s.await(p, syscall.SIGTERM, 20*time.Second)
		if !sleepOr(s.stop, k.rnd.between(300*time.Millisecond, 1500*time.Millisecond)) {
			return
		}
	}
}

// oneShotDispatch runs `kanban dispatch` on a random board now and then,
// beside the daemons.
func (s *storm) oneShotDispatch() {
	k := s.k
	for sleepOr(s.stop, k.rnd.between(time.Second, 3*time.Second)) {
		board := s.o.boards[k.rnd.intn(len(s.o.boards))]
		p, err := s.kanban(tgtDispatcher, board, "", "dispatch", "--json")
		if err != nil {
			k.problem("start dispatch: %v", err)
			return
		}
		s.await(p, 0, 30*time.Second)
	}
}

// checkpointer keeps the raw-connection checkpointer running on the main
// board.
func (s *storm) checkpointer() {
	k := s.k
	for !stopped(s.stop) {
		begin := make(chan struct{}, 1)
		p, err := k.reg.start(procSpec{target: tgtCheckpointer, bin: filepath.Join(k.bin, roleCheckpointer),
			args: []string{k.boardPath(s.o.boards[0]), k.mode, strconv.Itoa(k.rnd.intn(1 << 30))}, env: k.baseEnv,
			onLine: func(p *proc, line string) {
				if line == "end" {
					k.tally.event("checkpointer_calls_completed")
				}
				if line == "begin" {
					select {
					case begin <- struct{}{}:
					default:
					}
				}
			}})
		if err != nil {
			k.problem("start checkpointer: %v", err)
			return
		}
		s.mu.Lock()
		s.ckptBegin[p.pid] = begin
		s.mu.Unlock()
		s.await(p, syscall.SIGTERM, 5*time.Second)
		s.mu.Lock()
		delete(s.ckptBegin, p.pid)
		s.mu.Unlock()
		if !sleepOr(s.stop, k.rnd.between(200*time.Millisecond, time.Second)) {
			return
		}
	}
}

// recoverRuns runs kanban-recover during the storm: auto (which must find
// every board healthy and change nothing) and swaps, which must be
// refused because a Python process keeps the main board open.
func (s *storm) recoverRuns() {
	k := s.k
	var holder *proc
	defer func() {
		if holder != nil {
			holder.stop(syscall.SIGTERM, 3*time.Second)
		}
	}()
	for sleepOr(s.stop, k.rnd.between(2*time.Second, 4*time.Second)) {
		main := k.boardPath(s.o.boards[0])
		if k.rnd.intn(2) == 0 || k.python == "" {
			board := s.o.boards[k.rnd.intn(len(s.o.boards))]
			if s.o.damage != nil && board == s.o.damage.slug {
				continue // repaired after the storm, when its checks are done
			}
			p, err := k.reg.start(procSpec{target: tgtRecover, bin: filepath.Join(k.bin, "kanban-recover"),
				args: []string{"--db", k.boardPath(board), "auto", "--quick", "--json"}, env: k.baseEnv})
			if err != nil {
				k.problem("start kanban-recover: %v", err)
				return
			}
			s.await(p, 0, 60*time.Second)
			if _, killed := p.killedBy(); killed {
				continue
			}
			var rep autoReport
			_ = json.Unmarshal([]byte(p.stdoutText()), &rep)
			k.tally.event("storm_auto_" + orUnknown(rep.Status))
			if rep.Status != "healthy" {
				k.note("kanban-recover auto on %s during the storm: %s (exit %d): %s", board, orUnknown(rep.Status), p.exitCode(), rep.describe())
			}
			if rep.Status == "repaired" {
				k.problem("kanban-recover auto repaired board %s during the storm (%s): %s", board, rep.Action, rep.describe())
			}
			continue
		}
		if holder == nil || !holder.alive() {
			var err error
			if holder, err = s.startHolder(main); err != nil {
				k.note("holder: %v", err)
				holder = nil
				continue
			}
		}
		if s.repl == "" {
			repl := filepath.Join(k.dir, fmt.Sprintf("storm-repl-%d.db", k.roundNo))
			if err := vacuumInto(main, repl); err != nil {
				k.note("replacement for refused swaps: %v", err)
				continue
			}
			s.repl = repl
		}
		p, err := k.reg.start(procSpec{target: tgtRecover, bin: filepath.Join(k.bin, "kanban-recover"),
			args: []string{"--db", main, "swap", s.repl, "--json"}, env: k.baseEnv})
		if err != nil {
			k.problem("start kanban-recover: %v", err)
			return
		}
		s.await(p, 0, 60*time.Second)
		if _, killed := p.killedBy(); killed {
			continue
		}
		switch code := p.exitCode(); code {
		case 0:
			k.problem("kanban-recover swap replaced the main board while a Python process (pid %d) had it open: %s", holder.pid, lastLines(p.output(), 5))
		case 1, 4:
			k.tally.event(fmt.Sprintf("swap_refused_exit%d", code))
		default:
			k.note("swap during the storm exited %d: %s", code, lastLines(p.output(), 3))
		}
	}
}

// startHolder starts a Python process that just keeps board open.
func (s *storm) startHolder(db string) (*proc, error) {
	k := s.k
	ready := make(chan struct{})
	var once sync.Once
	p, err := k.reg.start(procSpec{target: "holder", bin: k.python,
		args: []string{filepath.Join(k.peerDir, "torture_peer.py"), db, "default", "holder", filepath.Join(k.dir, "holder.acks"), "idle=1"},
		env:  k.baseEnv, onLine: func(p *proc, line string) {
			if line == "holding" {
				once.Do(func() { close(ready) })
			}
		}})
	if err != nil {
		return nil, err
	}
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("the holder exited: %s", lastLines(p.output(), 3))
	case <-time.After(30 * time.Second):
		p.stop(syscall.SIGKILL, time.Second)
		return nil, fmt.Errorf("the holder did not open the board within 30 s")
	}
}

// migrateRuns runs kanban-migrate apply on the legacy boards now and
// then (usually nothing is left to do; the killer may strike anyway).
func (s *storm) migrateRuns() {
	k := s.k
	for sleepOr(s.stop, k.rnd.between(1500*time.Millisecond, 3*time.Second)) {
		board := s.o.boards[1+k.rnd.intn(len(s.o.boards)-1)]
		p, err := k.reg.start(procSpec{target: tgtMigrate, bin: filepath.Join(k.bin, "kanban-migrate"),
			args: []string{"--board", board, "apply", "--json"}, env: k.baseEnv})
		if err != nil {
			k.problem("start kanban-migrate: %v", err)
			return
		}
		s.await(p, 0, 60*time.Second)
		if _, killed := p.killedBy(); !killed {
			k.tally.event(fmt.Sprintf("storm_migrate_exit%d", p.exitCode()))
		}
	}
}

// unsafe runs the control run's -wal/-shm deleter on the main board.
func (s *storm) unsafe() {
	k := s.k
	p, err := k.reg.start(procSpec{target: "unsafe", bin: filepath.Join(k.bin, roleUnsafe),
		args: []string{k.boardPath(s.o.boards[0])}, env: k.baseEnv, onLine: func(p *proc, line string) {
			if strings.HasPrefix(line, "deleted") {
				k.tally.event("control_wal_deleted")
			}
		}})
	if err != nil {
		k.problem("start the unsafe writer: %v", err)
		return
	}
	<-s.stop
	p.stop(syscall.SIGKILL, time.Second)
}

// killer SIGKILLs a random process every 150-450 ms. Writers are killed
// a random 0-120 ms after the pick (most of a CLI write is spent in
// fsync, so many land inside a commit); a checkpointer on a WAL board is
// killed right after it announced a checkpoint.
func (s *storm) killer() {
	k := s.k
	for sleepOr(s.stop, k.rnd.between(150*time.Millisecond, 450*time.Millisecond)) {
		type choice struct {
			target string
			weight int
		}
		var cs []choice
		add := func(t string, w int, ok bool) {
			if ok {
				cs = append(cs, choice{t, w})
			}
		}
		add(tgtWriter, 30, len(k.reg.list(tgtWriter)) > 0)
		add(tgtPython, 10, k.reg.pick(k.rnd.intn, tgtPython, true) != nil)
		add(tgtWorker, 12, true)
		add(tgtSupervisor, 10, true)
		add(tgtDispatcher, 10, len(k.reg.list(tgtDispatcher)) > 0)
		add(tgtCheckpointer, 10, len(k.reg.list(tgtCheckpointer)) > 0)
		add(tgtRecover, 8, len(k.reg.list(tgtRecover)) > 0)
		add(tgtMigrate, 8, len(k.reg.list(tgtMigrate)) > 0)
		total := 0
		for _, c := range cs {
			total += c.weight
		}
		n := k.rnd.intn(total)
		var target string
		for _, c := range cs {
			if n < c.weight {
				target = c.target
				break
			}
			n -= c.weight
		}
		s.strike(target)
	}
}

// strike kills one process of target.
func (s *storm) strike(target string) {
	k := s.k
	switch target {
	case tgtWorker:
		if ws := workers(k.hermes); len(ws) > 0 {
			k.reg.killPID(ws[k.rnd.intn(len(ws))], tgtWorker, phRandom)
		}
	case tgtSupervisor:
		if sv := supervisors(k.bin); len(sv) > 0 {
			k.reg.killPID(sv[k.rnd.intn(len(sv))], tgtSupervisor, phRandom)
		}
	case tgtCheckpointer:
		p := k.reg.pick(k.rnd.intn, target, false)
		if p == nil {
			return
		}
		if k.mode != "wal" {
			p.kill(phRandom)
			return
		}
		s.mu.Lock()
		begin := s.ckptBegin[p.pid]
		s.mu.Unlock()
		if begin == nil {
			return
		}
		go func() {
			select {
			case <-begin: // drop a stale one
			default:
			}
			select {
			case <-begin:
				time.Sleep(k.rnd.between(0, 300*time.Microsecond))
				p.kill(phCheckpoint)
			case <-time.After(time.Second):
			case <-p.done:
			}
		}()
	case tgtMigrate:
		if p := k.reg.pick(k.rnd.intn, target, false); p != nil {
			go func() {
				time.Sleep(k.rnd.between(0, 100*time.Millisecond))
				p.kill(phMigrate)
			}()
		}
	case tgtRecover:
		if p := k.reg.pick(k.rnd.intn, target, false); p != nil {
			phase := phRandom
			if len(p.cmd.Args) > 3 && p.cmd.Args[3] == "swap" {
				phase = phSwap
			}
			go func() {
				time.Sleep(k.rnd.between(0, 150*time.Millisecond))
				p.kill(phase)
			}()
		}
	case "":
	default:
		if p := k.reg.pick(k.rnd.intn, target, target == tgtPython); p != nil {
			go func() {
				time.Sleep(k.rnd.between(0, 120*time.Millisecond))
				p.kill(phRandom)
			}()
		}
	}
}

// autoReport is the part of `kanban-recover auto --json` the harness reads.
type autoReport struct {
	Status string `json:"status"`
	Action string `json:"action"`
	Error  string `json:"error"`
	Check  *struct {
		Healthy  bool `json:"healthy"`
		Problems []struct {
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		} `json:"problems"`
	} `json:"check"`
	Notes []string `json:"notes"`
}

func (r autoReport) describe() string {
	var parts []string
	if r.Check != nil {
		for _, p := range r.Check.Problems {
			parts = append(parts, p.Kind+": "+p.Detail)
		}
	}
	if r.Error != "" {
		parts = append(parts, "error: "+r.Error)
	}
	parts = append(parts, r.Notes...)
	return strings.Join(parts, "; ")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
