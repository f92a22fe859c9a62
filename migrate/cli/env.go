package cli

import (
	"context"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

func (a *App) now() time.Time {
	if t := a.overrides().Now; !t.IsZero() {
		return t
	}
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// peer tells whether the local hermes Python's SQLite has the WAL-reset
// bug: KANBANSHIM_PEER_SQLITE when set (host.PeerFromEnv), else the
// interpreter is asked.
func (a *App) peer(ctx context.Context) migrate.Peer {
	if p, ok := host.PeerFromEnv(a.Env.Getenv); ok {
		return p
	}
	return host.DetectPeerSQLite(ctx)
}

func (a *App) networkFS(dir string) (string, bool) {
	if fs := a.overrides().Filesystem; fs != nil {
		return fs(dir)
	}
	fi := host.Filesystem(dir)
	return fi.Name, fi.Network
}

// leaseTimeout and busyTimeout are kanban's (shim/home).
func (a *App) leaseTimeout() time.Duration {
	cfg, _ := home.LoadConfig(a.Env)
	return home.LeaseTimeout(a.Env, cfg)
}

func (a *App) busyTimeout() time.Duration { return home.BusyTimeout(a.Env) }
