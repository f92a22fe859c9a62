package testhooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/migrate"
	migratecli "github.com/kanbanshim/kanbanshim/migrate/cli"
)

// PauseMarker is what kanban-migrate apply prints on stderr when it
// pauses at a point (EnvMigratePause), followed by the point's name.
const PauseMarker = "kanban-migrate-test: paused at "

// ErrInjected is the failure EnvMigrateFail injects.
var ErrInjected = errors.New("injected test failure")

// migrateHooks applies kanban-migrate's switches to one run.
func migrateHooks(getenv func(string) string, stderr io.Writer) migratecli.Overrides {
	var o migratecli.Overrides
	if v := strings.TrimSpace(getenv(EnvNow)); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			o.Now = time.Unix(n, 0).UTC()
		}
	}
	if ft := getenv(EnvFSType); ft != "" {
		o.Filesystem = func(string) (string, bool) { return ft, ft != "local" }
	}
	o.Hooks = migrateStepHooks(strings.TrimSpace(getenv(EnvMigratePause)), strings.TrimSpace(getenv(EnvMigrateFail)), stderr)
	return o
}

// migrateStepHooks pauses at the point pause names ("<point>[:<seconds>]")
// and fails at the point fail names; nil when neither is set.
func migrateStepHooks(pause, fail string, stderr io.Writer) *migrate.Hooks {
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
			fmt.Fprintf(stderr, "%s%s\n", PauseMarker, at)
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if at == fail {
			return ErrInjected
		}
		return nil
	}}
}
