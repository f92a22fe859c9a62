package lockd

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kanbanshim/kanbanshim/internal/proc"
)

func TestLockState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	child := startHelper(t, "flock-ex", path)
	child.expect(t, "ready")
	held, holders, err := LockState(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []proc.FlockInfo{{PID: child.pid(), Exclusive: true}}
	if diff := cmp.Diff(want, holders); !held || diff != "" {
		t.Errorf("LockState held %v, holders (-want +got):\n%s", held, diff)
	}
	child.finish(t)

	if held, holders, err := LockState(path); held || len(holders) != 0 || err != nil {
		t.Errorf("LockState after release = %v, %v, %v", held, holders, err)
	}
	if held, _, err := LockState(path + ".missing"); held || err != nil {
		t.Errorf("LockState(missing) = %v, %v", held, err)
	}
}
