// Package dispatch is kanbanshim's dispatcher: one tick does what
// upstream's dispatch_once does (reap, release stale claims, reconcile
// orphans, detect crashes, enforce max runtime, promote, spawn within the
// caps), workers run under a supervisor that holds a worker slot for its
// whole life and stops the worker's process group with a grace window,
// and the daemon loops ticks over every board of a home.
package dispatch

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Derived-cap constants, as upstream's derive_default_max_in_progress.
const (
	memoryMBPerWorker = 512
	derivedCapFloor   = 2
	derivedCapCeiling = 8
)

// Env vars kanbanshim adds (upstream has neither).
const (
	EnvMaxWorkers   = "HERMES_KANBAN_MAX_CONCURRENT_WORKERS"
	EnvReclaimGrace = "HERMES_KANBAN_RECLAIM_GRACE_SECONDS"
)

// ErrSetting is wrapped by errors about an unusable kanbanshim setting
// (flag, env var or config key); the CLI reports them as usage errors.
var ErrSetting = errors.New("invalid dispatcher setting")

// SettingError is an unusable setting, with the message to show.
type SettingError struct{ Msg string }

func (e *SettingError) Error() string { return e.Msg }
func (e *SettingError) Unwrap() error { return ErrSetting }

func settingErr(format string, args ...any) error {
	return &SettingError{Msg: fmt.Sprintf(format, args...)}
}

// Caps are the concurrency limits one tick honours.
type Caps struct {
	// MaxSpawn is upstream's per-board running cap (kanban.max_spawn, --max).
	MaxSpawn *int64
	// MaxInProgress is upstream's host-wide running cap, counted from the
	// boards (kanban.max_in_progress, else the memory-derived default).
	MaxInProgress *int64
	// PerProfile is kanban.max_in_progress_per_profile: counted on the
	// board as upstream does, and enforced host-wide with profile slots.
	PerProfile *int64
	// MaxWorkers is the worker-slot cap (kanban.max_concurrent_workers,
	// HERMES_KANBAN_MAX_CONCURRENT_WORKERS, --max-workers; else derived).
	MaxWorkers int
}

// Settings are everything one tick needs, resolved once per tick so the
// daemon picks up config.yaml edits without a restart.
type Settings struct {
	Caps
	FailureLimit      int64
	StaleTimeout      int64 // kanban.dispatch_stale_timeout_seconds; 0 = off
	ReconcileOrphans  bool
	ReviewDispatch    bool
	DefaultAssignee   string
	ClaimTTL          int64
	CrashGrace        int64
	RateLimitCooldown int64
	ReclaimGrace      time.Duration
	LogRotateBytes    int64
	LogBackups        int
	Interval          time.Duration // the daemon's tick interval
	HealthEvery       time.Duration // the daemon's quick_check interval; 0 = off
}

// Overrides are command-line values; nil means "not given".
type Overrides struct {
	MaxSpawn, FailureLimit, MaxWorkers *int64
	Interval                           *float64
}

// ResolveSettings applies defaults, then config.yaml, then the
// environment, then flags. Upstream's keys keep upstream's lenient
// fallbacks (an unusable value is ignored); kanbanshim's own env vars and
// flags must be valid.
func ResolveSettings(getenv func(string) string, cfg home.Config, o Overrides) (Settings, error) {
	s := Settings{
		FailureLimit:      positiveOr(cfg, "failure_limit", store.DefaultFailureLimit),
		StaleTimeout:      nonNegativeOr(cfg, "dispatch_stale_timeout_seconds", 0),
		ReconcileOrphans:  cfg.Bool("reconcile_orphans", true),
		ReviewDispatch:    cfg.Bool("review_dispatch", true),
		DefaultAssignee:   cfg.String("default_assignee"),
		ClaimTTL:          store.ClaimTTL(nil, getenv),
		CrashGrace:        envInt(getenv, "HERMES_KANBAN_CRASH_GRACE_SECONDS", DefaultCrashGrace),
		RateLimitCooldown: envInt(getenv, "HERMES_KANBAN_RATE_LIMIT_COOLDOWN_SECONDS", DefaultRateLimitCooldown),
		LogRotateBytes:    positiveOr(cfg, "worker_log_rotate_bytes", 2*1024*1024),
		LogBackups:        int(nonNegativeOr(cfg, "worker_log_backup_count", 1)),
		Interval:          intervalOf(cfg),
	}
	s.MaxSpawn = positiveIntKey(cfg, "max_spawn")
	s.MaxInProgress = positiveIntKey(cfg, "max_in_progress")
	if s.MaxInProgress == nil {
		if n, ok := DerivedCap(); ok {
			s.MaxInProgress = &n
		}
	}
	s.PerProfile = positiveIntKey(cfg, "max_in_progress_per_profile")
	var err error
	if s.ReclaimGrace, err = ReclaimGrace(getenv, cfg); err != nil {
		return s, err
	}
	if s.MaxWorkers, err = maxWorkers(getenv, cfg, o.MaxWorkers); err != nil {
		return s, err
	}
	if s.HealthEvery, err = HealthCheckInterval(getenv, cfg); err != nil {
		return s, err
	}
	return s, s.apply(o)
}

