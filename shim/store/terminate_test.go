package store

import (
	"context"
	"testing"

	"github.com/kanbanshim/kanbanshim/internal/proc"
)

// TerminateClaim signals only a known pid of a claim issued on this host
// (upstream's rule) and reports what the stop did; a host-local worker
// that outlives the stop has survived and keeps its claim.
func TestTerminateClaim(t *testing.T) {
	local, foreign := ClaimerID(), "elsewhere:1"
	pid, zero := int64(4242), int64(0)
	tests := []struct {
		name      string
		pid       *int64
		lock      *string
		stopped   proc.Stopped
		attempted bool
		survived  bool
		hostLocal bool   // upstream decides it only with a pid and a lock
		prevPID   *int64 // upstream's int(pid) if pid else None
	}{
		{"local, stopped with SIGKILL", &pid, &local, proc.Stopped{Done: true, SIGKILL: true}, true, false, true, &pid},
		{"local, survived", &pid, &local, proc.Stopped{}, true, true, true, &pid},
		{"foreign host", &pid, &foreign, proc.Stopped{Done: true}, false, false, false, &pid},
		{"no pid", nil, &local, proc.Stopped{Done: true}, false, false, false, nil},
		{"pid 0", &zero, &local, proc.Stopped{Done: true}, false, false, false, nil},
		{"no claim", &pid, nil, proc.Stopped{Done: true}, false, false, false, &pid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []int
			stop := func(_ context.Context, p int) proc.Stopped {
				calls = append(calls, p)
				return tt.stopped
			}
			term := TerminateClaim(context.Background(), stop, tt.pid, tt.lock)
			if term.Attempted != tt.attempted || term.Survived() != tt.survived || term.HostLocal != tt.hostLocal || term.PrevPID != tt.prevPID {
				t.Errorf("term = %+v (survived %v), want attempted %v survived %v host_local %v prev_pid %v",
					term, term.Survived(), tt.attempted, tt.survived, tt.hostLocal, tt.prevPID)
			}
			if !tt.attempted {
				if len(calls) != 0 {
					t.Errorf("stop called for %v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0] != int(*tt.pid) || term.Done != tt.stopped.Done || term.SIGKILL != tt.stopped.SIGKILL {
				t.Errorf("calls %v, term %+v, want one stop of %d reporting %+v", calls, term, *tt.pid, tt.stopped)
			}
		})
	}
}
