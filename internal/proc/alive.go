package proc

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// Alive is upstream's _pid_alive: the process exists and is not a zombie.
// Without /proc a zombie counts as alive (kill(pid, 0) cannot tell).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	st, ok := ReadStat(pid)
	if !ok {
		return Exists(pid)
	}
	return !st.Zombie()
}

// Exists reports whether kill(pid, 0) finds the process (zombies
// included). A negative pid asks about a process group.
func Exists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// GroupAlive reports whether any live (non-zombie) process is in process
// group pgid. Zombies are skipped: they hold no resources and vanish when
// reaped, so "the group is gone" must not wait for their parent. Without
// /proc a group that kill(-pgid, 0) finds counts as alive.
func GroupAlive(pgid int) bool {
	if pgid <= 0 || !Exists(-pgid) {
		return false
	}
	alive := false
	scanned := Each(func(_ int, st Stat) {
		if st.PGRP == pgid && !st.Zombie() {
			alive = true
		}
	})
	return alive || !scanned
}

// Children lists the live children of pid (none without /proc).
func Children(pid int) []int {
	var out []int
	Each(func(p int, st Stat) {
		if st.PPID == pid && !st.Zombie() {
			out = append(out, p)
		}
	})
	return out
}

// WaitExit polls until pid is gone (or a zombie) or d passes; it reports
// whether the process is gone.
func WaitExit(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !Alive(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return !Alive(pid)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SignalGroup sends sig to every process in process group pgid.
func SignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return syscall.ESRCH
	}
	return syscall.Kill(-pgid, sig)
}
