package handlers

import (
	"fmt"
	"sync"

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
	inFlight map[tenantKind]int
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
		l.inFlight = map[tenantKind]int{}
	}
	if l.inFlight[k] >= limit {
		what := "queries"
		if export {
			what = "exports"
		}
		return nil, &errs.Error{Kind: errs.TooManyRequests, RetryAfter: 1,
			Message: fmt.Sprintf("this client already has %d %s in flight, the most allowed; retry when one finishes", limit, what)}
	}
	l.inFlight[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.inFlight[k]--; l.inFlight[k] == 0 {
				delete(l.inFlight, k)
			}
		})
	}, nil
}
