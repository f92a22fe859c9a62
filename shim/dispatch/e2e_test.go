package dispatch_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// A worker that completes: spawned under a supervisor, its output in the
// task log, its slot released, the task done.
func TestDispatch_WorkerCompletes(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_SLEEP=0.2")
	id := h.create("complete me")
	out := h.must("dispatch", "--max-workers", "2")
	if !strings.Contains(out, "Spawned:      1\n  - "+id+"  ->  alice  @ ") {
		t.Fatalf("dispatch output:\n%s", out)
	}
	waitFor(t, 10*time.Second, "task done", func() bool { return h.task(id).Status == "done" })
	waitFor(t, 5*time.Second, "slot released", func() bool {
		in, err := dispatch.SlotsInUse(filepath.Join(h.dir, "home"))
		return err == nil && len(in) == 0
	})
	logData, err := os.ReadFile(filepath.Join(h.dir, "home", "kanban", "logs", id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fake worker for " + id, "-p alice --cli --accept-hooks chat -q work kanban task " + id, "exited rc=0"} {
		if !strings.Contains(string(logData), want) {
			t.Errorf("log lacks %q:\n%s", want, logData)
		}
	}
	ev := h.events(id)
	if !hasKind(ev, "spawned") || hasKind(ev, "worker_exited") {
		t.Errorf("events %v: want spawned and no worker_exited (the run was closed by complete)", kinds(ev))
	}
}

// With a cap of 2, ten ready tasks and two daemons dispatching the same
// home at once, no more than two workers ever run together.
func TestDaemons_CapHoldsAcrossTwoDaemons(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs ten workers")
	}
	h := newHome(t, "FAKE_SLEEP=0.5")
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, h.create("task "+strconv.Itoa(i)))
	}
	var daemons []*exec2
	for i := 0; i < 2; i++ {
		d := startDaemon(t, h, "--interval", "0.1", "--max-workers", "2")
		daemons = append(daemons, d)
	}
	peak, samples := sampleWorkers(h, func() bool {
		for _, id := range ids {
			if h.task(id).Status != "done" {
				return false
			}
		}
		return true
	}, 60*time.Second)
	for _, d := range daemons {
		d.stop(t)
	}
	t.Logf("peak concurrent workers %d over %d samples", peak, samples)
	if peak > 2 {
		t.Fatalf("peak %d workers with a cap of 2", peak)
	}
	if peak < 2 {
		t.Errorf("peak %d: the cap of 2 was never used (sampling broken?)", peak)
	}
	if got := h.integrityOK(); got != "ok" {
		t.Errorf("integrity_check: %s", got)
	}
}

// sampleWorkers counts live workers every 10 ms until done() or d passes,
// returning the peak and the number of samples.
func sampleWorkers(h *testHome, done func() bool, d time.Duration) (peak, samples int) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := len(h.workers()); n > peak {
				peak = n
			}
			samples++
			time.Sleep(10 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if !done() {
		h.t.Fatalf("tasks not done after %v", d)
	}
	return peak, samples
}

// SIGKILLing a supervisor frees its slot at once, its worker dies with it,
// and the next tick books the task as crashed.
func TestSupervisor_SIGKILLFreesSlot(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_MODE=hang")
	root := filepath.Join(h.dir, "home")
	id := h.create("hang")
	h.must("dispatch", "--max-workers", "1")
	waitFor(t, 5*time.Second, "worker running", func() bool { return len(h.workers()) == 1 })
	in, err := dispatch.SlotsInUse(root)
	if err != nil || len(in) != 1 {
		t.Fatalf("slots in use: %v %v", in, err)
	}
	sup := int(*h.task(id).WorkerPID)
	if in[0].PID != sup || in[0].Scope != "global" || in[0].Index != 0 || in[0].Task != id {
		t.Fatalf("slot %+v, want global/0 held by supervisor %d for %s", in[0], sup, id)
	}
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, time.Second, "slot released", func() bool {
		in, err := dispatch.SlotsInUse(root)
		return err == nil && len(in) == 0
	})
	t.Logf("slot free %v after SIGKILL", time.Since(killed))
	waitFor(t, 2*time.Second, "worker gone", func() bool { return len(h.workers()) == 0 })
	out := h.must("dispatch", "--max-workers", "1", "--json")
	if !strings.Contains(out, `"crashed": [`+"\n    \""+id) {
		t.Fatalf("second tick:\n%s", out)
	}
}

