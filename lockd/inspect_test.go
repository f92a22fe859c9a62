package lockd

import (
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
	"github.com/kanbanshim/kanbanshim/internal/proc"
)

func TestInspect_idle(t *testing.T) {
	db := testDB(t)
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Inspect(db, time.Now())
	if errors.Is(err, ErrUnsupported) {
		t.Skip("no /proc")
	}
	if err != nil {
		t.Fatal(err)
	}
	if b.Lease.Held || b.Lease.Holder != nil || len(b.Open) != 0 || len(b.Others) != 0 || b.Init.Held || b.Dispatch.Held {
		t.Errorf("idle board shows locks: %+v", b)
	}
	if b.Lease.Path != board.LeasePath(db) || b.Init.Path != board.InitLockPath(db) || b.Dispatch.Path != board.DispatchLockPath(db) {
		t.Errorf("paths = %q %q %q", b.Lease.Path, b.Init.Path, b.Dispatch.Path)
	}
}

// Every kind of holder, each in its own process, shows up under its own
// heading with its pid.
func TestInspect_holders(t *testing.T) {
	db := testDB(t)
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.ScanOpeners(db); errors.Is(err, ErrUnsupported) {
		t.Skip("no /proc")
	}
	lease := startHelper(t, "lease", db)
	open := startHelper(t, "hold-open", db)
	other := startHelper(t, "open-file", db) // a Python-like opener: no guard
	initLock := startHelper(t, "flock-ex", board.InitLockPath(db))
	for _, h := range []*helper{lease, open, other, initLock} {
		h.expect(t, "ready")
	}
	before := time.Now()
	b, err := Inspect(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Lease.Held || !slices.Equal(b.Lease.PIDs, []int{lease.pid()}) {
		t.Errorf("lease = %+v, want held by %d", b.Lease, lease.pid())
	}
	if b.Lease.Holder == nil || b.Lease.Holder.PID != lease.pid() || b.Lease.Holder.Op != "helper" || b.Lease.Maintenance() {
		t.Errorf("lease holder = %+v", b.Lease.Holder)
	}
	if b.Lease.HeldFor <= 0 || b.Lease.HeldFor > time.Since(before)+time.Minute {
		t.Errorf("HeldFor = %v", b.Lease.HeldFor)
	}
	if len(b.Open) != 1 || b.Open[0].PID != open.pid() || len(b.Open[0].Cmdline) == 0 {
		t.Errorf("open = %+v, want pid %d with its command line", b.Open, open.pid())
	}
	if len(b.Others) != 1 || b.Others[0].PID != other.pid() || !slices.Equal(b.Others[0].Files, []string{db}) {
		t.Errorf("others = %+v, want pid %d with %s", b.Others, other.pid(), db)
	}
	if !b.Init.Held || !slices.Equal(b.Init.PIDs, []int{initLock.pid()}) {
		t.Errorf("init lock = %+v, want held by %d", b.Init, initLock.pid())
	}
	if b.Dispatch.Held {
		t.Errorf("dispatch lock = %+v, want free", b.Dispatch)
	}
	for _, h := range []*helper{lease, open, other, initLock} {
		h.finish(t)
	}
	b, err = Inspect(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.Lease.Held || b.Lease.Holder != nil || len(b.Open)+len(b.Others) != 0 || b.Init.Held {
		t.Errorf("after the holders exited: %+v", b)
	}
}

func TestInspect_maintenance(t *testing.T) {
	db := testDB(t)
	if _, err := proc.FlockHolders(os.DevNull); errors.Is(err, ErrUnsupported) {
		t.Skip("no /proc/locks")
	}
	h := startHelper(t, "maintenance", db)
	h.expect(t, "ready")
	b, err := Inspect(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Lease.Maintenance() || b.Lease.Holder.Tool != "kanban-recover" || b.Lease.Holder.PID != h.pid() {
		t.Errorf("lease = %+v holder %+v, want maintenance by kanban-recover pid %d", b.Lease, b.Lease.Holder, h.pid())
	}
	h.finish(t)
}

// A record whose pid is not the kernel's holder is stale and not shown.
func TestInspect_staleRecord(t *testing.T) {
	db := testDB(t)
	if _, err := proc.FlockHolders(os.DevNull); errors.Is(err, ErrUnsupported) {
		t.Skip("no /proc/locks")
	}
	h := startHelper(t, "lease", db)
	h.expect(t, "ready")
	if err := os.WriteFile(board.LeasePath(db), []byte(`{"pid":999999999,"op":"old"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := Inspect(db, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !b.Lease.Held || b.Lease.Holder != nil || b.Lease.HeldFor != 0 || !slices.Equal(b.Lease.PIDs, []int{h.pid()}) {
		t.Errorf("lease = %+v, want held by %d without a record", b.Lease, h.pid())
	}
	h.finish(t)
}
