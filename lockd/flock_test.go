package lockd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func openTwo(t *testing.T) (a, b *FileLock) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.lock")
	var err error
	if a, err = OpenLockFile(path); err != nil {
		t.Fatal(err)
	}
	if b, err = OpenLockFile(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestFileLock_TryLock(t *testing.T) {
	tests := []struct {
		name         string
		first, again bool // exclusive?
		want         bool
	}{
		{"shared shared", false, false, true},
		{"shared exclusive", false, true, false},
		{"exclusive shared", true, false, false},
		{"exclusive exclusive", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := openTwo(t)
			if ok, err := a.TryLock(tt.first); !ok || err != nil {
				t.Fatalf("first TryLock = %v, %v", ok, err)
			}
			if ok, err := b.TryLock(tt.again); ok != tt.want || err != nil {
				t.Fatalf("second TryLock = %v, %v; want %v", ok, err, tt.want)
			}
			if err := a.Unlock(); err != nil {
				t.Fatal(err)
			}
			if ok, err := b.TryLock(true); !ok || err != nil {
				t.Fatalf("TryLock after Unlock = %v, %v", ok, err)
			}
		})
	}
}

func TestFileLock_Lock_timeout(t *testing.T) {
	a, b := openTwo(t)
	if ok, _ := a.TryLock(true); !ok {
		t.Fatal("TryLock failed")
	}
	start := time.Now()
	err := b.Lock(context.Background(), true, 100*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lock = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > time.Second {
		t.Errorf("Lock gave up after %v, want ~100ms", d)
	}
}

func TestFileLock_Lock_handOver(t *testing.T) {
	a, b := openTwo(t)
	if ok, _ := a.TryLock(true); !ok {
		t.Fatal("TryLock failed")
	}
	unlocked := make(chan error, 1)
	time.AfterFunc(30*time.Millisecond, func() { unlocked <- a.Unlock() })
	if err := b.Lock(context.Background(), true, 5*time.Second); err != nil {
		t.Fatalf("Lock = %v", err)
	}
	if err := <-unlocked; err != nil {
		t.Fatal(err)
	}
}

func TestFileLock_Lock_context(t *testing.T) {
	a, b := openTwo(t)
	if ok, _ := a.TryLock(true); !ok {
		t.Fatal("TryLock failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.Lock(ctx, false, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock = %v, want DeadlineExceeded", err)
	}
}

func TestFileLock_Close(t *testing.T) {
	a, b := openTwo(t)
	if ok, _ := a.TryLock(true); !ok {
		t.Fatal("TryLock failed")
	}
	for range 2 {
		if err := a.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
	}
	if a.File() != nil {
		t.Error("File() after Close is not nil")
	}
	if _, err := a.TryLock(true); !errors.Is(err, os.ErrClosed) {
		t.Errorf("TryLock after Close = %v, want os.ErrClosed", err)
	}
	if ok, err := b.TryLock(true); !ok || err != nil {
		t.Fatalf("TryLock after other Close = %v, %v", ok, err)
	}
	if _, err := os.Stat(b.Path()); err != nil {
		t.Errorf("lock file gone after Close: %v", err)
	}
}

// A Lock that gives up cannot withdraw its kernel request: the FileLock
// is closed, and the request, once granted, is dropped at once, so it
// never keeps others out.
func TestFileLock_Lock_abandoned(t *testing.T) {
	a, b := openTwo(t)
	if ok, _ := a.TryLock(true); !ok {
		t.Fatal("TryLock failed")
	}
	if err := b.Lock(context.Background(), true, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Lock = %v, want ErrTimeout", err)
	}
	if b.File() != nil {
		t.Error("FileLock still open after a failed Lock")
	}
	if _, err := b.TryLock(true); !errors.Is(err, os.ErrClosed) {
		t.Errorf("TryLock after a failed Lock = %v, want os.ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close after a failed Lock = %v", err)
	}
	if err := a.Unlock(); err != nil {
		t.Fatal(err)
	}
	c, err := OpenLockFile(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The abandoned request is granted now and dropped right after.
	if err := c.Lock(context.Background(), true, 5*time.Second); err != nil {
		t.Fatalf("Lock after the holder released = %v (abandoned request kept the lock?)", err)
	}
}