// A worker that ignores SIGTERM is SIGKILLed no earlier than the grace
// window after its max runtime is enforced, and its children die with it.
func TestReclaimGrace_WorkerIgnoringSIGTERM(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_MODE=hang", "FAKE_IGNORE_TERM=1", "FAKE_CHILDREN=2")
	id := h.create("stubborn", "--max-runtime", "1")
	h.must("dispatch", "--max-workers", "1")
	waitFor(t, 5*time.Second, "worker and children", func() bool { return len(h.workers()) == 1 && len(h.fakeChildren()) == 2 })
	worker, children := h.workers()[0], h.fakeChildren()
	time.Sleep(1100 * time.Millisecond) // past max_runtime_seconds
	start := time.Now()
	var died time.Time
	watch := make(chan struct{})
	go func() {
		defer close(watch)
		for alive(worker) {
			time.Sleep(5 * time.Millisecond)
		}
		died = time.Now()
	}()
	out := h.must("dispatch", "--max-workers", "1", "--max", "0")
	<-watch
	const grace = 2 * time.Second
	if died.Sub(start) < grace {
		t.Fatalf("worker died %v after the tick started, before the %v grace window", died.Sub(start), grace)
	}
	t.Logf("worker SIGKILLed %v after the tick started (grace %v)", died.Sub(start), grace)
	for _, c := range children {
		if alive(c) {
			t.Errorf("child %d outlived the worker's process group", c)
		}
	}
	if !strings.Contains(out, "Timed out:    1\n  "+id) {
		t.Fatalf("tick output:\n%s", out)
	}
	var timedOut py.Object
	for _, e := range h.events(id) {
		if e.Kind == "timed_out" {
			timedOut, _ = e.Payload.(py.Object)
		}
	}
	if v, _ := timedOut.Get("sigkill"); v != true {
		t.Errorf("timed_out payload %v: want sigkill true", timedOut)
	}
	task := h.task(id)
	if task.Status != "ready" || task.ConsecutiveFailures != 1 {
		t.Errorf("status %s failures %d, want ready after one counted failure", task.Status, task.ConsecutiveFailures)
	}
}

// A crashed worker's run records its exit code.
func TestCrash_RecordsExitCode(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_MODE=crash", "FAKE_CODE=3")
	id := h.create("crash")
	h.must("dispatch", "--max-workers", "1")
	waitFor(t, 5*time.Second, "supervisor gone", func() bool {
		p := h.task(id).WorkerPID
		return p != nil && !alive(int(*p))
	})
	h.must("dispatch", "--max-workers", "1", "--max", "0")
	runs := h.runs(id)
	if len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
	r := runs[0]
	meta, _ := r.Metadata.(py.Object)
	code, _ := meta.Get("exit_code")
	kind, _ := meta.Get("exit_kind")
	if store.Str(r.Outcome) != "crashed" || code != int64(3) || kind != "nonzero_exit" {
		t.Fatalf("run outcome %v metadata %v, want crashed with exit_code 3", store.Str(r.Outcome), meta)
	}
	if !strings.HasSuffix(store.Str(r.Error), "exited with code 3") {
		t.Errorf("run error %q", store.Str(r.Error))
	}
}

