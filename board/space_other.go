//go:build !unix

package board

import "errors"

// FreeBytes is not implemented here.
func FreeBytes(dir string) (uint64, error) {
	return 0, errors.New("free space: unsupported on this system")
}
