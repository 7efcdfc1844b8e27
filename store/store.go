// Package store is the only code that talks to ClickHouse for the API. It
// owns what every query needs: server-side time limits, query ids,
// cancellation that reaches the server, query metrics, and the translation
// of driver errors into the error kinds of package errs.
package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/query"
)

// Observer records a query's duration by kind and outcome.
type Observer func(kind string, err error, d time.Duration)

// Store runs the API's statements on one connection pool.
type Store struct {
	conn    driver.Conn
	observe Observer
	clients clientCache
	// Rollups lets requests the rollups answer exactly read them (true
	// from New); false reads usage rows for every request.
	Rollups bool
	// PseudonymKey keys the pseudonyms of pseudonymous clients' users.
	PseudonymKey []byte
	versions     versions
}

// New is a store over conn; observe (may be nil) records every query.
func New(conn driver.Conn, observe Observer) *Store {
	if observe == nil {
		observe = func(string, error, time.Duration) {}
	}
	return &Store{conn: conn, observe: observe, Rollups: true}
}

// Stats are the connection pool's figures, for metrics.
func (s *Store) Stats() driver.Stats { return s.conn.Stats() }

type requestIDKey struct{}

// WithRequestID tags ctx's queries with the request they serve, so a slow
// query can be found in system.query_log and system.processes by it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// querySeq keeps query ids unique when a request runs several queries.
var querySeq atomic.Uint64

// queryContext is what the driver gets. A deadline given to the driver
// returns on the Go side but leaves the query running on the server, so
// the driver's context has none; it is cancelled when ctx ends, and ctx's
// remaining time, in whole seconds rounded down, becomes the server's
// max_execution_time, so the server stops first and says so.
func queryContext(ctx context.Context, kind string) (context.Context, context.CancelFunc) {
	qc, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	settings := clickhouse.Settings{}
	if d, ok := ctx.Deadline(); ok {
		settings["max_execution_time"] = max(1, int(time.Until(d).Seconds()))
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	qc = clickhouse.Context(qc, clickhouse.WithSettings(settings),
		clickhouse.WithQueryID(kind+"-"+id+"-"+strconv.FormatUint(querySeq.Add(1), 10)))
	return qc, func() { stop(); cancel() }
}

// Rows is a running query's result. Close it; its Err is translated.
type Rows struct {
	driver.Rows
	ctx     context.Context // the request's
	kind    string
	start   time.Time
	cancel  context.CancelFunc
	observe Observer
	closed  bool
}

// Err is the query's execution error, which the driver reports only after
// the last row, translated into an error kind.
func (r *Rows) Err() error { return translateIn(r.ctx, r.Rows.Err()) }

// Close ends the query (cancelling it on the server if it still runs) and
// records it.
func (r *Rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.cancel()
	r.observe(r.kind, r.Err(), time.Since(r.start))
	return translateIn(r.ctx, err)
}

// query starts st; errors the server reports before the first row come
// back here, translated.
func (s *Store) query(ctx context.Context, kind string, st query.Statement) (*Rows, error) {
	start := time.Now()
	qc, cancel := queryContext(ctx, kind)
	rows, err := s.conn.Query(qc, st.SQL, st.Args...)
	if err != nil {
		cancel()
		err = translateIn(ctx, fmt.Errorf("cannot run %s query: %w", kind, err))
		s.observe(kind, err, time.Since(start))
		return nil, err
	}
	return &Rows{Rows: rows, ctx: ctx, kind: kind, start: start, cancel: cancel, observe: s.observe}, nil
}

// scalar runs a one-row statement into dest.
func (s *Store) scalar(ctx context.Context, kind string, st query.Statement, dest ...any) error {
	rows, err := s.query(ctx, kind, st)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%s query returned no row", kind)
	}
	if err := rows.Scan(dest...); err != nil {
		return fmt.Errorf("cannot scan %s row: %w", kind, err)
	}
	return rows.Close()
}

// Ready says why the API cannot serve, or nil: ClickHouse answers and the
// schema is at the latest migration. The reason is fit for a client; the
// driver's error is not in it.
func (s *Store) Ready(ctx context.Context) error {
	start := time.Now()
	err := s.conn.Ping(ctx)
	s.observe("ping", translate(err), time.Since(start))
	if err != nil {
		return errors.New("clickhouse does not answer")
	}
	v, err := chschema.CurrentVersion(ctx, s.conn)
	if err != nil {
		return errors.New("cannot read the schema version")
	}
	if v != chschema.Latest() {
		return fmt.Errorf("schema version is %d, want %d: run usagelens migrate", v, chschema.Latest())
	}
	return nil
}
