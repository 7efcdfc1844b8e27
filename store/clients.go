package store

import (
	"context"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/query"
)

// clientCache remembers clients known to exist for a minute, so an
// authorised request costs no extra query in the common case.
type clientCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const clientCacheTTL = time.Minute

// ClientExists says whether the client is known.
func (s *Store) ClientExists(ctx context.Context, id string) (bool, error) {
	cc := &s.clients
	cc.mu.Lock()
	t, ok := cc.seen[id]
	cc.mu.Unlock()
	if ok && time.Since(t) < clientCacheTTL {
		return true, nil
	}
	var n uint64
	st := query.Statement{SQL: "SELECT count() FROM clients WHERE client_id = toUUID(@client)", Args: []any{clickhouse.Named("client", id)}}
	if err := s.scalar(ctx, "client", st, &n); err != nil {
		return false, err
	}
	if n > 0 {
		cc.mu.Lock()
		if cc.seen == nil {
			cc.seen = map[string]time.Time{}
		}
		cc.seen[id] = time.Now()
		cc.mu.Unlock()
	}
	return n > 0, nil
}

// ClientCount is how many clients the database holds (FINAL: a re-load
// writes a client again until the merge keeps one row).
func (s *Store) ClientCount(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.scalar(ctx, "clients", query.Statement{SQL: "SELECT count() FROM clients FINAL"}, &n)
	return n, err
}

// BusiestClient is the client with the most usage rows (ties by id), or ""
// when there is no usage.
func (s *Store) BusiestClient(ctx context.Context) (string, error) {
	ids, err := s.column(ctx, "busiest_client", query.Statement{SQL: "SELECT toString(client_id) FROM app_usage_reports GROUP BY client_id ORDER BY count() DESC, client_id LIMIT 1"})
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}
