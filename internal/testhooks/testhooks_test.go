package testhooks

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/shim/store"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// TestStoreHooks: unset switches leave the options alone; set ones
// install exactly their hook.
func TestStoreHooks(t *testing.T) {
	var o store.Options
	storeHooks(env(nil), nil, &o)
	if o.Hooks != nil || o.VFS != "" || o.Filesystem != nil {
		t.Fatalf("no switch set, options changed: %+v", o)
	}
	storeHooks(env(map[string]string{EnvFSType: "nfs", EnvFault: "not a rule", EnvPauseInTxn: "create"}), nil, &o)
	if fi := o.Filesystem("/x"); fi.Name != "nfs" || !fi.Network {
		t.Errorf("filesystem %+v, want nfs (network)", fi)
	}
	if o.VFS != badFaultSpecVFS {
		t.Errorf("a malformed fault spec opens through %q, want %q", o.VFS, badFaultSpecVFS)
	}
	if o.Hooks == nil || o.Hooks.InTxn == nil {
		t.Fatal("no pause hook")
	}
	// An op the prefix does not name passes straight through.
	if err := o.Hooks.InTxn(context.Background(), "complete t_1"); err != nil {
		t.Errorf("unpaused op: %v", err)
	}
}

// TestMigrateHooks: the clock, the filesystem, and a pause that ends on
// cancellation, then the injected failure at its point.
func TestMigrateHooks(t *testing.T) {
	if o := migrateHooks(env(nil), nil); !o.Now.IsZero() || o.Hooks != nil || o.Filesystem != nil {
		t.Fatalf("no switch set, overrides %+v", o)
	}
	var stderr bytes.Buffer
	o := migrateHooks(env(map[string]string{EnvNow: "1777680000", EnvFSType: "local",
		EnvMigratePause: "before-commit:30", EnvMigrateFail: "before-commit"}), &stderr)
	if want := time.Unix(1777680000, 0).UTC(); !o.Now.Equal(want) {
		t.Errorf("now %v, want %v", o.Now, want)
	}
	if name, network := o.Filesystem("/x"); name != "local" || network {
		t.Errorf("filesystem %q network=%v, want local", name, network)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := o.Hooks.At(ctx, "before-commit"); !errors.Is(err, ErrInjected) {
		t.Errorf("At(before-commit) = %v, want the injected failure", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the pause ignored cancellation")
	}
	if got := stderr.String(); got != PauseMarker+"before-commit\n" {
		t.Errorf("stderr %q", got)
	}
	if err := o.Hooks.At(ctx, "other"); err != nil || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("another point: %v, stderr %q", err, stderr.String())
	}
}
