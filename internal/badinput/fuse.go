package badinput

import (
	"os"
	"os/exec"
	"testing"
)

// FuseMount mounts a directory with bindfs (a real FUSE filesystem) and
// returns the mount point; it skips the test when FUSE is not available
// (no /dev/fuse, no bindfs — `make deps` installs it —, or mounting is
// not permitted here).
func FuseMount(t testing.TB) (src, mnt string) {
	t.Helper()
	bindfs, err := exec.LookPath("bindfs")
	if err != nil {
		t.Skip("bindfs is not installed (`make deps` installs it): no real FUSE mount")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("no FUSE here: %v", err)
	}
	unmount, err := exec.LookPath("fusermount3")
	if err != nil {
		if unmount, err = exec.LookPath("fusermount"); err != nil {
			t.Skip("no fusermount to unmount with")
		}
	}
	src, mnt = t.TempDir(), t.TempDir()
	if out, err := exec.Command(bindfs, src, mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount FUSE here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		// Lazy (-z): a leaked descriptor (K11) must not wedge the mount.
		if out, err := exec.Command(unmount, "-u", "-z", mnt).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v: %s", mnt, err, out)
		}
	})
	return src, mnt
}
