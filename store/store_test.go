package store

import (
	"context"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/query"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// run reads a statement whole through the store and returns its error,
// whether the server reported it before the first row or after the last.
func run(ctx context.Context, s *Store, sql string) error {
	rows, err := s.query(ctx, "test", query.Statement{SQL: sql})
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// limited is a store whose connection carries server settings (18.16
// ignores a SELECT's own SETTINGS clause for these limits).
func limited(t *testing.T, dsn string, settings clickhouse.Settings) *Store {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	opts.Settings = settings
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return New(conn, nil)
}

// TestDriverErrorsHaveKinds provokes each ClickHouse failure the API
// answers as something other than its own bug, on a real server.
func TestDriverErrorsHaveKinds(t *testing.T) {
	dsn := chtest.NewDB(t)
	plain := New(chtest.Open(t, dsn), nil)
	memory := limited(t, dsn, clickhouse.Settings{"max_memory_usage": 10_000_000})
	result := limited(t, dsn, clickhouse.Settings{"max_result_rows": 10})
	f := func(ctx context.Context, s *Store, sql string, want errs.Kind, wantStatus int) {
		t.Helper()
		err := run(ctx, s, sql)
		if got := errs.KindOf(err); got != want {
			t.Errorf("%s: kind %v (%v), want %v", sql, got, err, want)
		}
		if status, _ := errs.Status(errs.KindOf(err)); status != wantStatus {
			t.Errorf("%s: status %d, want %d", sql, status, wantStatus)
		}
	}
	bg := context.Background()
	f(bg, memory, "SELECT groupArray(number) FROM numbers(10000000)", errs.Overloaded, 503) // 241
	f(bg, result, "SELECT number FROM numbers(100)", errs.ResultTooLarge, 422)              // 396
	f(bg, plain, "SELECT nosuchcolumn FROM numbers(1)", errs.Internal, 500)                 // 47: our bug
	f(bg, plain, "SELEC 1", errs.Internal, 500)                                             // 62: our bug
	// The request's deadline becomes the server's max_execution_time: the
	// server stops the query and says so (159), well before the scan ends.
	ctx, cancel := context.WithTimeout(bg, 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	f(ctx, plain, "SELECT count() FROM numbers(100000000000)", errs.Timeout, 504) // 159
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the deadline stopped the query after %s", d)
	}
}

func TestRefusedConnectionIsUnavailable(t *testing.T) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:1"}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := New(conn, nil)
	err = run(context.Background(), s, "SELECT 1")
	e := errs.From(err)
	if e.Kind != errs.Unavailable || e.RetryAfter == 0 {
		t.Fatalf("refused connection: %+v, want unavailable with Retry-After", e)
	}
	if e.Cause == nil {
		t.Fatal("the cause was not kept for the logs")
	}
}

// TestQueriesAreObserved: every query is recorded once, with its kind and
// translated outcome.
func TestQueriesAreObserved(t *testing.T) {
	type obs struct {
		kind string
		err  error
	}
	var seen []obs
	s := New(chtest.Open(t, chtest.NewDB(t)), func(kind string, err error, _ time.Duration) { seen = append(seen, obs{kind, err}) })
	if err := run(context.Background(), s, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	_ = run(context.Background(), s, "SELEC 1")
	if len(seen) != 2 || seen[0].kind != "test" || seen[0].err != nil || seen[1].err == nil || errs.KindOf(seen[1].err) != errs.Internal {
		t.Fatalf("observed %+v", seen)
	}
}
