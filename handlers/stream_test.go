package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// seeded loads the medium seed dataset (a million rows for its biggest
// client, more than socket buffers hold, so an export stays running while
// its client stalls) and returns that client.
func seeded(t *testing.T) (driver.Conn, string) {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	dir := t.TempDir()
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleMedium, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	var id string
	if err := conn.QueryRow(context.Background(), "SELECT toString(client_id) FROM app_usage_reports GROUP BY client_id ORDER BY count() DESC LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return conn, id
}

// tcpServer serves the router on a loopback port, so that a client can
// stop reading or hang up as a real one would.
func tcpServer(t *testing.T, conn driver.Conn, exportTimeout time.Duration) string {
	t.Helper()
	return serveTCP(t, testServer(conn, exportTimeout, nil))
}

func startExport(t *testing.T, base, clientID string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/v2/clients/"+clientID+"/analytics/usage-reports/export?start_date=2025-11-01&end_date=2026-10-31", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, clientID, time.Hour))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: %d %s", resp.StatusCode, b)
	}
	return resp
}

func TestExportFailureAfterFirstByteAbortsTheConnection(t *testing.T) {
	conn, clientID := seeded(t)
	base := tcpServer(t, conn, time.Minute)
	resp := startExport(t, base, clientID)
	defer resp.Body.Close()
	first := make([]byte, 100)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(first), "activity_date,application_id") {
		t.Fatalf("export starts with %q", first)
	}
	// The query fails on the server after the first bytes were sent.
	err := conn.Exec(context.Background(), "KILL QUERY WHERE query_id LIKE ? ASYNC", "usage_export-"+resp.Header.Get("X-Request-Id")+"-%")
	if err != nil {
		t.Fatal(err)
	}
	// Aborted means the client sees the body cut short, and soon: a
	// chunked body without its last chunk (unexpected EOF) or a reset
	// connection. Any other ending, or none, is not the abort.
	var n int64
	ended := make(chan error, 1)
	go func() {
		var err error
		n, err = io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatalf("a failed export ended like a whole file after %d more bytes", n)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("a failed export ended with %q after %d more bytes, want the connection dropped (unexpected EOF or reset)", err, n)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("a failed export still holds its connection open 30s after its query was killed")
	}
}

func TestExportClientHangupCancelsTheQuery(t *testing.T) {
	conn, clientID := seeded(t)
	base := tcpServer(t, conn, time.Minute)
	resp := startExport(t, base, clientID)
	reqID := resp.Header.Get("X-Request-Id")
	if _, err := io.ReadFull(resp.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	running := func() uint64 {
		var n uint64
		err := conn.QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query_id LIKE ?", "usage_export-"+reqID+"-%").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if running() != 1 {
		t.Fatalf("the stalled export's query is not in system.processes")
	}
	resp.Body.Close() // the client hangs up mid-file
	deadline := time.Now().Add(10 * time.Second)
	for running() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the export query still runs 10s after the client hung up")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOneTenantsExportsCannotStarveAnother(t *testing.T) {
	conn, busy := seeded(t)
	var other string
	if err := conn.QueryRow(context.Background(), "SELECT toString(client_id) FROM clients WHERE client_id != toUUID(?) LIMIT 1", busy).Scan(&other); err != nil {
		t.Fatal(err)
	}
	base := tcpServer(t, conn, time.Minute)
	// Two stalled exports use up the busy tenant's export slots.
	a1, a2 := startExport(t, base, busy), startExport(t, base, busy)
	defer a2.Body.Close()
	req, _ := http.NewRequest("GET", base+"/v2/clients/"+busy+"/analytics/usage-reports/export?start_date=2025-11-01&end_date=2026-10-31", nil)
	req.Header.Set("Authorization", "Bearer "+mint(t, busy, time.Hour))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"code":"too_many_requests"`) {
		t.Fatalf("third concurrent export: %d Retry-After=%q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// The other tenant is not affected.
	b := startExport(t, base, other)
	if n, err := io.Copy(io.Discard, b.Body); err != nil || n == 0 {
		t.Fatalf("other tenant's export: %d bytes, %v", n, err)
	}
	b.Body.Close()
	// When one export ends, the slot comes back.
	a1.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot of a finished export never came back: %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
