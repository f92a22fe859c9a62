//go:build !linux

package proc

// MemInfo needs /proc/meminfo; elsewhere it is unknown and the worker cap
// falls back to its floor.
func MemInfo() (totalKiB, availableKiB int64, ok bool) { return 0, 0, false }
