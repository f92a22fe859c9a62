package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/migrate"
	"github.com/kanbanshim/kanbanshim/shim/home"
	"github.com/kanbanshim/kanbanshim/shim/store"
)

// Environment variables read besides hermes' own.
const (
	// EnvPeerSQLite is the SQLite version the local hermes Python links
	// ("none": no Python shares the board), as for kanban.
	EnvPeerSQLite = "KANBANSHIM_PEER_SQLITE"
	// EnvTestNow fixes the clock (epoch seconds); tests only.
	EnvTestNow = "KANBANSHIM_TEST_NOW"
	// EnvTestPause makes apply announce "<point>" on stderr and wait
	// there ("<point>[:<seconds>]", 60 s by default, or until signalled),
	// so a test can kill it at that moment; tests only.
	EnvTestPause = "KANBANSHIM_TEST_MIGRATE_PAUSE"
	// EnvTestFail makes apply fail at "<point>"; tests only.
	EnvTestFail = "KANBANSHIM_TEST_MIGRATE_FAIL"
	// EnvTestFSType pretends the board's filesystem is this one ("local"
	// or a network filesystem name), as for kanban; tests only.
	EnvTestFSType = "KANBANSHIM_TEST_FSTYPE"
)

// PauseMarker is what apply prints on stderr when it pauses at a point.
const PauseMarker = "kanban-migrate-test: paused at "

// errInjected is the failure EnvTestFail injects.
var errInjected = errors.New("injected test failure")

func (a *App) now() time.Time {
	if v := strings.TrimSpace(a.Env.Getenv(EnvTestNow)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
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
		p := store.DetectPeerSQLite(ctx)
		return migrate.Peer{Python: p.Python, Version: p.Version, Affected: p.Affected}
	case "none":
		return migrate.Peer{Python: EnvPeerSQLite}
	default:
		return migrate.Peer{Python: EnvPeerSQLite, Version: v, Affected: store.WALResetAffected(v)}
	}
}

func (a *App) networkFS(dir string) (string, bool) {
	if ft := a.Env.Getenv(EnvTestFSType); ft != "" {
		return ft, ft != "local"
	}
	fi := store.FilesystemOf(dir)
	return fi.Name, fi.Network
}

// hooks builds the test hooks from the environment (nil when unset).
func (a *App) hooks() *migrate.Hooks {
	pause := strings.TrimSpace(a.Env.Getenv(EnvTestPause))
	fail := strings.TrimSpace(a.Env.Getenv(EnvTestFail))
	if pause == "" && fail == "" {
		return nil
	}
	point, wait := pause, 60*time.Second
	if i := strings.IndexByte(pause, ':'); i >= 0 {
		point = pause[:i]
		if s, err := strconv.ParseFloat(pause[i+1:], 64); err == nil && s >= 0 {
			wait = time.Duration(s * float64(time.Second))
		}
	}
	return &migrate.Hooks{At: func(ctx context.Context, at string) error {
		if at == point {
			fmt.Fprintf(a.Stderr, "%s%s\n", PauseMarker, at)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if at == fail {
			return errInjected
		}
		return nil
	}}
}

// leaseTimeout and busyTimeout are kanban's (shim/home).
func (a *App) leaseTimeout() time.Duration {
	cfg, _ := home.LoadConfig(a.Env)
	return home.LeaseTimeout(a.Env, cfg)
}

func (a *App) busyTimeout() time.Duration { return home.BusyTimeout(a.Env) }
