package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/observability"
	"github.com/usagelens/usagelens/respcache"
	"github.com/usagelens/usagelens/store"
)

// testServer is the one way the tests build the API: the real router and
// store over conn (rollups on), a response cache, the test key, discarded
// logs, fresh metrics; tune, if given, adjusts it before it serves. No
// version watcher runs, so every request reads its client's data version.
func testServer(conn driver.Conn, exportTimeout time.Duration, tune func(*handlers.Server)) *handlers.Server {
	metrics := observability.NewMetrics()
	srv := handlers.New(handlers.Config{Store: store.New(conn, metrics.ObserveQuery), Key: testKey,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics, QueryTimeout: 20 * time.Second, ExportTimeout: exportTimeout,
		Cache: respcache.New(64 << 20)})
	srv.Store.PseudonymKey = testPseudonymKey
	if tune != nil {
		tune(srv)
	}
	return srv
}

// testPseudonymKey keys the tests' pseudonyms.
var testPseudonymKey = []byte("pseudonyms-of-the-tests-0123456789abcdef")

// serveTCP serves srv on a loopback port with the limits `usagelens serve`
// uses, so a client can stop reading or hang up as a real one would, and
// returns its base URL.
func serveTCP(t *testing.T, srv *handlers.Server) string {
	t.Helper()
	hs := srv.NewHTTPServer(handlers.DefaultLimits(srv.ExportTimeout))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	// Bounded, so a connection the server never ends fails the test
	// instead of hanging it.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.ShutdownWithContext(ctx); err != nil {
			t.Errorf("cannot shut down the server, a connection is still open: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// busiestClient is the client with the most usage rows, as serve's demo
// picks it.
func busiestClient(t *testing.T, conn driver.Conn) string {
	t.Helper()
	id, err := store.New(conn, nil).BusiestClient(context.Background())
	if err != nil || id == "" {
		t.Fatalf("busiest client: %q, %v", id, err)
	}
	return id
}
