package home

import (
	"strconv"
	"time"

	"github.com/kanbanshim/kanbanshim/lockd"
)

// DefaultBusyTimeout is upstream's SQLite busy_timeout.
const DefaultBusyTimeout = 120 * time.Second

// BusyTimeout is upstream's busy_timeout: HERMES_KANBAN_BUSY_TIMEOUT_MS (an
// integer >= 1), else 120 s.
func BusyTimeout(env Env) time.Duration {
	if raw := env.get("HERMES_KANBAN_BUSY_TIMEOUT_MS"); raw != "" {
		if n, err := strconv.Atoi(raw); err == nil && n >= 1 {
			return time.Duration(n) * time.Millisecond
		}
	}
	return DefaultBusyTimeout
}

// LeaseTimeout is the write-lease wait of every kanbanshim binary: 30 s,
// then kanban.lease_timeout_seconds, then HERMES_KANBAN_LEASE_TIMEOUT_SECONDS
// (see lockd.LeaseTimeout).
func LeaseTimeout(env Env, cfg Config) time.Duration {
	var secs float64
	if f, ok, err := cfg.Float("lease_timeout_seconds"); err == nil && ok {
		secs = f
	}
	return lockd.LeaseTimeout(env.Getenv, secs)
}
