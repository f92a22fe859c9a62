package cli

import (
	"context"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/host"
	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/shim/home"
)

// EnvPeerSQLite is the SQLite version the local hermes Python links
// ("none": no Python shares the board), as for kanban: for operators
// whose hermes runs elsewhere (a container).
const EnvPeerSQLite = "KANBANSHIM_PEER_SQLITE"

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
// bug: EnvPeerSQLite when set, else the interpreter is asked.
func (a *App) peer(ctx context.Context) migrate.Peer {
	switch v := strings.TrimSpace(a.Env.Getenv(EnvPeerSQLite)); v {
	case "":
		p := host.DetectPeerSQLite(ctx)
		return migrate.Peer{Python: p.Python, Version: p.Version, Affected: p.Affected}
	case "none":
		return migrate.Peer{Python: EnvPeerSQLite}
	default:
		return migrate.Peer{Python: EnvPeerSQLite, Version: v, Affected: host.WALResetAffected(v)}
	}
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
