package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/dataset"
)

// TestClickHouseOutageGives503AndRecovers stops the test's own ClickHouse
// between requests and in the middle of an export, then starts it again.
func TestClickHouseOutageGives503AndRecovers(t *testing.T) {
	ch := chtest.Private(t)
	conn := chtest.Open(t, ch.DSN())
	ctx := context.Background()
	if _, err := chschema.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := dataset.Generate(dir, dataset.SeedOptions{Scale: dataset.ScaleMedium, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if _, err := dataset.Load(ctx, conn, dir, nil); err != nil {
		t.Fatal(err)
	}
	busy := busiestClient(t, conn)
	base := tcpServer(t, conn, time.Minute)
	util := base + "/v2/clients/" + busy + "/analytics/apps/utilization?granularity=monthly&start_date=2026-10-01&end_date=2026-10-31"
	get := func(url string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+mint(t, busy, time.Hour))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: body: %v", url, err)
		}
		checkContract(t, strings.TrimPrefix(url, base), resp.StatusCode, resp.Header, b)
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := get(util); code != 200 {
		t.Fatalf("before the outage: %d %s", code, body)
	}
	http.DefaultClient.CloseIdleConnections()
	goroutines, fds := settle(), openFDs()

	// In the middle of an export: the server dies after the first bytes.
	export := startExport(t, base, busy)
	if _, err := io.ReadFull(export.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	ch.Kill()
	if _, err := io.Copy(io.Discard, export.Body); err == nil {
		t.Errorf("an export cut by the outage ended like a whole file")
	}
	export.Body.Close()

	// Between requests: 503 in the error shape, with Retry-After; not ready.
	// The utilization answer is in the response cache from before the
	// outage, but its data version cannot be confirmed, so it is not served.
	for _, url := range []string{util, base + "/readyz"} {
		code, body, h := get(url)
		var e errorJSON
		if code != 503 || h.Get("Retry-After") == "" || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "unavailable" {
			t.Errorf("%s during the outage: %d Retry-After=%q %s", url, code, h.Get("Retry-After"), body)
		}
	}

	if err := ch.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, _ := get(util)
		ready, _, _ := get(base + "/readyz")
		if code == 200 && ready == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 30s after ClickHouse returned: utilization %d, readyz %d", code, ready)
		}
		time.Sleep(200 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	if g := settle(); g > goroutines+10 {
		t.Errorf("goroutines %d before the outage, %d after recovery", goroutines, g)
	}
	if f := openFDs(); f > fds+10 {
		t.Errorf("open files %d before the outage, %d after recovery", fds, f)
	}
}

// settle lets finished goroutines exit and returns how many remain.
func settle() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		runtime.GC()
		m := runtime.NumGoroutine()
		if m == n {
			break
		}
		n = m
	}
	return n
}

func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}
