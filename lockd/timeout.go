package lockd

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// LeaseTimeoutEnv names the environment variable that overrides the
// configured lease wait, in seconds (fractions allowed).
const LeaseTimeoutEnv = "HERMES_KANBAN_LEASE_TIMEOUT_SECONDS"

// DefaultLeaseTimeout is how long a writer waits for the lease unless
// configured otherwise: long enough to ride out a slow write or
// checkpoint, short enough that a wedged holder surfaces as an error.
const DefaultLeaseTimeout = 30 * time.Second

// LeaseTimeout resolves the lease wait with the usual precedence:
// DefaultLeaseTimeout, then configSeconds (kanban config, if > 0), then
// LeaseTimeoutEnv read through env (nil means no environment). Values
// that are not positive, finite numbers are ignored, so a typo falls back
// to the next layer instead of turning into "wait forever" or "never".
func LeaseTimeout(env func(string) string, configSeconds float64) time.Duration {
	d := DefaultLeaseTimeout
	if c, ok := secondsToDuration(configSeconds); ok {
		d = c
	}
	if env == nil {
		return d
	}
	s := strings.TrimSpace(env(LeaseTimeoutEnv))
	if s == "" {
		return d
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return d
	}
	if e, ok := secondsToDuration(v); ok {
		return e
	}
	return d
}

// secondsToDuration converts a positive, finite, representable number of
// seconds; anything else reports false.
func secondsToDuration(s float64) (time.Duration, bool) {
	if math.IsNaN(s) || s <= 0 || s > float64(math.MaxInt64)/float64(time.Second) {
		return 0, false
	}
	d := time.Duration(s * float64(time.Second))
	return d, d > 0
}
