package proc

// Opener is a process that has one of the scanned files open. The swap
// refuses while any exist, and names them so the operator knows whom to
// stop (Python writers take none of our locks, so /proc is the only way
// to see them).
type Opener struct {
	PID     int
	Cmdline []string
	Files   []string // the scanned paths this process has open
	Self    bool     // the calling process; callers usually skip it
}

// FlockInfo is one granted flock(2) lock on a file, as the kernel lists it
// in /proc/locks. Waiters (blocked requests) are not included.
type FlockInfo struct {
	PID       int
	Exclusive bool
}
