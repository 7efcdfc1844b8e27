package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/chschema/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const testKey = "cli-test-key-0123456789abcdef0123456789"

// binary builds usagelens once per test into a temp dir.
func binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "usagelens")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, bin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "USAGELENS_TOKEN_KEY="+testKey)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func TestTokenPrintsOnlyAToken(t *testing.T) {
	bin := binary(t)
	out, _, err := run(t, bin, "token", "--client", "c0000000-0000-4000-8000-000000000001", "--ttl", "1h")
	if err != nil {
		t.Fatal(err)
	}
	claims, err := auth.Verify([]byte(testKey), strings.TrimSpace(out), time.Now())
	if err != nil || claims.ClientID != "c0000000-0000-4000-8000-000000000001" || strings.Count(out, "\n") != 1 {
		t.Fatalf("token output %q: %v %+v", out, err, claims)
	}
	if _, stderr, err := run(t, bin, "token", "--client", "nope"); err == nil || !strings.Contains(stderr, "nope") {
		t.Fatalf("a bad client id was accepted: %v %s", err, stderr)
	}
}

func TestSeedAndLoadThroughTheCLI(t *testing.T) {
	bin := binary(t)
	dsn := chtest.NewDB(t)
	dir := filepath.Join(t.TempDir(), "tiny")
	if _, stderr, err := run(t, bin, "seed", "--out", dir, "--scale", "tiny", "--seed", "5"); err != nil {
		t.Fatalf("seed: %v %s", err, stderr)
	}
	out, stderr, err := run(t, bin, "load", "--clickhouse-dsn", dsn, dir)
	if err != nil || !strings.Contains(out, "usage rows") {
		t.Fatalf("load: %v\n%s\n%s", err, out, stderr)
	}
	// One bad row: non-zero exit, file and line named.
	usage, _ := os.ReadFile(filepath.Join(dir, "usage.csv"))
	lines := strings.Split(string(usage), "\n")
	lines[3] = strings.Replace(lines[3], ",", ",not-a-date-", 1)
	os.WriteFile(filepath.Join(dir, "usage.csv"), []byte(strings.Join(lines, "\n")), 0o644)
	_, stderr, err = run(t, bin, "load", "--clickhouse-dsn", dsn, dir)
	if err == nil || !strings.Contains(stderr, "usage.csv:4:") {
		t.Fatalf("bad row: exit %v, stderr %s", err, stderr)
	}
}

func TestServeManagesItsOwnClickHouse(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dataDir, "--log-format", "text")
	cmd.Env = append(os.Environ(), "USAGELENS_TOKEN_KEY="+testKey)
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 60s; logs:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := managedServers(dataDir); n != 1 {
		t.Fatalf("%d clickhouse-server processes for %s, want 1", n, dataDir)
	}
	stopServe(t, cmd, &logs)
	if n := managedServers(dataDir); n != 0 {
		t.Fatalf("%d clickhouse-server processes left behind", n)
	}
}

// stopServe sends SIGTERM and waits up to 40s for a clean exit.
func stopServe(t *testing.T, cmd *exec.Cmd, logs fmt.Stringer) {
	t.Helper()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v; logs:\n%s", err, logs.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("serve did not stop after SIGTERM; logs:\n%s", logs.String())
	}
}

// managedServers counts live processes whose command line names a config
// under dir.
func managedServers(dir string) int {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	n := 0
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(dir)) && bytes.Contains(b, []byte("config.xml")) {
			n++
		}
	}
	return n
}
