package lockd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kanbanshim/kanbanshim/board"
)

func TestLockInit(t *testing.T) {
	db := testDB(t)
	if got, want := board.InitLockPath(db), db+".init.lock"; got != want {
		t.Errorf("InitLockPath = %q, want %q", got, want)
	}
	first, err := LockInit(context.Background(), db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockInit(context.Background(), db, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second LockInit = %v, want ErrTimeout", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := LockInit(context.Background(), db, 0)
	if err != nil {
		t.Fatalf("LockInit after Close = %v", err)
	}
	again.Close()
}

func TestTryLockDispatch(t *testing.T) {
	db := testDB(t)
	if got, want := board.DispatchLockPath(db), db+".dispatch.lock"; got != want {
		t.Errorf("DispatchLockPath = %q, want %q", got, want)
	}
	first, ok, err := TryLockDispatch(db)
	if !ok || err != nil {
		t.Fatalf("first TryLockDispatch = %v, %v", ok, err)
	}
	second, ok, err := TryLockDispatch(db)
	if ok || err != nil || second != nil {
		t.Fatalf("second TryLockDispatch = %v, %v, %v; want nil, false, nil", second, ok, err)
	}
	first.Close()
	third, ok, err := TryLockDispatch(db)
	if !ok || err != nil {
		t.Fatalf("TryLockDispatch after Close = %v, %v", ok, err)
	}
	third.Close()
}
