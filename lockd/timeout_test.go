package lockd

import (
	"testing"
	"time"
)

func TestLeaseTimeout(t *testing.T) {
	tests := []struct {
		name   string
		env    string
		config float64
		want   time.Duration
	}{
		{name: "default", want: 30 * time.Second},
		{name: "config", config: 5, want: 5 * time.Second},
		{name: "config fraction", config: 0.25, want: 250 * time.Millisecond},
		{name: "config zero ignored", config: 0, want: 30 * time.Second},
		{name: "config negative ignored", config: -3, want: 30 * time.Second},
		{name: "env overrides config", env: "2", config: 5, want: 2 * time.Second},
		{name: "env fraction", env: "1.5", want: 1500 * time.Millisecond},
		{name: "env spaces", env: " 7 ", want: 7 * time.Second},
		{name: "env garbage ignored", env: "soon", config: 5, want: 5 * time.Second},
		{name: "env zero ignored", env: "0", config: 5, want: 5 * time.Second},
		{name: "env negative ignored", env: "-1", want: 30 * time.Second},
		{name: "env NaN ignored", env: "NaN", want: 30 * time.Second},
		{name: "env Inf ignored", env: "Inf", want: 30 * time.Second},
		{name: "env overflow ignored", env: "1e300", want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := func(k string) string {
				if k == LeaseTimeoutEnv {
					return tt.env
				}
				return ""
			}
			if got := LeaseTimeout(env, tt.config); got != tt.want {
				t.Errorf("LeaseTimeout(%q, %v) = %v, want %v", tt.env, tt.config, got, tt.want)
			}
		})
	}
	if got := LeaseTimeout(nil, 3); got != 3*time.Second {
		t.Errorf("LeaseTimeout(nil, 3) = %v", got)
	}
}
