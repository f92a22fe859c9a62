package home

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"go.yaml.in/yaml/v3"
)

// Config is what kanbanshim reads from a hermes config.yaml: the `kanban:`
// section (upstream's keys plus ours) and `database.journal_mode`. Hermes
// owns the file and most of its keys; unknown keys are ignored.
type Config struct {
	Kanban      map[string]any
	JournalMode string // "wal" (default) or "delete"
	Path        string // file it came from, "" for defaults
}

// DefaultConfig is the configuration when config.yaml is absent.
func DefaultConfig() Config { return Config{Kanban: map[string]any{}, JournalMode: "wal"} }

// ParseConfig parses config.yaml content. A YAML syntax error is an
// error; values of the wrong type are reported by Validate.
func ParseConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	var doc map[string]any
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	if k, ok := doc["kanban"].(map[string]any); ok {
		c.Kanban = k
	}
	if db, ok := doc["database"].(map[string]any); ok {
		if jm, ok := db["journal_mode"].(string); ok && strings.EqualFold(strings.TrimSpace(jm), "delete") {
			c.JournalMode = "delete"
		}
	}
	return c, nil
}

// LoadConfig reads <HERMES_HOME>/config.yaml. A missing file gives the
// defaults; an unreadable or malformed one gives the defaults and an error
// the caller reports as a warning (upstream also falls back).
func LoadConfig(env Env) (Config, error) {
	p := filepath.Join(env.HermesHome(), "config.yaml")
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, os.ErrPermission) {
		// Upstream falls back silently when the profile's config cannot
		// be read; a command that then fails says so in its own line.
		return DefaultConfig(), nil
	}
	if err != nil {
		return DefaultConfig(), fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	c.Path = p
	if err != nil {
		return DefaultConfig(), fmt.Errorf("parse %s: %w", p, err)
	}
	return c, nil
}

// ErrConfigValue is wrapped by errors about a config value.
var ErrConfigValue = errors.New("invalid config value")

// Int returns kanban.<key> as an integer; ok is false when absent.
// A non-integer value is an error wrapping ErrConfigValue.
func (c Config) Int(key string) (n int64, ok bool, err error) {
	v, present := c.Kanban[key]
	if !present || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int:
		return int64(x), true, nil
	case int64:
		return x, true, nil
	case float64:
		if x == math.Trunc(x) {
			return int64(x), true, nil
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return i, true, nil
		}
	}
	return 0, false, fmt.Errorf("kanban.%s: %v is not an integer: %w", key, v, ErrConfigValue)
}

// Float returns kanban.<key> as a number; ok is false when absent.
func (c Config) Float(key string) (f float64, ok bool, err error) {
	v, present := c.Kanban[key]
	if !present || v == nil {
		return 0, false, nil
	}
	switch x := v.(type) {
	case int:
		return float64(x), true, nil
	case int64:
		return float64(x), true, nil
	case float64:
		return x, true, nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, true, nil
		}
	}
	return 0, false, fmt.Errorf("kanban.%s: %v is not a number: %w", key, v, ErrConfigValue)
}

// Bool returns kanban.<key> as a boolean, def when absent.
func (c Config) Bool(key string, def bool) bool {
	switch x := c.Kanban[key].(type) {
	case bool:
		return x
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "1", "true", "yes", "on":
			return true
		case "0", "false", "no", "off":
			return false
		}
	case int:
		return x != 0
	}
	return def
}

// String returns kanban.<key> as trimmed text ("" when absent).
func (c Config) String(key string) string {
	if s, ok := c.Kanban[key].(string); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

// positiveKeys are kanbanshim's own keys that must be positive numbers.
var positiveKeys = []string{"max_concurrent_workers", "lease_timeout_seconds"}

// nonNegativeKeys are kanbanshim's own keys that may be 0 (off, or no
// grace) but not negative.
var nonNegativeKeys = []string{"reclaim_grace_seconds", "health_check_interval_seconds", "snapshot_interval_seconds"}

// Validate reports values of kanbanshim's own keys that are unusable.
// Upstream's keys keep upstream's lenient fallbacks.
func (c Config) Validate() error {
	var errs []error
	for _, k := range positiveKeys {
		if f, ok, err := c.Float(k); err != nil {
			errs = append(errs, err)
		} else if ok && f <= 0 {
			errs = append(errs, fmt.Errorf("kanban.%s must be > 0, got %v: %w", k, f, ErrConfigValue))
		}
	}
	for _, k := range nonNegativeKeys {
		if _, err := Seconds(Env{}, "", c, k, "", 0); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := SnapshotKeep(c); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
