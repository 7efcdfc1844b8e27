package handlers

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/usagelens/usagelens/errs"
)

// Per-tenant concurrency defaults: enough for a dashboard's parallel
// widgets, few enough that one tenant cannot hold every ClickHouse
// connection.
const (
	defaultTenantQueries = 8
	defaultTenantExports = 2
)

// tenantLimiter caps the requests one client may have in flight, JSON
// queries and exports counted apart, so one tenant's heavy exports cannot
// starve the others.
type tenantLimiter struct {
	mu       sync.Mutex
	inFlight map[tenantKind]*slots
}

// slots are one client's requests of one kind in flight (their start
// times) and how long its recent ones took, for Retry-After.
type slots struct {
	started []time.Time
	// typical is a moving average of recent durations.
	typical time.Duration
}

// retryAfter is the whole seconds until a slot is expected to free: the
// typical duration less the age of the oldest request in flight, at least
// 1 and at most 60.
func (sl *slots) retryAfter(now time.Time) int {
	oldest := sl.started[0]
	for _, t := range sl.started[1:] {
		if t.Before(oldest) {
			oldest = t
		}
	}
	wait := sl.typical - now.Sub(oldest)
	return min(60, max(1, int(math.Ceil(wait.Seconds()))))
}

// done records a request that took d, and drops its start time.
func (sl *slots) done(start time.Time, d time.Duration) {
	for i, t := range sl.started {
		if t.Equal(start) {
			sl.started = append(sl.started[:i], sl.started[i+1:]...)
			break
		}
	}
	if sl.typical == 0 {
		sl.typical = d
	}
	sl.typical = (3*sl.typical + d) / 4
}

type tenantKind struct {
	client string
	export bool
}

// admit takes a slot for the client or answers 429 with Retry-After.
// release must be called once the request (or its stream) ends.
func (s *Server) admit(clientID string, export bool) (release func(), err error) {
	limit := s.TenantQueries
	if export {
		limit = s.TenantExports
	}
	if limit <= 0 {
		limit = map[bool]int{false: defaultTenantQueries, true: defaultTenantExports}[export]
	}
	k := tenantKind{clientID, export}
	l := &s.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = map[tenantKind]*slots{}
	}
	sl := l.inFlight[k]
	if sl == nil {
		sl = &slots{}
		l.inFlight[k] = sl
	}
	now := time.Now()
	if len(sl.started) >= limit {
		what := "queries"
		if export {
			what = "exports"
		}
		wait := sl.retryAfter(now)
		return nil, &errs.Error{Kind: errs.TooManyRequests, RetryAfter: wait,
			Message: fmt.Sprintf("this client already has %d %s in flight, the most allowed; retry in %d s, when one is expected to finish", limit, what, wait)}
	}
	sl.started = append(sl.started, now)
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			sl.done(now, time.Since(now))
		})
	}, nil
}
