package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in   string
		want Stat
		ok   bool
	}{
		{"42 (sleep) S 1 42 42 0 -1", Stat{State: 'S', PPID: 1, PGRP: 42}, true},
		// the command name may hold spaces and parentheses
		{"7 (a) b (c)) Z 3 9 9 0", Stat{State: 'Z', PPID: 3, PGRP: 9}, true},
		{"7 (x) S 3", Stat{}, false},
		{"7 x S 3 9", Stat{}, false},
		{"7 (x) SS 3 9", Stat{}, false},
		{"7 (x) S p 9", Stat{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat([]byte(tt.in))
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseStat(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseSupervisorArgs(t *testing.T) {
	tests := []struct {
		argv []string
		ok   bool
		want Supervised
	}{
		{[]string{"/bin/kanban", "supervise", "--task", "t_1", "--run", "4", "--grace", "2.5", "--", "hermes", "--task", "x"}, true,
			Supervised{Task: "t_1", Run: 4, Grace: 2500 * time.Millisecond}},
		{[]string{"/bin/hermes", "kanban", "supervise", "--task=t_2", "--run=9", "--", "w"}, true, Supervised{Task: "t_2", Run: 9, Grace: -1}},
		{[]string{"/bin/kanban", "list", "--task", "t_1", "--run", "4"}, false, Supervised{}},
		{[]string{"/bin/kanban", "supervise", "--task", "t_1"}, false, Supervised{}},
		{[]string{"hermes", "--", "supervise", "--task", "t_1", "--run", "3"}, false, Supervised{}},
		{nil, false, Supervised{}},
	}
	for _, tc := range tests {
		got, ok := ParseSupervisorArgs(tc.argv)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%v: got %+v %v, want %+v %v", tc.argv, got, ok, tc.want, tc.ok)
		}
	}
}

// A zombie (exited, not yet reaped) is not alive but still exists; once
// reaped it is neither.
func TestAlive_zombie(t *testing.T) {
	if _, ok := ReadStat(os.Getpid()); !ok {
		t.Skip("no /proc/<pid>/stat")
	}
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("child never became a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !Exists(pid) {
		t.Error("an unreaped zombie does not exist")
	}
	if st, ok := ReadStat(pid); !ok || !st.Zombie() || st.PPID != os.Getpid() {
		t.Errorf("zombie stat = %+v, %v", st, ok)
	}
	_ = cmd.Wait()
	if Alive(pid) || Exists(pid) {
		t.Error("a reaped child still shows")
	}
	if Alive(0) || Alive(-1) {
		t.Error("pid <= 0 is alive")
	}
}

// Children and GroupAlive see a process group's members; the group is
// gone once its members are.
func TestGroupAndChildren(t *testing.T) {
	if _, ok := ReadStat(os.Getpid()); !ok {
		t.Skip("no /proc/<pid>/stat")
	}
	cmd, child := startGroup(t, `sleep 30 & echo $!; wait`)
	leader := cmd.Process.Pid
	if kids := Children(leader); len(kids) != 1 || kids[0] != child {
		t.Errorf("Children(%d) = %v, want [%d]", leader, kids, child)
	}
	if !GroupAlive(leader) {
		t.Error("live group not alive")
	}
	_ = syscall.Kill(-leader, syscall.SIGKILL)
	_ = cmd.Wait()
	if !WaitExit(context.Background(), child, 2*time.Second) {
		t.Fatal("grandchild survived SIGKILL of its group")
	}
	if GroupAlive(leader) {
		t.Error("dead group alive")
	}
}

// startGroup starts sh -c script as the leader of a new process group;
// the script prints the pid of the child it starts first.
func startGroup(t *testing.T, script string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SignalGroup(cmd.Process.Pid, syscall.SIGKILL) })
	var child int
	if _, err := fmt.Fscan(out, &child); err != nil {
		t.Fatal(err)
	}
	return cmd, child
}

// A worker upstream started (no supervisor) and that ignores SIGTERM is
// stopped upstream's way with the configured grace: SIGTERM, the grace,
// then SIGKILL of its process group (it leads one, as upstream's
// start_new_session workers do), so its children go too. Never before
// the grace.
func TestTerminator_workerIgnoringSIGTERM(t *testing.T) {
	cmd, child := startGroup(t, `trap "" TERM; sleep 30 & echo $!; wait`)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	start := time.Now()
	got := Terminator{Grace: 300 * time.Millisecond}.Stop(context.Background(), cmd.Process.Pid)
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Fatalf("SIGKILL after %v, before the grace", elapsed)
	}
	if !got.Done || !got.SIGKILL {
		t.Fatalf("Stop = %+v", got)
	}
	<-done
	if !WaitExit(context.Background(), child, 2*time.Second) {
		t.Error("the worker's child outlived its group's SIGKILL")
	}
}

// KillByEnv kills exactly the processes whose environment names every
// variable asked for.
func TestKillByEnv(t *testing.T) {
	if _, ok := ReadStat(os.Getpid()); !ok {
		t.Skip("no /proc")
	}
	start := func(env ...string) *exec.Cmd {
		cmd := exec.Command("sleep", "30")
		cmd.Env = append(os.Environ(), env...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	tag := fmt.Sprintf("PROC_TEST_TAG=%d", os.Getpid())
	both := start(tag, "PROC_TEST_RUN=7")
	other := start(tag, "PROC_TEST_RUN=70")
	if n := KillByEnv(tag, "PROC_TEST_RUN=7"); n != 1 {
		t.Errorf("KillByEnv killed %d, want 1", n)
	}
	if err := both.Wait(); err == nil {
		t.Error("the matching process was not killed")
	}
	if !Alive(other.Process.Pid) {
		t.Error("a process with another run id was killed")
	}
	third := start(tag, "PROC_TEST_RUN=8")
	if n := KillByEnvAny([][]string{{tag, "PROC_TEST_RUN=9"}, {tag, "PROC_TEST_RUN=70"}, {tag, "PROC_TEST_RUN=8"}}); !reflect.DeepEqual(n, []int{0, 1, 1}) {
		t.Errorf("KillByEnvAny killed %v, want [0 1 1]", n)
	}
	if other.Wait() == nil || third.Wait() == nil {
		t.Error("a process matching one of the sets was not killed")
	}
}
