package lockd

import (
	"errors"
	"testing"
	"time"
)

func TestBusyError_Error(t *testing.T) {
	since := time.Date(2026, 11, 27, 15, 3, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		err  BusyError
		want string
	}{
		{
			name: "holder",
			err: BusyError{
				Holder:      Holder{PID: 4242, Argv: []string{"/usr/local/bin/kanban", "complete", "t_1a2b3c4d"}},
				Waited:      30 * time.Second,
				Held:        31*time.Second + 200*time.Millisecond,
				HolderKnown: true,
			},
			want: "board write lease busy: held by pid 4242 (kanban complete t_1a2b3c4d) for 31s",
		},
		{
			name: "holder held longer than we waited",
			err: BusyError{
				Holder:      Holder{PID: 4242, Argv: []string{"kanban", "daemon"}},
				Waited:      500 * time.Millisecond,
				Held:        2*time.Hour + 3*time.Second,
				HolderKnown: true,
			},
			want: "board write lease busy: held by pid 4242 (kanban daemon) for 7203s",
		},
		{
			name: "holder without a date falls back to the wait",
			err: BusyError{
				Holder:      Holder{PID: 4242, Argv: []string{"kanban", "comment", "t_1"}},
				Waited:      30*time.Second + 600*time.Millisecond,
				HolderKnown: true,
			},
			want: "board write lease busy: held by pid 4242 (kanban comment t_1) for 31s",
		},
		{
			name: "maintenance",
			err: BusyError{
				Holder:      Holder{PID: 4242, Maintenance: true, Tool: "kanban-recover", Since: since},
				Waited:      30 * time.Second,
				HolderKnown: true,
			},
			want: "board under maintenance by kanban-recover (pid 4242) since 2026-11-27T14:03:00Z",
		},
		{
			name: "torn record",
			err:  BusyError{Waited: 30*time.Second + 700*time.Millisecond},
			want: "board write lease busy: held by another process for 31s",
		},
		{
			name: "pid from proc without argv",
			err:  BusyError{Holder: Holder{PID: 7}, Waited: 400 * time.Millisecond},
			want: "board write lease busy: held by pid 7 for 0s",
		},
		{
			name: "op without argv",
			err:  BusyError{Holder: Holder{PID: 7, Op: "swap"}, Waited: time.Second, HolderKnown: true},
			want: "board write lease busy: held by pid 7 (swap) for 1s",
		},
		{
			name: "maintenance flag without a trusted record",
			err:  BusyError{Holder: Holder{PID: 7, Maintenance: true}, Waited: time.Second},
			want: "board write lease busy: held by pid 7 for 1s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBusyError_Unwrap(t *testing.T) {
	busy := &BusyError{Holder: Holder{PID: 1}, HolderKnown: true}
	maint := &BusyError{Holder: Holder{PID: 1, Maintenance: true}, HolderKnown: true}
	if !errors.Is(busy, ErrLeaseBusy) || errors.Is(busy, ErrMaintenance) {
		t.Error("plain holder should match ErrLeaseBusy only")
	}
	if !errors.Is(maint, ErrMaintenance) || errors.Is(maint, ErrLeaseBusy) {
		t.Error("maintenance holder should match ErrMaintenance only")
	}
}

func TestHeldSince(t *testing.T) {
	now := time.Date(2026, 11, 27, 14, 3, 31, 0, time.UTC)
	since := now.Add(-31 * time.Second)
	tests := []struct {
		name  string
		h     Holder
		known bool
		want  time.Duration
	}{
		{"trusted record", Holder{PID: 1, Since: since}, true, 31 * time.Second},
		{"untrusted record", Holder{PID: 1, Since: since}, false, 0},
		{"no date", Holder{PID: 1}, true, 0},
		{"clock went back", Holder{PID: 1, Since: now.Add(time.Minute)}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := heldSince(tt.h, tt.known, now); got != tt.want {
				t.Errorf("heldSince = %v, want %v", got, tt.want)
			}
		})
	}
}
