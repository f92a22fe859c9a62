//go:build !linux

package board

import "fmt"

// exchange is Linux-only; elsewhere the swap falls back to two renames.
func exchange(a, b string) error {
	return fmt.Errorf("exchange %s and %s: %w", a, b, ErrNoExchange)
}
