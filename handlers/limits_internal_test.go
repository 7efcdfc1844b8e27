package handlers

import (
	"testing"
	"time"
)

func TestRetryAfterIsTheExpectedWait(t *testing.T) {
	now := time.Now()
	sl := &slots{}
	for _, d := range []time.Duration{4 * time.Second, 4 * time.Second} {
		sl.started = append(sl.started, now)
		sl.done(now, d)
	}
	sl.started = []time.Time{now.Add(-500 * time.Millisecond), now.Add(-1500 * time.Millisecond), now}
	if got := sl.retryAfter(now); got != 3 { // 4 s typical, the oldest 1.5 s in
		t.Errorf("retry after %d s, want 3", got)
	}
	sl.started = []time.Time{now.Add(-10 * time.Second)}
	if got := sl.retryAfter(now); got != 1 {
		t.Errorf("overdue: retry after %d s, want 1", got)
	}
	sl.typical = time.Hour
	if got := sl.retryAfter(now); got != 60 {
		t.Errorf("a long typical wait: %d s, want the cap 60", got)
	}
}
