package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// demoRun is a running scripts/demo.sh: its PID, live output and exit.
type demoRun struct {
	pid          int
	stdout, logs *syncBuffer
	done         chan error
}

// startDemo runs scripts/demo.sh with extra serve flags and waits until it
// printed the whole ready text.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"../../scripts/demo.sh"}, args...)...)
	d := &demoRun{stdout: &syncBuffer{}, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = d.stdout, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.pid = cmd.Process.Pid
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	// The first run builds the binary and seeds and loads the small dataset.
	deadline := time.After(10 * time.Minute)
	for !strings.Contains(d.stdout.String(), "A token for another demo client") || !strings.HasSuffix(d.stdout.String(), "\n\n") {
		select {
		case err := <-d.done:
			t.Fatalf("demo.sh exited (%v) before it was ready; stdout:\n%s\nlogs:\n%s", err, d.stdout.String(), d.logs.String())
		case <-deadline:
			t.Fatalf("demo not ready after 10 minutes; stdout:\n%s\nlogs:\n%s", d.stdout.String(), d.logs.String())
		case <-time.After(300 * time.Millisecond):
		}
	}
	return d
}

// sh runs a script in bash and returns its stdout.
func sh(t *testing.T, script string) string {
	t.Helper()
	out, err := exec.Command("bash", "-c", "set -eu\n"+script).Output()
	if err != nil {
		t.Fatalf("%v running:\n%s", err, script)
	}
	return string(out)
}

// managedServerParents are the parent PIDs of the clickhouse-servers
// whose config lies under dir.
func managedServerParents(t *testing.T, dir string) []int {
	t.Helper()
	var ppids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte(dir)) || !bytes.Contains(b, []byte("config.xml")) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		ppid, _ := strconv.Atoi(f[1])
		ppids = append(ppids, ppid)
	}
	return ppids
}

// TestDemoScript: demo.sh execs the server, so its PID is the server's;
// the printed lines paste into a shell and answer; SIGTERM, then SIGINT
// on a second run, stop the server and its clickhouse-server and free the
// port; the second run reuses the loaded data.
func TestDemoScript(t *testing.T) {
	dataDir, addr := t.TempDir(), freeAddr(t)
	d := startDemo(t, "--listen", addr, "--data-dir", dataDir, "--log-format", "text")
	if !strings.Contains(d.logs.String(), "demo.sh: building data/usagelens") || !strings.Contains(d.logs.String(), "first build") {
		t.Errorf("demo.sh did not say it builds:\n%s", d.logs.String())
	}
	pid := d.pid
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); filepath.Base(exe) != "usagelens" {
		t.Errorf("PID %d runs %q, not the usagelens binary: demo.sh did not exec it", pid, exe)
	}
	if ppids := managedServerParents(t, dataDir); len(ppids) != 1 || ppids[0] != pid {
		t.Fatalf("clickhouse-server parents %v, want [%d]", ppids, pid)
	}

	out := d.stdout.String()
	var exports, curls []string
	var mint string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "export "):
			exports = append(exports, line)
		case strings.HasPrefix(line, "curl "):
			curls = append(curls, line)
		case strings.Contains(line, " token --client "):
			mint = line
		}
	}
	for _, name := range []string{"TOKEN", "C", "U", "H", "CAT1", "CAT2", "VENDOR", "DEPT"} {
		if !strings.Contains(out, "export "+name+"=") {
			t.Errorf("no export of %s in:\n%s", name, out)
		}
	}
	env := strings.Join(exports, "\n") + "\n"
	if got := sh(t, env+`printf '%s\n' "$U"`); got != "http://"+addr+"/v2/clients/"+sh(t, env+`printf '%s' "$C"`)+"/analytics/apps/utilization\n" {
		t.Errorf("U is %q", got)
	}
	if len(curls) < 6 {
		t.Fatalf("%d curl lines, want the 3 basic ones and 3 filters:\n%s", len(curls), out)
	}
	for _, c := range curls {
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		body := sh(t, env+c+" -f")
		if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Data) == 0 {
			t.Errorf("%s: no rows (%v): %.300s", c, err, body)
		}
	}

	// The mint line makes a token the other client's URL accepts.
	other := regexp.MustCompile(`--client (\S+)`).FindStringSubmatch(mint)
	if other == nil {
		t.Fatalf("no mint line in:\n%s", out)
	}
	tok := strings.TrimSpace(sh(t, mint))
	otherURL := "http://" + addr + "/v2/clients/" + other[1] + "/analytics/apps/utilization?granularity=monthly&start_date=2026-10-01&end_date=2026-10-31"
	sh(t, `curl -s -f -o /dev/null -H "Authorization: Bearer `+tok+`" '`+otherURL+`'`)

	stop := func(d *demoRun, sig syscall.Signal) {
		t.Helper()
		_ = syscall.Kill(d.pid, sig)
		select {
		case err := <-d.done:
			if err != nil {
				t.Fatalf("%v: exit %v; logs:\n%s", sig, err, d.logs.String())
			}
		case <-time.After(40 * time.Second):
			t.Fatalf("%v: still running after 40s; logs:\n%s", sig, d.logs.String())
		}
		if n := managedServers(dataDir); n != 0 {
			t.Fatalf("%v: %d clickhouse-server processes left", sig, n)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%v: %s not free: %v", sig, addr, err)
		}
		ln.Close()
	}
	stop(d, syscall.SIGTERM)

	d = startDemo(t, "--listen", addr, "--data-dir", dataDir, "--log-format", "text")
	if !strings.Contains(d.logs.String(), "demo data already loaded") {
		t.Errorf("the second run did not reuse the data:\n%s", d.logs.String())
	}
	stop(d, syscall.SIGINT)
}

// A serve started on the data directory of a running one is refused in one
// line that names the running usagelens to stop.
func TestServeOnABusyDataDirNamesTheHolder(t *testing.T) {
	bin := binary(t)
	dataDir := t.TempDir()
	addr := freeAddr(t)
	first := exec.Command(bin, "serve", "--listen", addr, "--data-dir", dataDir, "--log-format", "text")
	first.Env = append(os.Environ(), "USAGELENS_TOKEN_KEY="+testKey)
	var logs syncBuffer
	first.Stderr = &logs
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for status(t, "http://"+addr+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 60s; logs:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	_, stderr, err := run(t, bin, "serve", "--listen", freeAddr(t), "--data-dir", dataDir, "--log-format", "text")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	want := fmt.Sprintf("stop that with: kill %d", first.Process.Pid)
	if err == nil || !strings.HasPrefix(last, "usagelens serve: another clickhouse-server (PID ") || !strings.HasSuffix(last, want) {
		t.Fatalf("second serve: exit %v, last line %q, want one ending %q; stderr:\n%s", err, last, want, stderr)
	}
	if strings.Contains(stderr, "Exception") {
		t.Errorf("the ClickHouse log leaked into the message:\n%s", stderr)
	}
	stopServe(t, first, &logs)
}