func (s *Settings) apply(o Overrides) error {
	if o.MaxSpawn != nil {
		s.MaxSpawn = o.MaxSpawn
	}
	if o.FailureLimit != nil {
		if *o.FailureLimit < 1 {
			return settingErr("--failure-limit must be >= 1, got %d", *o.FailureLimit)
		}
		s.FailureLimit = *o.FailureLimit
	}
	if o.Interval != nil {
		if math.IsNaN(*o.Interval) || *o.Interval < 0 {
			return settingErr("--interval must be >= 0, got %v", *o.Interval)
		}
		s.Interval = time.Duration(max(*o.Interval, 0.1) * float64(time.Second))
	}
	return nil
}

// ReclaimGrace is the SIGTERM -> SIGKILL window: HERMES_KANBAN_RECLAIM_GRACE_SECONDS,
// else kanban.reclaim_grace_seconds, else 30 s. Negative or non-numeric
// values are errors.
func ReclaimGrace(getenv func(string) string, cfg home.Config) (time.Duration, error) {
	return seconds(getenv, EnvReclaimGrace, cfg, "reclaim_grace_seconds", "", store.DefaultReclaimGrace)
}

// seconds resolves one of kanbanshim's own durations that may be 0
// (home.Seconds, which reads the environment variable env first); an
// unusable value is a setting error whose message ends in note.
func seconds(getenv func(string) string, env string, cfg home.Config, key, note string, def time.Duration) (time.Duration, error) {
	d, err := home.Seconds(home.Env{Getenv: getenv}, env, cfg, key, note, def)
	var ve *home.ValueError
	switch {
	case errors.As(err, &ve):
		return 0, &SettingError{Msg: ve.Msg}
	case err != nil:
		return 0, &SettingError{Msg: err.Error()}
	}
	return d, nil
}

// Seconds converts a number of seconds to a Duration.
func Seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// maxWorkers resolves the worker-slot cap: --max-workers > env > config >
// the memory-derived default (the ceiling when memory is unknown).
func maxWorkers(getenv func(string) string, cfg home.Config, flag *int64) (int, error) {
	if flag != nil {
		if *flag < 1 || *flag > 4096 {
			return 0, settingErr("--max-workers must be between 1 and 4096, got %d", *flag)
		}
		return int(*flag), nil
	}
	if raw := strings.TrimSpace(getenv(EnvMaxWorkers)); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > 4096 {
			return 0, settingErr("%s=%s: want an integer between 1 and 4096", EnvMaxWorkers, raw)
		}
		return n, nil
	}
	n, ok, err := cfg.Int("max_concurrent_workers")
	switch {
	case err != nil:
		return 0, &SettingError{Msg: err.Error()}
	case ok && (n < 1 || n > 4096):
		return 0, settingErr("kanban.max_concurrent_workers must be between 1 and 4096, got %d", n)
	case ok:
		return int(n), nil
	}
	if d, ok := DerivedCap(); ok {
		return int(d), nil
	}
	return derivedCapCeiling, nil
}

// DerivedCap is upstream's memory-derived worker cap:
// clamp(MemTotal / 512 MiB, 2, 8); ok is false when memory is unknown.
func DerivedCap() (int64, bool) {
	m, ok := readMeminfo()
	if !ok || m.totalKiB <= 0 {
		return 0, false
	}
	n := m.totalKiB / 1024 / memoryMBPerWorker
	return min(max(n, derivedCapFloor), derivedCapCeiling), true
}

// meminfo is the part of /proc/meminfo the caps use.
type meminfo struct{ totalKiB, availableKiB int64 }

func readMeminfo() (meminfo, bool) {
	total, avail, ok := proc.MemInfo()
	return meminfo{totalKiB: total, availableKiB: avail}, ok
}

// MemoryPressure is upstream's classify_pressure over /proc/meminfo:
// "critical" below 64 MiB or 5% available, "elevated" below 128 MiB or
// 15%, "ok" otherwise, "unknown" when it cannot be read.
func MemoryPressure() string {
	m, ok := readMeminfo()
	if !ok {
		return "unknown"
	}
	frac := float64(m.availableKiB) / float64(m.totalKiB)
	switch {
	case m.availableKiB < 64*1024 || frac < 0.05:
		return "critical"
	case m.availableKiB < 128*1024 || frac < 0.15:
		return "elevated"
	}
	return "ok"
}

// positiveIntKey is upstream's _positive_int(value, None).
func positiveIntKey(cfg home.Config, key string) *int64 {
	n, ok, err := cfg.Int(key)
	if err != nil || !ok || n < 1 {
		return nil
	}
	return &n
}

func positiveOr(cfg home.Config, key string, def int64) int64 {
	if p := positiveIntKey(cfg, key); p != nil {
		return *p
	}
	return def
}

func nonNegativeOr(cfg home.Config, key string, def int64) int64 {
	n, ok, err := cfg.Int(key)
	if err != nil || !ok || n < 0 {
		return def
	}
	return n
}

// intervalOf is kanban.dispatch_interval_seconds: default 60, floor 1.
func intervalOf(cfg home.Config) time.Duration {
	f, ok, err := cfg.Float("dispatch_interval_seconds")
	if err != nil || !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 60 * time.Second
	}
	return Seconds(max(f, 1))
}

// envInt is upstream's _env_int with minimum 0.
func envInt(getenv func(string) string, name string, def int64) int64 {
	raw := strings.TrimSpace(getenv(name))
	if raw == "" {
		return def
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return def
	}
	return n
}
