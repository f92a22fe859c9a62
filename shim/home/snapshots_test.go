package home

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSnapshotSettings(t *testing.T) {
	cases := []struct {
		yaml, env string
		keep      int
		interval  time.Duration
		bad       bool
	}{
		{yaml: "", keep: 3, interval: time.Hour},
		{yaml: "kanban: {snapshot_keep: 7, snapshot_interval_seconds: 90}", keep: 7, interval: 90 * time.Second},
		{yaml: "kanban: {snapshot_interval_seconds: 90}", env: "0", keep: 3, interval: 0},
		{yaml: "kanban: {snapshot_interval_seconds: 0}", keep: 3, interval: 0},
		{yaml: "", env: "1.5", keep: 3, interval: 1500 * time.Millisecond},
		{yaml: "kanban: {snapshot_keep: 0}", bad: true},
		{yaml: "kanban: {snapshot_keep: two}", bad: true},
		{yaml: "kanban: {snapshot_interval_seconds: -1}", bad: true},
		{yaml: "", env: "soon", bad: true},
		{yaml: "", env: "-5", bad: true},
		{yaml: "", env: "inf", bad: true},
		{yaml: "kanban: {snapshot_interval_seconds: .nan}", bad: true},
	}
	for _, c := range cases {
		cfg, err := ParseConfig(strings.NewReader(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		env := Env{Getenv: func(k string) string {
			if k == EnvSnapshotInterval {
				return c.env
			}
			return ""
		}}
		keep, kerr := SnapshotKeep(cfg)
		interval, ierr := SnapshotInterval(env, cfg)
		if err := errors.Join(kerr, ierr); c.bad {
			if !errors.Is(err, ErrConfigValue) {
				t.Errorf("%q env %q: err = %v, want ErrConfigValue", c.yaml, c.env, err)
			}
			continue
		} else if err != nil {
			t.Errorf("%q env %q: %v", c.yaml, c.env, err)
			continue
		}
		if keep != c.keep || interval != c.interval {
			t.Errorf("%q env %q: keep %d interval %v, want %d %v", c.yaml, c.env, keep, interval, c.keep, c.interval)
		}
	}
	if err := (Config{Kanban: map[string]any{"snapshot_keep": 0}}).Validate(); !errors.Is(err, ErrConfigValue) {
		t.Errorf("Validate passes snapshot_keep 0: %v", err)
	}
}
