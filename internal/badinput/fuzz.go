package badinput

import (
	"bytes"
	"strings"
)

// Args turns fuzz bytes into an argument vector: arguments are separated
// by NUL bytes (which no real argument can contain). Placeholders such as
// "@DB" are replaced by the caller's paths, so the fuzzer can aim at real
// files without inventing paths of its own.
func Args(data []byte, placeholders map[string]string) []string {
	if len(data) == 0 {
		return nil
	}
	parts := bytes.Split(data, []byte{0})
	args := make([]string, len(parts))
	for i, p := range parts {
		a := string(p)
		for k, v := range placeholders {
			a = strings.ReplaceAll(a, k, v)
		}
		args[i] = a
	}
	return args
}

// Join is the inverse of Args for seed corpora.
func Join(args ...string) []byte { return []byte(strings.Join(args, "\x00")) }

// Unsafe reports whether a fuzzed argument vector could reach outside the
// test's directories: any argument naming a path of its own (a "/" that
// did not come from a placeholder). Fuzz targets skip such inputs rather
// than let a mutated `--out /etc/x` or `--pidfile /x` write somewhere.
func Unsafe(raw []byte) bool { return bytes.ContainsRune(raw, '/') }
