package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/sqlx"
)

// daemonLog is a `kanban daemon` (startDaemon) and the stderr lines it
// has written; stop ends it (SIGTERM) and waits for it, once.
type daemonLog struct {
	mu    sync.Mutex
	lines []string
	stop  func()
}

// startDaemon runs `kanban daemon --interval 0.2` on b's home with extra
// environment; the test's cleanup stops it.
func startDaemon(t *testing.T, b *testBoard, env ...string) *daemonLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := b.command(ctx, env, "daemon", "--interval", "0.2")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
		}
	}()
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-done
			_ = cmd.Wait()
			cancel()
		})
	}
	t.Cleanup(d.stop)
	return d
}

// matching returns the lines matching re so far.
func (d *daemonLog) matching(re *regexp.Regexp) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, l := range d.lines {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

var snapLine = regexp.MustCompile(`^\[\d{4}-\d\d-\d\d \d\d:\d\d\] board (default|side): snapshot taken: (\S+) \([0-9.]+ MiB, \d+ tasks, integrity_check ok, [0-9.]+m?s\); \d+ kept, \d+ pruned$`)

// The daemon snapshots every board on schedule, right after a passing
// health check (every 0.3 s here), but only once the newest snapshot is
// older than kanban.snapshot_interval_seconds (1 s here); each snapshot
// is one log line; every board keeps kanban.snapshot_keep (2) of them;
// a task created while it runs is in the later snapshots. An interval of
// 0 takes none.
func TestDaemon_snapshotsOnSchedule(t *testing.T) {
	b := newTestBoard(t, "wal")
	b.mustRun(t, "boards", "create", "side")
	b.mustRun(t, "create", "before the daemon")
	b.mustRun(t, "--board", "side", "create", "side task")
	if err := os.WriteFile(filepath.Join(b.home, "config.yaml"), []byte("kanban:\n  snapshot_keep: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{
		"default": filepath.Join(b.home, "kanban", "boards", "default", "snapshots"),
		"side":    filepath.Join(b.home, "kanban", "boards", "side", "snapshots"),
	}
	start := time.Now()
	d := startDaemon(t, b, "HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS=0.3", "HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS=1")
	waitLines := func(board string, n int) {
		t.Helper()
		re := regexp.MustCompile(`\] board ` + board + `: snapshot taken: `)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if len(d.matching(re)) >= n {
				return
			}
		}
		t.Fatalf("fewer than %d snapshots of %s in 30 s; log:\n%s", n, board, strings.Join(d.matching(regexp.MustCompile(".")), "\n"))
	}
	waitLines("default", 1)
	b.mustRun(t, "create", "while the daemon runs")
	waitLines("default", 4)
	waitLines("side", 4)
	d.stop()
	elapsed := time.Since(start)

	taken := d.matching(snapLine)
	for name, dir := range dirs {
		var mine []string
		for _, l := range taken {
			if m := snapLine.FindStringSubmatch(l); m[1] == name {
				mine = append(mine, m[2])
			}
		}
		// On schedule: at most one per interval (plus the first).
		if max := int(elapsed/time.Second) + 1; len(mine) > max {
			t.Errorf("%s: %d snapshots in %v, more than one a second", name, len(mine), elapsed)
		}
		sets, err := board.Snapshot.List(dir, "kanban.db")
		if err != nil || len(sets) != 2 {
			t.Fatalf("%s: %d snapshots kept (want 2): %v", name, len(sets), err)
		}
		newest := sets[len(sets)-1].Path
		if newest != mine[len(mine)-1] {
			t.Errorf("%s: newest kept %s, last logged %s", name, newest, mine[len(mine)-1])
		}
		for _, s := range sets {
			c := openReadOnly(t, s.Path)
			rows, err := sqlx.QueryStrings(c, "PRAGMA integrity_check")
			if err != nil || len(rows) != 1 || rows[0] != "ok" {
				t.Errorf("%s: integrity_check = %q, %v", s.Path, rows, err)
			}
		}
		if name == "default" {
			n, _, err := sqlx.QueryInt(openReadOnly(t, newest), "SELECT count(*) FROM tasks WHERE title = 'while the daemon runs'")
			if err != nil || n != 1 {
				t.Errorf("the newest snapshot lacks the task created while the daemon ran: %d, %v", n, err)
			}
		}
	}
	if other := d.matching(regexp.MustCompile(`snapshot`)); len(other) != len(taken) {
		t.Errorf("snapshot lines that are not one-line reports of a snapshot taken: %q", other)
	}

	// 0 turns the daemon's snapshots off.
	before, _ := os.ReadDir(dirs["default"])
	d = startDaemon(t, b, "HERMES_KANBAN_HEALTH_CHECK_INTERVAL_SECONDS=0.3", "HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS=0")
	time.Sleep(2 * time.Second)
	d.stop()
	after, _ := os.ReadDir(dirs["default"])
	if got := d.matching(regexp.MustCompile(`snapshot`)); len(got) > 0 || len(after) != len(before) {
		t.Errorf("interval 0: %q, %d -> %d files", got, len(before), len(after))
	}
}

// An unusable snapshot interval stops the daemon before it starts: a
// usage error, exit 2, one line.
func TestDaemon_badSnapshotInterval(t *testing.T) {
	b := newTestBoard(t, "wal")
	r, err := b.run(context.Background(), []string{"HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS=soon"}, "daemon", "--interval", "0.2")
	if err != nil || r.code != 2 || !strings.Contains(r.stderr, "HERMES_KANBAN_SNAPSHOT_INTERVAL_SECONDS=soon") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%+v (err %v)", r, err)
	}
}
