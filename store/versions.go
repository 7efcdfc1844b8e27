package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/query"
)

// DataVersion identifies the state of one client's data: it changes when
// a load that touched the client commits (chschema.WriteVersions).
type DataVersion uint64

// AsOf is when the data last changed, nil when no load recorded it.
func (v DataVersion) AsOf() *time.Time {
	if v == 0 {
		return nil
	}
	t := time.Unix(0, int64(v)).UTC()
	return &t
}

// Key is the cache key of a request (its normalised form) at this version.
func (v DataVersion) Key(request string) string {
	return strconv.FormatUint(uint64(v), 36) + "|" + request
}

// ETag is the strong entity tag of the response to request at this
// version: the same request on unchanged data gives the same bytes.
func (v DataVersion) ETag(request string) string {
	h := sha256.Sum256([]byte(v.Key(request)))
	return `"` + base64.RawURLEncoding.EncodeToString(h[:18]) + `"`
}

// versions is the last poll of every client's data version.
type versions struct {
	mu       sync.Mutex
	byClient map[string]DataVersion
	// polled is when the last successful poll started.
	polled time.Time
}

// WatchVersions re-reads every client's data version each
// chschema.VersionPoll until ctx ends. While the last read is fresh,
// DataVersion answers from it without a query; otherwise (not watching,
// ClickHouse down) DataVersion asks ClickHouse.
func (s *Store) WatchVersions(ctx context.Context) {
	t := time.NewTicker(chschema.VersionPoll)
	defer t.Stop()
	for {
		s.pollVersions(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Store) pollVersions(ctx context.Context) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, chschema.VersionStale)
	defer cancel()
	rows, err := s.query(ctx, "versions", query.Statement{SQL: "SELECT toString(client_id), max(version) FROM client_data_versions GROUP BY client_id"})
	if err != nil {
		return
	}
	defer rows.Close()
	m := map[string]DataVersion{}
	var id string
	var v uint64
	for rows.Next() {
		if err := rows.Scan(&id, &v); err != nil {
			return
		}
		m[id] = DataVersion(v)
	}
	if rows.Close() != nil || rows.Err() != nil {
		return
	}
	s.versions.mu.Lock()
	s.versions.byClient, s.versions.polled = m, start
	s.versions.mu.Unlock()
}

// DataVersion is the client's current data version, from the last poll
// when it started less than chschema.VersionStale ago, else from
// ClickHouse; an error when neither can confirm it.
func (s *Store) DataVersion(ctx context.Context, clientID string) (DataVersion, error) {
	vs := &s.versions
	vs.mu.Lock()
	v, fresh := vs.byClient[clientID], time.Since(vs.polled) < chschema.VersionStale
	vs.mu.Unlock()
	if fresh {
		return v, nil
	}
	var n uint64
	st := query.Statement{SQL: "SELECT max(version) FROM client_data_versions WHERE client_id = toUUID(@client)", Args: []any{clickhouse.Named("client", clientID)}}
	if err := s.scalar(ctx, "version", st, &n); err != nil {
		return 0, err
	}
	return DataVersion(n), nil
}
