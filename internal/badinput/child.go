package badinput

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Nobody is the user permission cases run as when the tests run as root,
// for whom chmod 0444 means nothing.
const Nobody = 65534

// Binary is a copy of the running test binary that any user may execute,
// so a child can run as Nobody. Run as testscript.Main commands: the copy
// is executed with argv[0] set to the command's name.
type Binary struct{ path string }

// NewBinary copies the test executable into a world-readable temporary
// directory that t's cleanup removes.
func NewBinary(t testing.TB) *Binary {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "badinput-bin-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(dir, "cli.test")
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return &Binary{path: dst}
}

// AsUser is the credential a permission case runs with: Nobody when the
// tests run as root, else nil (the current user).
func AsUser() *syscall.Credential {
	if os.Geteuid() != 0 {
		return nil
	}
	return &syscall.Credential{Uid: Nobody, Gid: Nobody}
}

// Run runs the command argv0 (a testscript.Main command of the test
// binary) with args and exactly env, as cred (nil: as this process), in
// dir, and waits at most timeout.
func (b *Binary) Run(argv0 string, args []string, env []string, dir string, cred *syscall.Credential, timeout time.Duration) Result {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.path, args...)
	cmd.Args[0] = argv0
	cmd.Env, cmd.Dir = env, dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Hung: ctx.Err() != nil}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = 128 + int(ws.Signal())
		}
	default:
		r.Code, r.Stderr = -1, err.Error()
	}
	if bytes.Contains(errb.Bytes(), []byte("panic: ")) {
		r.Panic = r.Stderr
	}
	return r
}

// Chown gives the tree at root to the permission cases' user (when the
// tests run as root) and opens the directories above it for traversal.
func Chown(t testing.TB, root string, above int) {
	t.Helper()
	cred := AsUser()
	if cred == nil {
		return
	}
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		t.Fatal(err)
	}
	for d, i := root, 0; i <= above; d, i = filepath.Dir(d), i+1 {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
