package dispatch_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/internal/py"
	"github.com/kanbanshim/kanbanshim/shim/dispatch"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func configOf(t *testing.T, yaml string) home.Config {
	t.Helper()
	c, err := home.ParseConfig(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

func TestResolveSettings_Precedence(t *testing.T) {
	cfg := configOf(t, "kanban:\n  max_concurrent_workers: 3\n  reclaim_grace_seconds: 12\n  failure_limit: 4\n  max_spawn: 5\n  dispatch_interval_seconds: 0.2\n")
	tests := []struct {
		name        string
		env         map[string]string
		over        dispatch.Overrides
		workers     int
		grace       time.Duration
		limit       int64
		maxSpawn    int64
		interval    time.Duration
		wantSetting bool
	}{
		{name: "config", workers: 3, grace: 12 * time.Second, limit: 4, maxSpawn: 5, interval: time.Second},
		{name: "env over config", env: map[string]string{dispatch.EnvMaxWorkers: "6", dispatch.EnvReclaimGrace: "1.5"},
			workers: 6, grace: 1500 * time.Millisecond, limit: 4, maxSpawn: 5, interval: time.Second},
		{name: "flags over env", env: map[string]string{dispatch.EnvMaxWorkers: "6"},
			over:    dispatch.Overrides{MaxWorkers: ptr(int64(2)), FailureLimit: ptr(int64(1)), MaxSpawn: ptr(int64(0)), Interval: ptr(0.01)},
			workers: 2, grace: 12 * time.Second, limit: 1, maxSpawn: 0, interval: 100 * time.Millisecond},
		{name: "bad env workers", env: map[string]string{dispatch.EnvMaxWorkers: "0"}, wantSetting: true},
		{name: "bad env grace", env: map[string]string{dispatch.EnvReclaimGrace: "-1"}, wantSetting: true},
		{name: "bad flag workers", over: dispatch.Overrides{MaxWorkers: ptr(int64(0))}, wantSetting: true},
		{name: "bad failure limit", over: dispatch.Overrides{FailureLimit: ptr(int64(0))}, wantSetting: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := dispatch.ResolveSettings(envOf(tc.env), cfg, tc.over)
			if tc.wantSetting {
				if !errors.Is(err, dispatch.ErrSetting) {
					t.Fatalf("err %v, want ErrSetting", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []any{s.MaxWorkers, s.ReclaimGrace, s.FailureLimit, *s.MaxSpawn, s.Interval}
			want := []any{tc.workers, tc.grace, tc.limit, tc.maxSpawn, tc.interval}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveSettings_Defaults(t *testing.T) {
	s, err := dispatch.ResolveSettings(envOf(nil), home.DefaultConfig(), dispatch.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if s.ReclaimGrace != 30*time.Second || s.FailureLimit != 2 || s.ClaimTTL != 900 || s.CrashGrace != 30 ||
		s.Interval != 60*time.Second || s.MaxSpawn != nil || !s.ReconcileOrphans || !s.ReviewDispatch {
		t.Fatalf("defaults: %+v", s)
	}
	derived, ok := dispatch.DerivedCap()
	if !ok || derived < 2 || derived > 8 || int64(s.MaxWorkers) != derived || s.MaxInProgress == nil || *s.MaxInProgress != derived {
		t.Fatalf("derived cap %d (%v); max workers %d, max in progress %v", derived, ok, s.MaxWorkers, s.MaxInProgress)
	}
}

// Slots are real flocks: a second taker sees the first held, a release
// frees it, and SlotsInUse names the holder.
func TestSlots_TakeAndList(t *testing.T) {
	root := t.TempDir()
	a, err := dispatch.TakeSlot(root, dispatch.GlobalScope, 2, "t_aaaa0001", 7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := dispatch.TakeSlot(root, dispatch.GlobalScope, 2, "t_aaaa0002", 8)
	if err != nil {
		t.Fatal(err)
	}
	if a.Index != 0 || b.Index != 1 {
		t.Fatalf("indexes %d %d", a.Index, b.Index)
	}
	_, err = dispatch.TakeSlot(root, dispatch.GlobalScope, 2, "t_aaaa0003", 9)
	var busy *dispatch.SlotBusyError
	if !errors.As(err, &busy) || !errors.Is(err, dispatch.ErrNoSlot) || busy.Cap != 2 {
		t.Fatalf("third take: %v", err)
	}
	if n := dispatch.FreeSlots(root, dispatch.GlobalScope, 3); n != 1 {
		t.Fatalf("free slots %d, want 1 of 3", n)
	}
	p, err := dispatch.TakeSlot(root, dispatch.ProfileScope("Alice"), 1, "t_aaaa0001", 7)
	if err != nil {
		t.Fatal(err)
	}
	in, err := dispatch.SlotsInUse(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range in {
		if s.PID != os.Getpid() {
			t.Errorf("slot %+v: holder pid %d, want %d", s, s.PID, os.Getpid())
		}
		got = append(got, s.Scope+"/"+string(rune('0'+s.Index))+" "+s.Task)
	}
	want := []string{"global/0 t_aaaa0001", "global/1 t_aaaa0002", "profile-alice/0 t_aaaa0001"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("slots in use (-want +got):\n%s", diff)
	}
	for _, s := range []*dispatch.Slot{a, b, p} {
		if err := s.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if in, _ := dispatch.SlotsInUse(root); len(in) != 0 {
		t.Fatalf("after release: %+v", in)
	}
	if in, err := dispatch.SlotsInUse(filepath.Join(root, "nothing-here")); err != nil || in != nil {
		t.Fatalf("missing root: %v %v", in, err)
	}
}

func TestWorkerArgvAndEnv(t *testing.T) {
	model, provider, effort, run, lock := "m1", "p1", "high", int64(12), "host:99"
	maxRT, tenant := int64(600), "acme"
	task := &store.Task{ID: "t_abc", Skills: []string{"a", "b"}, ModelOverride: &model, ProviderOverride: &provider,
		ReasoningEffort: &effort, GoalMode: true, CurrentRunID: &run, ClaimLock: &lock, MaxRuntimeSeconds: &maxRT, Tenant: &tenant}
	argv := dispatch.WorkerArgv([]string{"/usr/bin/hermes"}, task, "alice", "sdlc-review", "a")
	want := []string{"/usr/bin/hermes", "-p", "alice", "--cli", "--accept-hooks", "--skills", "a", "--skills", "b", "--skills", "sdlc-review",
		"-m", "m1", "--provider", "p1", "--reasoning", "high", "chat", "-q", "work kanban task t_abc", "-Q"}
	if diff := cmp.Diff(want, argv); diff != "" {
		t.Fatalf("argv (-want +got):\n%s", diff)
	}
	dir := t.TempDir()
	envHome := home.Env{Getenv: envOf(map[string]string{"HERMES_HOME": dir}), UserHome: dir}
	if err := os.MkdirAll(filepath.Join(dir, "profiles", "alice"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := dispatch.Board{Slug: "default", DB: filepath.Join(dir, "kanban.db"), Paths: store.Paths{WorkspacesRoot: filepath.Join(dir, "ws")}}
	env := dispatch.WorkerEnv([]string{"PATH=/bin", "HERMES_TUI=1", "TERMINAL_TIMEOUT=900", "HERMES_DELEGATED_CHILD_CONTEXT=x"}, envHome, task, "alice", dir, b)
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	wantEnv := map[string]string{
		"PATH": "/bin", "HERMES_HOME": filepath.Join(dir, "profiles", "alice"), "HERMES_TENANT": "acme",
		"HERMES_KANBAN_TASK": "t_abc", "HERMES_KANBAN_WORKSPACE": dir, "HERMES_SESSION_SOURCE": "kanban", "TERMINAL_CWD": dir,
		"HERMES_KANBAN_RUN_ID": "12", "HERMES_KANBAN_CLAIM_LOCK": "host:99", "HERMES_KANBAN_GOAL_MODE": "1",
		"TERMINAL_TIMEOUT": "900", "TERMINAL_MAX_FOREGROUND_TIMEOUT": "570", "HERMES_KANBAN_DB": b.DB,
		"HERMES_KANBAN_WORKSPACES_ROOT": b.Paths.WorkspacesRoot, "HERMES_KANBAN_BOARD": "default", "HERMES_PROFILE": "alice",
	}
	if diff := cmp.Diff(wantEnv, got); diff != "" {
		t.Fatalf("env (-want +got):\n%s", diff)
	}
}

func TestRotateLog(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.log")
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(p, "0123456789")
	dispatch.RotateLog(p, 20, 2)
	if _, err := os.Stat(p); err != nil {
		t.Fatal("a small log was rotated")
	}
	write(p+".1", "old")
	dispatch.RotateLog(p, 5, 2)
	for name, want := range map[string]string{p + ".1": "0123456789", p + ".2": "old"} {
		if b, _ := os.ReadFile(name); string(b) != want {
			t.Errorf("%s = %q, want %q", name, b, want)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("log still present after rotation")
	}
}

func TestResult_TextAndJSON(t *testing.T) {
	r := dispatch.Result{Reclaimed: 1, Promoted: 2, Crashed: []string{"t_1", "t_2"}, AutoBlocked: []string{"t_2"},
		Spawned:                 []dispatch.Spawned{{TaskID: "t_3", Assignee: "alice", Workspace: "/w/t_3"}},
		SkippedUnassigned:       []string{"t_4"},
		AutoAssignedDefault:     []string{"t_5"},
		SkippedPerProfileCapped: []dispatch.Capped{{TaskID: "t_6", Assignee: "bob", Current: 2}},
		SkippedNonspawnable:     []string{"t_7"}}
	var b bytes.Buffer
	r.WriteText(&b, false, "alice")
	want := `Reclaimed:    1
Crashed:      2
  t_1, t_2
Timed out:    0
Stale:        0
Auto-blocked: 1
  t_2
Promoted:     2
Spawned:      1
  - t_3  ->  alice  @ /w/t_3
Auto-assigned to kanban.default_assignee='alice': t_5
Skipped (unassigned): t_4
Deferred (bob at per-profile cap, 2 running): t_6
Skipped (non-spawnable assignee — terminal lane, OK): t_7
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Fatalf("text (-want +got):\n%s", diff)
	}
	j := py.Dumps(dispatch.Result{}.JSON(), 2, true)
	wantJSON := `{
  "reclaimed": 0,
  "crashed": [],
  "timed_out": [],
  "stale": [],
  "auto_blocked": [],
  "promoted": 0,
  "spawned": [],
  "skipped_unassigned": [],
  "skipped_nonspawnable": [],
  "skipped_per_profile_capped": [],
  "auto_assigned_default": []
}`
	if diff := cmp.Diff(wantJSON, j); diff != "" {
		t.Fatalf("json (-want +got):\n%s", diff)
	}
}

// The supervisor's keep-alive extends only its own claim and run, records
// its pid when the task has none, and stops once the heartbeat is over an
// hour old (so a wedged worker stays reclaimable).
func TestExtendWorkerClaim(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := time.Unix(1_800_000_000, 0)
	st, err := store.Open(ctx, filepath.Join(dir, "kanban.db"), store.Options{Board: "default", Now: func() time.Time { return clock },
		PeerSQLite: func(context.Context) host.PeerInfo { return host.PeerInfo{} }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.CreateTask(ctx, store.NewTask{Title: "x", Assignee: ptr("alice")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.ClaimTask(ctx, id, 60, "host:1")
	if err != nil || res.Task == nil {
		t.Fatalf("claim: %v", err)
	}
	if ok, err := dispatch.ExtendWorkerClaim(ctx, st, id, res.RunID, "other:2", 900, 4242); err != nil || ok {
		t.Fatalf("someone else's lock extended: %v %v", ok, err)
	}
	if ok, err := dispatch.ExtendWorkerClaim(ctx, st, id, res.RunID, "host:1", 900, 4242); err != nil || !ok {
		t.Fatalf("own claim not extended: %v %v", ok, err)
	}
	task, _ := st.GetTask(id)
	if *task.ClaimExpires != clock.Unix()+900 || task.WorkerPID == nil || *task.WorkerPID != 4242 {
		t.Fatalf("claim_expires %d worker_pid %v", *task.ClaimExpires, task.WorkerPID)
	}
	if _, err := st.HeartbeatWorker(ctx, id, nil, nil); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(dispatch.ClaimHeartbeatMaxStale*time.Second + time.Minute)
	if ok, err := dispatch.ExtendWorkerClaim(ctx, st, id, res.RunID, "host:1", 900, 4242); err != nil || ok {
		t.Fatalf("a wedged worker's claim was extended: %v %v", ok, err)
	}
}
