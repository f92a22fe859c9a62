package main

import (
	"bufio"
	"bytes"
	osproc "github.com/kanbanshim/kanbanshim/internal/proc"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is a process the harness started and may kill. A kill counts as
// delivered only if the process then died of that SIGKILL (not one that
// had already exited), so the figures never count a kill that missed.
type proc struct {
	target string
	cmd    *exec.Cmd
	pid    int

	ready atomic.Bool // the process said it is up (Python writers: connected)

	mu       sync.Mutex
	phase    string // why it was killed ("" = not by the killer)
	exited   bool
	uncount  bool // killed by the harness while stopping: not a torture kill
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	done     chan struct{}
	waitErr  error
	signaled bool
}

// registry holds the live processes of a cell by target.
type registry struct {
	mu    sync.Mutex
	procs map[int]*proc
	tally *tally
}

func newRegistry(t *tally) *registry { return &registry{procs: map[int]*proc{}, tally: t} }

// procSpec describes a process to start.
type procSpec struct {
	target string
	bin    string
	args   []string
	env    []string
	dir    string
	// onLine sees every stdout and stderr line as it arrives.
	onLine func(p *proc, line string)
	// logTo, when set, receives stdout and stderr instead of the buffer.
	logTo string
}

// start starts a process and registers it; wait with p.wait.
func (r *registry) start(s procSpec) (*proc, error) {
	c := exec.Command(s.bin, s.args...)
	c.Env, c.Dir = s.env, s.dir
	p := &proc{target: s.target, cmd: c, done: make(chan struct{})}
	var logf *os.File
	if s.logTo != "" {
		f, err := os.OpenFile(s.logTo, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		logf = f
	}
	var readers []io.Reader
	if logf != nil && s.onLine == nil {
		c.Stdout, c.Stderr = logf, logf
	} else {
		so, err := c.StdoutPipe()
		if err != nil {
			return nil, err
		}
		se, err := c.StderrPipe()
		if err != nil {
			return nil, err
		}
		readers = append(readers, so, se)
	}
	if err := c.Start(); err != nil {
		if logf != nil {
			logf.Close()
		}
		return nil, err
	}
	p.pid = c.Process.Pid
	r.mu.Lock()
	r.procs[p.pid] = p
	r.mu.Unlock()
	var rw sync.WaitGroup
	for i, rd := range readers {
		rw.Add(1)
		go func() {
			defer rw.Done()
			sc := bufio.NewScanner(rd)
			sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				if logf != nil {
					p.mu.Lock()
					logf.WriteString(line + "\n")
					p.mu.Unlock()
				}
				p.mu.Lock()
				buf := &p.stdout
				if i == 1 {
					buf = &p.stderr
				}
				if buf.Len() < 256*1024 {
					buf.WriteString(line + "\n")
				}
				p.mu.Unlock()
				if s.onLine != nil {
					s.onLine(p, line)
				}
			}
		}()
	}
	go func() {
		rw.Wait()
		err := c.Wait()
		if logf != nil {
			logf.Close()
		}
		r.mu.Lock()
		delete(r.procs, p.pid)
		r.mu.Unlock()
		p.mu.Lock()
		p.exited, p.waitErr = true, err
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			p.signaled = true
			if p.phase != "" && !p.uncount {
				r.tally.kill(p.target, p.phase)
			}
		}
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// wait waits for the process; ok is a normal exit with status 0.
func (p *proc) wait() (ok bool) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr == nil
}

// exitCode is the exit status (-1 when killed or unknown).
func (p *proc) exitCode() int {
	<-p.done
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// output is what the process printed: stdout, then stderr.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String() + p.stderr.String()
}

// stdoutText is what the process printed on stdout.
func (p *proc) stdoutText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

func (p *proc) killedBy() (string, bool) {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase, p.signaled
}

// kill SIGKILLs the process for the torture, in phase; false when it had
// already exited or someone else killed it first.
func (p *proc) kill(phase string) bool {
	p.mu.Lock()
	if p.exited || p.phase != "" {
		p.mu.Unlock()
		return false
	}
	p.phase = phase
	p.mu.Unlock()
	return syscall.Kill(p.pid, syscall.SIGKILL) == nil
}

// stop ends the process for the harness (not a torture kill): sig, then
// SIGKILL after grace.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	if p.exited {
		p.mu.Unlock()
		return
	}
	if p.phase == "" {
		p.uncount = true
	}
	p.mu.Unlock()
	_ = syscall.Kill(p.pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.mu.Lock()
		if p.phase == "" {
			p.phase, p.uncount = "stop", true
		}
		p.mu.Unlock()
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
		<-p.done
	}
}

// byHarness tells a process the harness stopped (not a torture kill).
func (p *proc) byHarness() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.uncount
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// list is the live processes of target.
func (r *registry) list(target string) []*proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*proc
	for _, p := range r.procs {
		if p.target == target {
			out = append(out, p)
		}
	}
	return out
}

// pick is a random live process of target (nil when none); with
// readyOnly, only one that said it is up.
func (r *registry) pick(rng func(int) int, target string, readyOnly bool) *proc {
	var ps []*proc
	for _, p := range r.list(target) {
		if !readyOnly || p.ready.Load() {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps[rng(len(ps))]
}

// killPID SIGKILLs a process the harness did not start (a worker, a
// supervisor), unless it is already a zombie; it counts when delivered.
func (r *registry) killPID(pid int, target, phase string) bool {
	if pid <= 0 || procState(pid) == "Z" || procState(pid) == "" {
		return false
	}
	if syscall.Kill(pid, syscall.SIGKILL) != nil {
		return false
	}
	r.tally.kill(target, phase)
	return true
}

// procState is the state letter of /proc/<pid>/stat ("" when gone).
func procState(pid int) string {
	if st, ok := osproc.ReadStat(pid); ok {
		return string(st.State)
	}
	return ""
}

// argvOf is a process's command line (nil when gone).
func argvOf(pid int) []string { return osproc.Cmdline(pid) }

// lockedRand is a seeded source shared by a cell's goroutines.
type lockedRand struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newLockedRand(seed int64, stream uint64) *lockedRand {
	return &lockedRand{rng: rand.New(rand.NewPCG(uint64(seed), stream))}
}

func (l *lockedRand) intn(n int) int {
	if n <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rng.IntN(n)
}

func (l *lockedRand) float() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rng.Float64()
}

// between is a duration in [lo, hi].
func (l *lockedRand) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(l.intn(int(hi-lo)+1))
}

// sleepOr sleeps d unless stop closes first; false when stopped.
func sleepOr(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
