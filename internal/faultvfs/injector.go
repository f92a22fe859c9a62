package faultvfs

import (
	"fmt"
	"sort"
	"sync"
	"syscall"
)

// Op is a kind of VFS operation a rule can fail.
type Op uint8

// The operations. OpShm is decided once per main-database open: when it
// fires, that connection's WAL index cannot be opened, so every xShmMap
// it makes fails (ncruces keeps the shared-memory methods unexported, so
// single maps cannot be failed one by one).
const (
	OpOpen Op = iota + 1
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpLock
	OpUnlock
	OpDelete
	OpAccess
	OpShm
)

var opNames = [...]string{
	OpOpen: "open", OpRead: "read", OpWrite: "write", OpSync: "sync",
	OpTruncate: "truncate", OpSize: "size", OpLock: "lock", OpUnlock: "unlock",
	OpDelete: "delete", OpAccess: "access", OpShm: "shm",
}

func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ParseOp is the inverse of Op.String.
func ParseOp(s string) (Op, bool) {
	for i, n := range opNames {
		if n != "" && n == s {
			return Op(i), true
		}
	}
	return 0, false
}

// Fault is what a failing operation does.
type Fault uint8

// The faults.
const (
	// ENOSPC is a full disk: writes fail with SQLITE_FULL, other
	// operations with their SQLITE_IOERR_* code; errno is ENOSPC.
	ENOSPC Fault = iota + 1
	// EIO is a device error: SQLITE_IOERR_READ, _WRITE, _FSYNC,
	// _TRUNCATE, _LOCK, … (SQLITE_CANTOPEN for opens); errno is EIO.
	EIO
	// ShortWrite writes the first half of the buffer, then fails with
	// SQLITE_FULL, as a write that runs out of space part-way does.
	// On operations other than writes it behaves as ENOSPC.
	ShortWrite
)

var faultNames = [...]string{ENOSPC: "enospc", EIO: "eio", ShortWrite: "short"}

func (f Fault) String() string {
	if int(f) < len(faultNames) && faultNames[f] != "" {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// ParseFault is the inverse of Fault.String.
func ParseFault(s string) (Fault, bool) {
	for i, n := range faultNames {
		if n != "" && n == s {
			return Fault(i), true
		}
	}
	return 0, false
}

// Forever as Rule.Times keeps failing every matching operation from the
// Nth on (a disk that stays full).
const Forever = -1

// Rule fails operations of kind Op on files of class File.
type Rule struct {
	Op Op
	// File is the class: MainDB (""), Journal, WAL, SHM, Temp, Super,
	// or AnyFile.
	File string
	// N is the 1-based index, among the operations this rule matches
	// since it was armed, of the first one to fail (0 means 1).
	N int
	// Times is how many consecutive matching operations fail from the
	// Nth (0 means 1); Forever fails all of them.
	Times int
	Fault Fault
}

func (r Rule) String() string {
	file := r.File
	if file == "" {
		file = "main"
	}
	s := fmt.Sprintf("%s %s #%d %s", r.Fault, r.Op, max(r.N, 1), file)
	switch {
	case r.Times == Forever:
		s += " onwards"
	case r.Times > 1:
		s += fmt.Sprintf(" x%d", r.Times)
	}
	return s
}

func (r Rule) matches(op Op, class string) bool {
	return r.Op == op && (r.File == AnyFile || r.File == class)
}

// fires reports whether the seen-th matching operation fails.
func (r Rule) fires(seen int) bool {
	first := max(r.N, 1)
	if seen < first {
		return false
	}
	return r.Times == Forever || seen < first+max(r.Times, 1)
}

// Key names a counter: an operation on a class of file.
type Key struct {
	Op   Op
	File string
}

// Hit is one injected fault.
type Hit struct {
	Rule   Rule
	Op     Op
	File   string // class
	Name   string // path ("" for temp files)
	Offset int64
	Len    int
	Errno  syscall.Errno // what the system call would have said
	Err    error         // what the VFS returned to SQLite
}

// Injector holds the rules and counters of one registered VFS. It is safe
// for concurrent use.
type Injector struct {
	name string

	mu     sync.Mutex
	rules  []armed
	counts map[Key]int
	hits   []Hit
}

type armed struct {
	Rule
	seen int
}

func newInjector(name string) *Injector {
	return &Injector{name: name, counts: map[Key]int{}}
}

// Name is the VFS name to pass as "vfs=" (store.Options.VFS).
func (in *Injector) Name() string { return in.name }

// Arm adds rules. Each counts its matching operations from now.
func (in *Injector) Arm(rules ...Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range rules {
		in.rules = append(in.rules, armed{Rule: r})
	}
}

// Disarm removes every rule and keeps the counters and hits.
func (in *Injector) Disarm() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
}

// Reset removes every rule and zeroes the counters and hits.
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
	in.counts = map[Key]int{}
	in.hits = nil
}

// Count is the number of op operations seen on files of class file since
// the last Reset (AnyFile sums every class).
func (in *Injector) Count(op Op, file string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if file != AnyFile {
		return in.counts[Key{op, file}]
	}
	n := 0
	for k, c := range in.counts {
		if k.Op == op {
			n += c
		}
	}
	return n
}

// Counts is a copy of every counter, sorted by op then file.
func (in *Injector) Counts() []KeyCount {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]KeyCount, 0, len(in.counts))
	for k, c := range in.counts {
		out = append(out, KeyCount{k, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Op != out[j].Op {
			return out[i].Op < out[j].Op
		}
		return out[i].File < out[j].File
	})
	return out
}

// KeyCount is one counter.
type KeyCount struct {
	Key
	N int
}

// Hits are the faults injected since the last Reset, in order.
func (in *Injector) Hits() []Hit {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Hit(nil), in.hits...)
}

// Fired is len(Hits()).
func (in *Injector) Fired() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.hits)
}

// check counts one operation and returns the injected error when a rule
// fires (the first armed rule that fires wins), or nil to go ahead.
func (in *Injector) check(op Op, class, name string, off int64, n int) error {
	_, err := in.decide(op, class, name, off, n)
	return err
}

// decide is check that also returns the firing rule's fault.
func (in *Injector) decide(op Op, class, name string, off int64, n int) (Fault, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.counts[Key{op, class}]++
	var hit *armed
	for i := range in.rules {
		r := &in.rules[i]
		if !r.matches(op, class) {
			continue
		}
		r.seen++
		if hit == nil && r.fires(r.seen) {
			hit = r
		}
	}
	if hit == nil {
		return 0, nil
	}
	errno, err := errorFor(hit.Fault, op)
	in.hits = append(in.hits, Hit{Rule: hit.Rule, Op: op, File: class, Name: name, Offset: off, Len: n, Errno: errno, Err: err})
	return hit.Fault, err
}
