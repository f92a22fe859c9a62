package dispatch

import "testing"

func TestCtxCapAndTail(t *testing.T) {
	if got := ctxCap("  abcdef  ", 4); got != "abcd… [truncated, 2 chars omitted]" {
		t.Errorf("ctxCap = %q", got)
	}
	if got := ctxCap(" ok ", 4); got != "ok" {
		t.Errorf("ctxCap short = %q", got)
	}
	if n, note := ctxTail(31, 30, "comment"); n != 30 || note != "_(1 earlier comment omitted; showing most recent 30)_" {
		t.Errorf("ctxTail(31) = %d %q", n, note)
	}
	if n, note := ctxTail(12, 10, "attempt"); n != 10 || note != "_(2 earlier attempts omitted; showing most recent 10)_" {
		t.Errorf("ctxTail(12) = %d %q", n, note)
	}
	for d, want := range map[int64]string{-5: "just now", 59: "just now", 60: "1m ago", 7199: "1h ago", 86400 * 3: "3d ago"} {
		if got := relativeAge(1000, 1000+d); got != want {
			t.Errorf("relativeAge(+%d) = %q, want %q", d, got, want)
		}
	}
}

// One rule gives the worker's TERMINAL_TIMEOUT (spawn) and the one the
// worker context shows: max_runtime - 30 s when that is longer.
func TestWorkerTerminalTimeout(t *testing.T) {
	for _, c := range []struct {
		runtime int64
		env     string
		want    string
	}{
		{7200, "", "7170"}, {7200, "60", "7170"}, {7200, "9999", ""}, {20, "", "1"}, {0, "", ""}, {100, "junk", "70"},
	} {
		if got := workerTerminalTimeout(c.runtime, c.env); got != c.want {
			t.Errorf("workerTerminalTimeout(%d, %q) = %q, want %q", c.runtime, c.env, got, c.want)
		}
	}
}
