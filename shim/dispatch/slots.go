package dispatch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kanbanshim/kanbanshim/internal/proc"
	"github.com/kanbanshim/kanbanshim/lockd"
)

// GlobalScope is the slot scope every worker takes; a worker whose profile
// has a per-profile cap also takes one in ProfileScope(profile).
const GlobalScope = "global"

// ErrNoSlot reports that every slot of a scope is held.
var ErrNoSlot = errors.New("no free worker slot")

// SlotBusyError names the scope that is full.
type SlotBusyError struct {
	Scope string
	Cap   int
}

func (e *SlotBusyError) Error() string {
	return fmt.Sprintf("no free worker slot in %s (cap %d)", e.Scope, e.Cap)
}

func (e *SlotBusyError) Unwrap() error { return ErrNoSlot }

// ProfileScope is the slot scope of one profile's workers.
func ProfileScope(profile string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(profile) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "profile-" + b.String()
}

// SlotsRoot is <root>/kanban/slots.
func SlotsRoot(root string) string { return filepath.Join(root, "kanban", "slots") }

// slotPath is <root>/kanban/slots/<scope>/<i>.lock.
func slotPath(root, scope string, i int) string {
	return filepath.Join(SlotsRoot(root), scope, strconv.Itoa(i)+".lock")
}

// Slot is one held worker slot: an exclusive flock on its file, held by
// the worker's supervisor for its whole life. The kernel drops it when the
// supervisor dies, however it dies, so a crash never leaks a slot.
type Slot struct {
	Scope string
	Index int
	fl    *lockd.FileLock
}

// TakeSlot takes the first free slot of scope among 0..capacity-1
// without waiting, writing a holder record (pid, task, run) into the
// file for diagnostics. It fails with a *SlotBusyError when all are held.
func TakeSlot(root, scope string, capacity int, task string, run int64) (*Slot, error) {
	if err := os.MkdirAll(filepath.Join(SlotsRoot(root), scope), 0o755); err != nil {
		return nil, fmt.Errorf("worker slots: %w", err)
	}
	for i := 0; i < capacity; i++ {
		fl, err := lockd.OpenLockFile(slotPath(root, scope, i))
		if err != nil {
			return nil, fmt.Errorf("worker slot: %w", err)
		}
		ok, err := fl.TryLock(true)
		if err != nil || !ok {
			fl.Close()
			if err != nil {
				return nil, fmt.Errorf("worker slot: %w", err)
			}
			continue
		}
		writeHolder(fl, task, run)
		return &Slot{Scope: scope, Index: i, fl: fl}, nil
	}
	return nil, &SlotBusyError{Scope: scope, Cap: capacity}
}

// writeHolder records who holds the slot; the flock, not this text, is
// the truth, so errors are ignored.
func writeHolder(fl *lockd.FileLock, task string, run int64) {
	rec := fmt.Sprintf("pid=%d task=%s run=%d since=%s\n", os.Getpid(), task, run, time.Now().UTC().Format(time.RFC3339))
	f := fl.File()
	if _, err := f.WriteAt([]byte(rec), 0); err == nil {
		_ = f.Truncate(int64(len(rec)))
	}
}

// Release drops the slot.
func (s *Slot) Release() error {
	if s == nil {
		return nil
	}
	return s.fl.Close()
}

// String is "<scope>/<index>".
func (s *Slot) String() string { return s.Scope + "/" + strconv.Itoa(s.Index) }

// FreeSlots counts the free slots of a scope without taking any (from
// /proc/locks; where that cannot be read, by trying each lock briefly).
func FreeSlots(root, scope string, capacity int) int {
	free := 0
	for i := 0; i < capacity; i++ {
		p := slotPath(root, scope, i)
		held, _, err := lockd.LockState(p)
		if err != nil {
			held = !tryProbe(p)
		}
		if !held {
			free++
		}
	}
	return free
}

func tryProbe(path string) bool {
	fl, err := lockd.OpenLockFile(path)
	if err != nil {
		return false
	}
	defer fl.Close()
	ok, err := fl.TryLock(true)
	return err == nil && ok
}

// SlotInfo is one held worker slot, for `kanban locks`.
type SlotInfo struct {
	Scope string // "global" or "profile-<name>"
	Index int
	Path  string
	PID   int    // holder pid from /proc/locks (the supervisor)
	Task  string // from the holder record, when it is the holder's
	Run   int64
}

// SlotsInUse lists the held worker slots under root, by scope then index.
// Holders come from /proc/locks (proc.FlockHolders); a slot file nobody
// locks is free and not listed.
func SlotsInUse(root string) ([]SlotInfo, error) {
	scopes, err := os.ReadDir(SlotsRoot(root))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("worker slots: %w", err)
	}
	var out []SlotInfo
	for _, sc := range scopes {
		if !sc.IsDir() {
			continue
		}
		infos, err := scopeInUse(root, sc.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, infos...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].Index < out[j].Index
	})
	return out, nil
}

func scopeInUse(root, scope string) ([]SlotInfo, error) {
	files, err := os.ReadDir(filepath.Join(SlotsRoot(root), scope))
	if err != nil {
		return nil, fmt.Errorf("worker slots: %w", err)
	}
	var out []SlotInfo
	for _, f := range files {
		idx, err := strconv.Atoi(strings.TrimSuffix(f.Name(), ".lock"))
		if err != nil || !strings.HasSuffix(f.Name(), ".lock") {
			continue
		}
		p := filepath.Join(SlotsRoot(root), scope, f.Name())
		holders, err := proc.FlockHolders(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		seen := map[int]bool{}
		for _, h := range holders {
			// /proc/locks is read in chunks while locks come and go, so
			// the same lock can be listed twice: report each holder once.
			if seen[h.PID] {
				continue
			}
			seen[h.PID] = true
			info := SlotInfo{Scope: scope, Index: idx, Path: p, PID: h.PID}
			info.Task, info.Run = readHolder(p, h.PID)
			out = append(out, info)
		}
	}
	return out, nil
}

// readHolder parses the holder record when it names pid.
func readHolder(path string, pid int) (string, int64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", 0
	}
	var task string
	var run int64
	match := false
	for _, kv := range strings.Fields(string(data)) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "pid":
			match = v == strconv.Itoa(pid)
		case "task":
			task = v
		case "run":
			run, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if !match {
		return "", 0
	}
	return task, run
}
