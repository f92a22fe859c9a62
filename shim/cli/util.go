package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/kanbanshim/kanbanshim/internal/py"
)

func sortStrings(s []string) { sort.Strings(s) }

func ptr[T any](v T) *T { return &v }

func pyRepr(s string) string { return py.Repr(s) }

func readAll(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	return io.ReadAll(r)
}

func join(s []string, sep string) string { return strings.Join(s, sep) }

func trimSpace(s string) string { return strings.TrimSpace(s) }

// noneProfile maps none / - / null (any case) to "unassign".
func noneProfile(v string) *string {
	switch strings.ToLower(v) {
	case "none", "-", "null":
		return nil
	}
	return &v
}

func pyObj(kv ...any) py.Object { return py.Obj(kv...) }

func fileExistsAt(p string) bool { _, err := os.Stat(p); return err == nil }

// pyOSError renders a file error as Python prints an OSError, which
// upstream puts in its messages: "[Errno 2] No such file or directory: 'x'".
func pyOSError(err error, path string) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return fmt.Sprintf("[Errno %d] %s: %s", int(errno), msg, py.Repr(path))
}

// safeTaskID reports whether id can name a file under a board directory
// (logs, workspaces): no separators, not "." or "..", no NUL. Anything
// else cannot be a task of ours and must never become a path.
func safeTaskID(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\\\x00")
}
