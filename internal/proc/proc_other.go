//go:build !linux

package proc

import (
	"fmt"
	"io"
)

// ReadStat needs /proc; elsewhere nothing is known.
func ReadStat(int) (Stat, bool) { return Stat{}, false }

// PIDs needs /proc; elsewhere it lists nothing.
func PIDs() []int { return nil }

// Each needs /proc; elsewhere it calls nothing and reports false.
func Each(func(pid int, st Stat)) bool { return false }

// Cmdline needs /proc; elsewhere it is always unknown (nil).
func Cmdline(int) []string { return nil }

func environ(int) ([]byte, error) { return nil, ErrUnsupported }

// Mountinfo needs /proc.
func Mountinfo() (io.ReadCloser, error) { return nil, fmt.Errorf("mountinfo: %w", ErrUnsupported) }

// SelfFDPaths needs /proc.
func SelfFDPaths() ([]string, error) { return nil, fmt.Errorf("fd scan: %w", ErrUnsupported) }
