package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/pypeer"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

func TestReadAcks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cli1.log", "create\tdefault\tt_1\tmk-cli1-1\ncomment\tdefault\tt_1\tmk-cli1-2\n")
	// The writer died inside its last write: that line is no promise.
	write("py1r0.log", "create\tm1\tt_2\tmk-py1r0-1\ncomment\tm1\tt_2\tmk-py1r0-")
	write("notes.txt", "ignored")
	acks, err := readAcks(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range acks {
		got = append(got, strings.Join([]string{a.writer, a.kind, a.board, a.task, a.marker}, " "))
	}
	want := []string{"cli1 create default t_1 mk-cli1-1", "cli1 comment default t_1 mk-cli1-2", "py1r0 create m1 t_2 mk-py1r0-1"}
	if !slices.Equal(got, want) {
		t.Fatalf("acks = %q, want %q", got, want)
	}
	write("bad.log", "create\tdefault\n")
	if _, err := readAcks(dir); err == nil || !strings.Contains(err.Error(), "bad.log line 1") {
		t.Fatalf("malformed line: err = %v", err)
	}
}

func TestWriterType(t *testing.T) {
	for in, want := range map[string]string{"cli2": "cli", "py1r3": "python", "pyxr0": "python", "worker1234": "worker", "fixture": "fixture"} {
		if got := writerType(in); got != want {
			t.Errorf("writerType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHeaderMode(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, pragmas ...string) string {
		p := filepath.Join(dir, name)
		c, err := sqlite3.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range append(pragmas, "CREATE TABLE t(x)") {
			if err := c.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := headerMode(mk("w.db", "PRAGMA journal_mode=WAL")); got != "wal" {
		t.Errorf("WAL file: %q", got)
	}
	if got := headerMode(mk("d.db")); got != "delete" {
		t.Errorf("rollback-journal file: %q", got)
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a database at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, filepath.Join(dir, "missing")} {
		if got := headerMode(p); got != "" {
			t.Errorf("headerMode(%s) = %q", p, got)
		}
	}
}

func TestCounts(t *testing.T) {
	c := counts{}
	c.add("writer", "in_txn", 2)
	c.add("writer", "random", 1)
	c.add("python", "in_txn", 4)
	if c.total() != 7 || c.byFirst()["writer"] != 3 || c.bySecond()["in_txn"] != 6 {
		t.Fatalf("counts %v: total %d, by first %v, by second %v", c, c.total(), c.byFirst(), c.bySecond())
	}
	if got := fmtTally(c); got != "python(in_txn=4) writer(in_txn=2 random=1)" {
		t.Fatalf("fmtTally = %q", got)
	}
}

func TestPlan(t *testing.T) {
	k := &kcell{rnd: newLockedRand(1, 9), overhead: k9DefaultOver}
	p, ok := k.plan(24 * time.Second)
	if !ok || !p.migrate || p.swap || p.burst != k9MinBurst+500*time.Millisecond {
		t.Fatalf("first round of 24 s: %+v %v", p, ok)
	}
	k.roundNo = 1
	p, ok = k.plan(2 * time.Second)
	if !ok || !p.swap || !p.damage || p.migrate || p.burst != k9MinBurst {
		t.Fatalf("second round always runs, swaps and damages a board, with the shortest burst: %+v %v", p, ok)
	}
	k.roundNo = 2
	if p, ok = k.plan(5 * time.Second); ok {
		t.Fatalf("a later round with 5 s left: %+v", p)
	}
	if p, ok = k.plan(10 * time.Minute); !ok || p.burst != k9MaxBurst {
		t.Fatalf("a later round with time to spare: %+v %v", p, ok)
	}
}

// TestRegistryCountsOnlyKillsThatLanded: a kill counts only when the
// process died of it, never when the harness stopped it or it had exited.
func TestRegistryCountsOnlyKillsThatLanded(t *testing.T) {
	tl := newTally()
	r := newRegistry(tl)
	start := func(args ...string) *proc {
		p, err := r.start(procSpec{target: "t", bin: args[0], args: args[1:]})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	sleeper := start("sleep", "30")
	if !sleeper.kill(phInTxn) || sleeper.wait() {
		t.Fatal("the kill did not end the sleeper")
	}
	if phase, signaled := sleeper.killedBy(); phase != phInTxn || !signaled {
		t.Fatalf("killedBy = %q, %v", phase, signaled)
	}
	done := start("true")
	if !done.wait() || done.kill(phRandom) {
		t.Fatal("a process that had exited was killed")
	}
	stopped := start("sleep", "30")
	stopped.stop(syscall.SIGTERM, 5*time.Second)
	if got := tl.kills.total(); got != 1 || tl.kills["t"][phInTxn] != 1 {
		t.Fatalf("kills = %v, want one t/in_txn", tl.kills)
	}
	if len(r.list("t")) != 0 {
		t.Fatalf("processes left registered: %d", len(r.list("t")))
	}
}

// TestPeerAcksMatchTheBoard runs the Python writer on a real board for a
// moment: every line it logged is on the board, and a row taken away
// afterwards is reported missing.
func TestPeerAcksMatchTheBoard(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "kanban.db")
	st, err := store.Open(context.Background(), db, store.Options{Board: "default",
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{Python: "test", Version: "3.51.3"} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"peer.py": pypeer.Script(), "torture_peer.py": peerScript} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	acksDir := filepath.Join(dir, "acks")
	if err := os.Mkdir(acksDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, filepath.Join(dir, "torture_peer.py"), db, "default", "py1r0", filepath.Join(acksDir, "py1r0.log"), "ttl=2")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("peer: %v: %s", err, out)
	}
	acks, err := readAcks(acksDir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, a := range acks {
		kinds[a.kind]++
	}
	for _, k := range []string{ackCreate, ackComment, ackClaim, ackHeartbeat, ackComplete} {
		if kinds[k] == 0 {
			t.Fatalf("no %s acknowledged in 1.5 s: %v (%s)", k, kinds, out)
		}
	}
	facts, integrity, err := readBoard(db)
	if err != nil || integrity != "ok" {
		t.Fatalf("read board: %v, integrity %q", err, integrity)
	}
	if missing := missingAcks(facts, acks, "default"); len(missing) > 0 {
		t.Fatalf("acknowledged but missing: %q", missing)
	}
	var comment ack
	for _, a := range acks {
		if a.kind == ackComment {
			comment = a
			break
		}
	}
	c, err := sqlite3.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlx.Exec(c, "DELETE FROM task_comments WHERE body = ?", comment.marker); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	facts, _, err = readBoard(db)
	if err != nil {
		t.Fatal(err)
	}
	missing := missingAcks(facts, acks, "default")
	if len(missing) != 1 || !strings.Contains(missing[0], comment.marker) {
		t.Fatalf("after deleting comment %s: missing = %q", comment.marker, missing)
	}
	if got := missingAcks(facts, acks, "other"); len(got) != 0 {
		t.Fatalf("acks of another board checked: %q", got)
	}
}

// TestShares: the budget follows the weights, except that upstream
// #31618's workload gets its 20 s floor in a short (CI) run.
func TestShares(t *testing.T) {
	for _, c := range []struct {
		total time.Duration
		names []string
		want  []time.Duration
	}{
		{60 * time.Second, []string{"dispatch-31618", "kill9"}, []time.Duration{20 * time.Second, 40 * time.Second}},
		{10 * time.Minute, []string{"dispatch-31618", "kill9"}, []time.Duration{2 * time.Minute, 8 * time.Minute}},
		{30 * time.Second, []string{"dispatch-31618", "kill9"}, []time.Duration{6 * time.Second, 24 * time.Second}},
		{60 * time.Second, []string{"kill9"}, []time.Duration{60 * time.Second}},
		{10 * time.Second, []string{"dispatch-31618"}, []time.Duration{10 * time.Second}},
	} {
		var sel []scenario
		for _, sc := range scenarios {
			if slices.Contains(c.names, sc.name) {
				sel = append(sel, sc)
			}
		}
		if got := shares(c.total, sel); !slices.Equal(got, c.want) {
			t.Errorf("shares(%v, %v) = %v, want %v", c.total, c.names, got, c.want)
		}
	}
}

// detector names the command that recorded a damage marker, skipping the
// options before the verb.
func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"/x/bin/kanban", "--board", "d1", "comment", "t_1", "mk-cli1-3"}, "kanban comment"},
		{[]string{"/x/bin/kanban", "daemon", "--interval", "0.3", "-v"}, "kanban daemon"},
		{[]string{"/x/bin/kanban-migrate", "--board", "d1", "apply", "--json"}, "kanban-migrate apply"},
		{[]string{"/x/bin/kanban-recover", "--db", "/x/home/kanban/boards/d1/kanban.db", "check", "--json"}, "kanban-recover check"},
		{[]string{"/x/bin/kanban"}, "unknown"},
	} {
		if got := detector(&board.Damage{Command: tc.argv}); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.argv, got, tc.want)
		}
	}
}
