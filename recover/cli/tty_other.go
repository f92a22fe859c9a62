//go:build !linux

package cli

import "os"

// isTerminal approximates a terminal as a character device.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
