package home

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// ValueError is an unusable value of one of kanbanshim's own settings (an
// environment variable or a config.yaml key). Msg says which and why.
type ValueError struct{ Msg string }

func (e *ValueError) Error() string { return e.Msg + ": " + ErrConfigValue.Error() }

// Unwrap matches ErrConfigValue.
func (e *ValueError) Unwrap() error { return ErrConfigValue }

// Seconds resolves one of kanbanshim's own durations that may be 0 (off,
// or no grace): the environment variable envVar when it is set, else
// kanban.<key> of config.yaml, else def. A negative, non-numeric, NaN or
// infinite value is a *ValueError whose message ends in note (what 0
// means, say); a config value that is not a number is Config.Float's
// error. The one parser of the reclaim grace and the health-check and
// snapshot intervals. With envVar "" the environment is not read.
func Seconds(env Env, envVar string, cfg Config, key, note string, def time.Duration) (time.Duration, error) {
	if envVar != "" {
		if raw := env.get(envVar); raw != "" {
			f, err := strconv.ParseFloat(raw, 64)
			if err != nil || !nonNegative(f) {
				return 0, &ValueError{Msg: fmt.Sprintf("%s=%s: want a number of seconds >= 0%s", envVar, raw, note)}
			}
			return toDuration(f), nil
		}
	}
	f, ok, err := cfg.Float(key)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return def, nil
	case !nonNegative(f):
		return 0, &ValueError{Msg: fmt.Sprintf("kanban.%s must be >= 0, got %v%s", key, f, note)}
	}
	return toDuration(f), nil
}

func nonNegative(f float64) bool { return f >= 0 && !math.IsInf(f, 0) }

// toDuration converts a number of seconds to a Duration.
func toDuration(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
