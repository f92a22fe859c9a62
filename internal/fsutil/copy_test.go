package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestCopyNew: a copy is byte-identical, never replaces an existing file,
// and a missing source leaves nothing behind.
func TestCopyNew(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	want := []byte("board bytes\x00\xff")
	if err := os.WriteFile(src, want, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, durable := range []bool{false, true} {
		os.Remove(dst)
		if err := CopyNew(src, dst, 0o600, durable); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != string(want) {
			t.Fatalf("durable=%v: copy %q, want %q", durable, got, want)
		}
	}
	if err := CopyNew(src, dst, 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("copy over an existing file: %v, want ErrExist", err)
	}
	gone := filepath.Join(dir, "gone")
	if err := CopyNew(filepath.Join(dir, "missing"), gone, 0o600, false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing source: %v, want ErrNotExist", err)
	}
	if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed copy left %s", gone)
	}
}