// The circuit breaker blocks a task after the failure limit.
func TestBreaker_BlocksAfterFailureLimit(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_MODE=crash", "FAKE_CODE=1")
	id := h.create("always crashes")
	for i := 0; i < 2; i++ {
		h.must("dispatch", "--max-workers", "1")
		waitFor(t, 5*time.Second, "crash", func() bool {
			p := h.task(id).WorkerPID
			return p != nil && !alive(int(*p))
		})
	}
	out := h.must("dispatch", "--max-workers", "1", "--failure-limit", "2")
	if !strings.Contains(out, "Auto-blocked: 1\n  "+id) || !strings.Contains(out, "Spawned:      0") {
		t.Fatalf("third tick:\n%s", out)
	}
	task := h.task(id)
	if task.Status != "blocked" || task.ConsecutiveFailures != 2 {
		t.Fatalf("status %s failures %d, want blocked after 2", task.Status, task.ConsecutiveFailures)
	}
	if !hasKind(h.events(id), "gave_up") {
		t.Errorf("no gave_up event: %v", kinds(h.events(id)))
	}
	out = h.must("dispatch", "--max-workers", "1", "--failure-limit", "2")
	if !strings.Contains(out, "Spawned:      0") || h.task(id).Status != "blocked" {
		t.Fatalf("a blocked task was respawned:\n%s", out)
	}
}

// exec2 is a background kanban process.
type exec2 struct {
	cmd  *exec.Cmd
	done chan error
}

func startDaemon(t *testing.T, h *testHome, args ...string) *exec2 {
	t.Helper()
	c := h.cmd(append([]string{"daemon"}, args...)...)
	logf, err := os.Create(filepath.Join(h.dir, "daemon-"+strconv.FormatInt(time.Now().UnixNano(), 10)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	d := &exec2{cmd: c, done: make(chan error, 1)}
	go func() { d.done <- c.Wait(); logf.Close() }()
	t.Cleanup(func() { _ = c.Process.Kill() })
	return d
}

// stop sends SIGTERM and waits for a clean exit.
func (d *exec2) stop(t *testing.T) {
	t.Helper()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("daemon exit: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("daemon did not stop within 20s of SIGTERM")
	}
}

// When the probe saw room but the supervisor finds no slot (here: the
// profile slot is held elsewhere on the host), the claim is handed back
// without counting a failure and the task is reported as deferred.
func TestSpawn_NoSlotReleasesClaim(t *testing.T) {
	t.Parallel()
	h := newHome(t, "FAKE_SLEEP=0.2")
	root := filepath.Join(h.dir, "home")
	if err := os.WriteFile(filepath.Join(root, "config.yaml"), []byte("kanban:\n  max_in_progress_per_profile: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	held, err := dispatch.TakeSlot(root, dispatch.ProfileScope("alice"), 1, "t_elsewhere", 1)
	if err != nil {
		t.Fatal(err)
	}
	id := h.create("wants alice")
	out := h.must("dispatch", "--max-workers", "2", "--json")
	want := `"skipped_per_profile_capped": [
    {
      "task_id": "` + id + `",
      "assignee": "alice",
      "current": 1
    }
  ]`
	if !strings.Contains(out, want) || !strings.Contains(out, `"spawned": [],`) {
		t.Fatalf("tick:\n%s", out)
	}
	task := h.task(id)
	if task.Status != "ready" || task.ConsecutiveFailures != 0 || task.ClaimLock != nil {
		t.Fatalf("status %s failures %d lock %v: want ready, no failure, no claim", task.Status, task.ConsecutiveFailures, task.ClaimLock)
	}
	runs := h.runs(id)
	if len(runs) != 1 || store.Str(runs[0].Outcome) != "reclaimed" || store.Str(runs[0].Error) != "no free worker slot in profile-alice (cap 1)" {
		t.Fatalf("runs %+v", runs)
	}
	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	h.must("dispatch", "--max-workers", "2")
	waitFor(t, 10*time.Second, "task done once the slot is free", func() bool { return h.task(id).Status == "done" })
}
