package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// The health check interval: env over config over 900 s; 0 turns it off;
// negative or non-numeric values are setting errors (usage, exit 2), and
// config.yaml's Validate rejects a negative key too.
func TestHealthCheckInterval(t *testing.T) {
	cfg := configOf(t, "kanban:\n  health_check_interval_seconds: 60\n")
	for _, tc := range []struct {
		name string
		env  string
		cfg  home.Config
		want time.Duration
		bad  bool
	}{
		{name: "default", cfg: home.DefaultConfig(), want: 900 * time.Second},
		{name: "config", cfg: cfg, want: time.Minute},
		{name: "env over config", env: "2.5", cfg: cfg, want: 2500 * time.Millisecond},
		{name: "off", env: "0", cfg: cfg, want: 0},
		{name: "negative env", env: "-1", cfg: cfg, bad: true},
		{name: "text env", env: "often", cfg: cfg, bad: true},
		{name: "negative config", cfg: configOf(t, "kanban:\n  health_check_interval_seconds: -5\n"), bad: true},
		{name: "text config", cfg: configOf(t, "kanban:\n  health_check_interval_seconds: hourly\n"), bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envOf(map[string]string{dispatch.EnvHealthCheckInterval: tc.env})
			got, err := dispatch.HealthCheckInterval(env, tc.cfg)
			if tc.bad {
				if !errors.Is(err, dispatch.ErrSetting) {
					t.Fatalf("got %v, %v; want ErrSetting", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			s, err := dispatch.ResolveSettings(env, tc.cfg, dispatch.Overrides{})
			if err != nil || s.HealthEvery != tc.want {
				t.Fatalf("ResolveSettings: %v, %v", s.HealthEvery, err)
			}
		})
	}
	if err := configOf(t, "kanban:\n  health_check_interval_seconds: -5\n").Validate(); !errors.Is(err, home.ErrConfigValue) {
		t.Errorf("Validate: %v", err)
	}
}

// daemonRun is a Daemon on two boards whose ticks and health checks are
// stubs: it records what ran, for the health-check schedule.
type daemonRun struct {
	mu      sync.Mutex
	checks  map[string]int
	healthy map[string]int
	ticks   map[string]int
	log     bytes.Buffer
}

func (r *daemonRun) count(m map[string]int, slug string) {
	r.mu.Lock()
	m[slug]++
	r.mu.Unlock()
}

// The daemon checks every board at start and then every HealthEvery,
// between ticks, and calls AfterHealthy after each pass. A board that
// fails its check is marked (here by the stub, as the store does), named
// in one log line with its repair command, and from then on neither
// checked nor ticked; the other board goes on. A board marked before
// the daemon starts is skipped with one line.
func TestDaemon_healthChecks(t *testing.T) {
	dir := t.TempDir()
	boards := []dispatch.Board{
		{Slug: "good", DB: filepath.Join(dir, "good.db")},
		{Slug: "bad", DB: filepath.Join(dir, "bad.db"), Fix: "kanban-recover auto --board bad"},
		{Slug: "marked", DB: filepath.Join(dir, "marked.db")},
	}
	if _, _, err := board.RecordDamage(boards[2].DB, board.Damage{Seen: "earlier"}); err != nil {
		t.Fatal(err)
	}
	r := &daemonRun{checks: map[string]int{}, healthy: map[string]int{}, ticks: map[string]int{}}
	dm := &dispatch.Daemon{
		Boards: func() []dispatch.Board { return boards },
		Settings: func() (dispatch.Settings, error) {
			return dispatch.Settings{Interval: 40 * time.Millisecond, HealthEvery: 150 * time.Millisecond}, nil
		},
		Open: func(ctx context.Context, b dispatch.Board, s dispatch.Settings) (*store.Store, error) {
			r.count(r.ticks, b.Slug)
			return nil, errors.New("stub: no tick")
		},
		Health: func(ctx context.Context, b dispatch.Board) error {
			r.count(r.checks, b.Slug)
			if b.Slug == "bad" && r.checks["bad"] == 2 {
				snap := "/q/set"
				if _, _, err := board.RecordDamage(b.DB, board.Damage{Seen: "quick_check: page 4", Snapshot: snap}); err != nil {
					return err
				}
				return &store.CorruptError{Path: b.DB, Reason: "quick_check: page 4", Snapshot: snap, Board: b.Slug}
			}
			return nil
		},
		AfterHealthy: func(ctx context.Context, b dispatch.Board) { r.count(r.healthy, b.Slug) },
		Out:          &bytes.Buffer{}, Err: &syncWriter{w: &r.log, mu: &r.mu},
		Now: func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := dm.Run(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.checks["good"]; n < 3 || n > 6 {
		t.Errorf("good board checked %d times in 700 ms at 150 ms, want 3-6 (at start and every interval)", n)
	}
	if r.healthy["good"] != r.checks["good"] {
		t.Errorf("AfterHealthy ran %d times for %d passing checks", r.healthy["good"], r.checks["good"])
	}
	if r.checks["bad"] != 2 || r.healthy["bad"] != 1 {
		t.Errorf("bad board: %d checks, %d passes; want 2 checks (the second failed), 1 pass", r.checks["bad"], r.healthy["bad"])
	}
	if r.checks["marked"] != 0 || r.ticks["marked"] != 0 {
		t.Errorf("the marked board was checked %d and ticked %d times", r.checks["marked"], r.ticks["marked"])
	}
	if r.ticks["good"] < 8 {
		t.Errorf("good board ticked %d times, want ticks to go on", r.ticks["good"])
	}
	badTicks := r.ticks["bad"]
	log := r.log.String()
	for _, want := range []string{
		"[2026-12-01 09:00] board bad failed its health check (quick_check: page 4); not dispatching it until it is repaired (forensic copy: /q/set). To repair it run: kanban-recover auto --board bad\n",
		"[2026-12-01 09:00] not dispatching: board " + boards[2].DB + " is marked damaged (seen ",
	} {
		if strings.Count(log, want) != 1 {
			t.Errorf("log has %d of %q:\n%s", strings.Count(log, want), want, log)
		}
	}
	var damageLines []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "damaged") || strings.Contains(l, "health") {
			damageLines = append(damageLines, l)
		}
	}
	if len(damageLines) != 2 {
		t.Errorf("want one line per damaged board, got:\n%s", strings.Join(damageLines, "\n"))
	}
	// Ticks of the bad board stopped once it was marked: at most the
	// rounds before the second check (150 ms / 40 ms, plus the first).
	if badTicks > 6 {
		t.Errorf("bad board ticked %d times; ticks should stop once it is marked", badTicks)
	}
}

// The marker gone (repaired), the daemon says so once and ticks the board
// again.
func TestDaemon_resumesAfterRepair(t *testing.T) {
	db := filepath.Join(t.TempDir(), "b.db")
	if _, _, err := board.RecordDamage(db, board.Damage{Seen: "x"}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log bytes.Buffer
	ticks := 0
	dm := &dispatch.Daemon{
		Boards: func() []dispatch.Board { return []dispatch.Board{{Slug: "b", DB: db}} },
		Settings: func() (dispatch.Settings, error) {
			return dispatch.Settings{Interval: 20 * time.Millisecond}, nil
		},
		Open: func(ctx context.Context, b dispatch.Board, s dispatch.Settings) (*store.Store, error) {
			mu.Lock()
			ticks++
			mu.Unlock()
			return nil, errors.New("stub")
		},
		Out: &bytes.Buffer{}, Err: &syncWriter{w: &log, mu: &mu},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = board.ClearDamage(db)
	}()
	if err := dm.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ticks == 0 || strings.Count(log.String(), "is marked damaged") != 1 ||
		strings.Count(log.String(), "board b is no longer marked damaged; dispatching it again") != 1 {
		t.Errorf("%d ticks; log:\n%s", ticks, log.String())
	}
}

// syncWriter serialises writes from the daemon with the test's reads.
type syncWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
