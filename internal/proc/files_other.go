//go:build !linux

package proc

import "fmt"

// ScanOpeners needs /proc/*/fd, which only Linux has.
func ScanOpeners(paths ...string) ([]Opener, error) {
	return nil, fmt.Errorf("scan openers: %w", ErrUnsupported)
}

// FlockHolders needs /proc/locks, which only Linux has.
func FlockHolders(path string) ([]FlockInfo, error) {
	return nil, fmt.Errorf("flock holders: %w", ErrUnsupported)
}
