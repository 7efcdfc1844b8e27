package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a child's stderr, read while the child writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// On SIGTERM serve stops the HTTP server first, then closes the pool, then
// stops its managed ClickHouse; pprof answers only on its own address.
func TestServeShutdownOrderAndPprof(t *testing.T) {
	bin := binary(t)
	addr, pprofAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", t.TempDir(), "--log-format", "text", "--shutdown-timeout", "5s")
	cmd.Env = append(os.Environ(), "USAGELENS_TOKEN_KEY="+testKey, "USAGELENS_PPROF_LISTEN="+pprofAddr)
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for status(t, "http://"+addr+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 60s; logs:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := status(t, "http://"+pprofAddr+"/debug/pprof/cmdline"); code != 200 {
		t.Errorf("pprof on %s: %d", pprofAddr, code)
	}
	if code := status(t, "http://"+addr+"/debug/pprof/"); code != 404 {
		t.Errorf("pprof on the API address: %d, want 404", code)
	}

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range []string{
		`usagelens_clickhouse_query_duration_seconds_count{kind="migrate",outcome="ok"} 1`,
		`usagelens_clickhouse_query_duration_seconds_count{kind="ping",outcome="ok"}`,
		`usagelens_clickhouse_pool_max_open_connections 32`,
	} {
		if !strings.Contains(string(body), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	stopServe(t, cmd, &logs)
	out := logs.String()
	last := -1
	for _, step := range []string{"shutting down", "in-flight requests finished", "closing the ClickHouse pool", "stopping managed clickhouse-server"} {
		i := strings.Index(out, step)
		if i < 0 || i < last {
			t.Fatalf("%q missing or out of order in:\n%s", step, out)
		}
		last = i
	}
	if code := status(t, "http://"+pprofAddr+"/debug/pprof/cmdline"); code != 0 {
		t.Errorf("pprof still answers after exit: %d", code)
	}
}
