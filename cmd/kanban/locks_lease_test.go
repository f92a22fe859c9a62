package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
)

// locksJSON is the part of `kanban locks --json` the test reads.
type locksJSON struct {
	Board string `json:"board"`
	DB    string `json:"db"`
	Lease struct {
		Held   bool  `json:"held"`
		PIDs   []int `json:"pids"`
		Holder *struct {
			PID  int      `json:"pid"`
			Argv []string `json:"argv"`
			Op   string   `json:"op"`
		} `json:"holder"`
		HeldSeconds *float64 `json:"held_seconds"`
	} `json:"lease"`
	Maintenance bool `json:"maintenance"`
	Open        []struct {
		PID int `json:"pid"`
	} `json:"open"`
	Others []struct {
		PID   int      `json:"pid"`
		Files []string `json:"files"`
	} `json:"other_openers"`
	Init     namedJSON `json:"init_lock"`
	Dispatch namedJSON `json:"dispatch_lock"`
	Slots    []struct {
		Scope string `json:"scope"`
		Index int    `json:"index"`
		PID   int    `json:"pid"`
		Task  string `json:"task"`
	} `json:"worker_slots"`
}

type namedJSON struct {
	Held bool  `json:"held"`
	PIDs []int `json:"pids"`
}

// `kanban locks` shows every holder while they hold: a writer inside its
// transaction (lease and open guard), a Python process with the database
// open (from /proc), upstream's init lock, and a worker slot. It takes no
// lock itself, so it answers while the writer is stuck.
func TestLocks_showsHolders(t *testing.T) {
	b := newTestBoard(t, "wal")
	if _, err := proc.FlockHolders(os.DevNull); err != nil {
		t.Skipf("no /proc/locks: %v", err)
	}
	id := b.createTask(t, "contended")
	writer := b.startPaused(t, "comment", "comment", id, "stuck")
	py := startPythonOpener(t, b.db)
	il, err := lockd.LockInit(context.Background(), b.db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer il.Close()
	slot, err := dispatch.TakeSlot(b.home, dispatch.GlobalScope, 2, "t_5107", 7)
	if err != nil {
		t.Fatal(err)
	}
	defer slot.Release()

	r, err := b.run(context.Background(), []string{"HERMES_KANBAN_LEASE_TIMEOUT_SECONDS=0.1"}, "locks", "--json")
	if err != nil || r.code != 0 || r.stderr != "" {
		t.Fatalf("%v (err %v)", r, err)
	}
	var got locksJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("locks --json: %v\n%s", err, r.stdout)
	}
	me := os.Getpid()
	if got.Board != "default" || got.DB != b.db {
		t.Errorf("board %q db %q", got.Board, got.DB)
	}
	if !got.Lease.Held || !slices.Equal(got.Lease.PIDs, []int{writer.pid()}) || got.Lease.Holder == nil ||
		got.Lease.Holder.PID != writer.pid() || got.Lease.Holder.Op != "comment "+id || got.Lease.HeldSeconds == nil || got.Maintenance {
		t.Errorf("lease = %+v holder %+v, want held by the paused writer %d", got.Lease, got.Lease.Holder, writer.pid())
	}
	if len(got.Open) != 1 || got.Open[0].PID != writer.pid() {
		t.Errorf("open = %+v, want only the writer %d", got.Open, writer.pid())
	}
	if len(got.Others) != 1 || got.Others[0].PID != py.Process.Pid || !slices.Contains(got.Others[0].Files, b.db) {
		t.Errorf("other openers = %+v, want python %d with %s", got.Others, py.Process.Pid, b.db)
	}
	if !got.Init.Held || !slices.Equal(got.Init.PIDs, []int{me}) || got.Dispatch.Held {
		t.Errorf("init %+v dispatch %+v, want init held by %d", got.Init, got.Dispatch, me)
	}
	if len(got.Slots) != 1 || got.Slots[0].Scope != "global" || got.Slots[0].PID != me || got.Slots[0].Task != "t_5107" {
		t.Errorf("slots = %+v, want global/0 held by %d for t_5107", got.Slots, me)
	}

	text := b.mustRun(t, "locks")
	for _, re := range []string{
		`(?m)^Write lease: +held by pid ` + strconv.Itoa(writer.pid()) + ` \(kanban comment ` + id + ` stuck\) for \d+s$`,
		`(?m)^Open \(others\): +1 process\n  pid ` + strconv.Itoa(py.Process.Pid) + ` +python3? -c import sqlite3, sys, time c = .*…  \[kanban\.db, kanban\.db-wal, kanban\.db-shm\]$`,
		`(?m)^Init lock: +held by pid ` + strconv.Itoa(me) + ` \(`,
		`(?m)^Worker slots: +1 in use\n  global/0 +pid ` + strconv.Itoa(me) + ` +t_5107 \(run 7\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("locks output does not match %s:\n%s", re, text)
		}
	}
}

// startPythonOpener starts a Python process that opens the database with
// sqlite3, reads it, and keeps it open until the test ends.
func startPythonOpener(t *testing.T, db string) *exec.Cmd {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	script := "import sqlite3, sys, time\n" +
		"c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM tasks').fetchone()\n" +
		"print('open', flush=True); sys.stdin.read()\n"
	cmd := exec.Command(py, "-c", script, db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "open" {
		t.Fatalf("python opener said %q (%v)", line, err)
	}
	return cmd
}

// Without /proc nothing can be shown; with it, a board that does not
// exist yet is reported as such and not created.
func TestLocks_noBoard(t *testing.T) {
	b := newTestBoard(t, "wal")
	b.env = append(b.env, "HERMES_KANBAN_DB="+filepath.Join(t.TempDir(), "elsewhere.db"))
	out := b.mustRun(t, "locks")
	if !strings.Contains(out, "elsewhere.db (no database yet)") {
		t.Errorf("locks on a missing board:\n%s", out)
	}
}
