package bench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkRuns are the wrk anchor's runs: connections and wrk threads. The
// target is read from 8 connections on one thread: on this two-core
// machine a second wrk thread takes the core the service needs (at medium,
// p99 4.3 ms on one thread, 13.7 ms on two, at the same throughput), so
// that run is measured too, for the record.
var wrkRuns = []struct{ conns, threads int }{{1, 1}, {8, 1}, {8, 2}}

// WrkStats is what wrk --latency printed.
type WrkStats struct {
	Requests          int     `json:"requests"`
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requests_per_s"`
	P50               Millis  `json:"p50_ms"`
	P75               Millis  `json:"p75_ms"`
	P90               Millis  `json:"p90_ms"`
	P99               Millis  `json:"p99_ms"`
	// Non2xx counts answers of status 400 and above (wrk's "Non-2xx or
	// 3xx responses"), 429 and 5xx included.
	Non2xx int `json:"non_2xx"`
	// SocketErrors is connect + read + write + timeout.
	SocketErrors int `json:"socket_errors"`
}

// WrkRun is one wrk run against the service.
type WrkRun struct {
	Connections int    `json:"connections"`
	Threads     int    `json:"threads"`
	Command     string `json:"command"`
	WrkStats
	Cache  *CacheDelta `json:"cache,omitempty"`
	Output string      `json:"output"`
}

// WrkAnchor is wrk, a load generator in a second process, against the
// main service.
type WrkAnchor struct {
	Service string   `json:"service"`
	Path    string   `json:"path"`
	Runs    []WrkRun `json:"runs"`
}

func (e *env) wrkAnchor(ctx context.Context) (*WrkAnchor, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		e.log("  wrk is not on PATH (Debian: apt-get install -y wrk): anchor skipped")
		return nil, nil
	}
	r := e.dashboardCases()[0]
	a := &WrkAnchor{Service: e.main.desc, Path: r.Path}
	url := e.svc.base + r.Path
	auth := "Authorization: Bearer " + e.svc.tokens[r.ClientID]
	for _, wr := range wrkRuns {
		conns, threads := wr.conns, wr.threads
		args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns), "-d" + e.cfg.WrkDuration.String(), "--timeout", "2s", "--latency", "-H", auth, url}
		e.log("  wrk, %d connections, %d threads, %s", conns, threads, e.cfg.WrkDuration)
		before := e.main.cache.Stats()
		// wrk stops by itself after -d; the context bounds it if it hangs.
		wctx, cancel := context.WithTimeout(ctx, e.cfg.WrkDuration+time.Minute)
		out, err := exec.CommandContext(wctx, bin, args...).CombinedOutput()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args[:len(args)-3], " "), err, out)
		}
		st, err := ParseWrk(string(out))
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, out)
		}
		shown := append(append([]string{"wrk"}, args[:len(args)-2]...), "'Authorization: Bearer $TOKEN'", url)
		run := WrkRun{Connections: conns, Threads: threads, Command: strings.Join(shown, " "), WrkStats: st,
			Cache: cacheDelta(e.main.cache, before), Output: strings.ReplaceAll(string(out), e.svc.tokens[r.ClientID], "$TOKEN")}
		e.log("  %d connections, %d threads: %.0f req/s, p50 %.3f ms, p99 %.3f ms, %d non-2xx, %d socket errors",
			conns, threads, st.RequestsPerSecond, st.P50, st.P99, st.Non2xx, st.SocketErrors)
		a.Runs = append(a.Runs, run)
	}
	return a, nil
}

var (
	wrkRequests  = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+\w+),`)
	wrkRate      = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)`)
	wrkQuantile  = regexp.MustCompile(`(?m)^\s*(50|75|90|99)%\s+([0-9.]+\w+)\s*$`)
	wrkNon2xx    = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s*(\d+)`)
	wrkSocketErr = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// ParseWrk reads the figures of wrk --latency's report. The non-2xx and
// socket error lines appear only when there were any.
func ParseWrk(out string) (WrkStats, error) {
	var s WrkStats
	m := wrkRequests.FindStringSubmatch(out)
	r := wrkRate.FindStringSubmatch(out)
	if m == nil || r == nil {
		return s, errors.New("cannot read wrk's output: no requests or Requests/sec line")
	}
	s.Requests, _ = strconv.Atoi(m[1])
	d, err := wrkDuration(m[2])
	if err != nil {
		return s, err
	}
	s.Seconds = round3(d.Seconds())
	s.RequestsPerSecond, _ = strconv.ParseFloat(r[1], 64)
	qs := map[string]*Millis{"50": &s.P50, "75": &s.P75, "90": &s.P90, "99": &s.P99}
	for _, q := range wrkQuantile.FindAllStringSubmatch(out, -1) {
		d, err := wrkDuration(q[2])
		if err != nil {
			return s, err
		}
		*qs[q[1]] = ms(d)
		delete(qs, q[1])
	}
	if len(qs) > 0 {
		return s, errors.New("cannot read wrk's output: no latency distribution (run it with --latency)")
	}
	if n := wrkNon2xx.FindStringSubmatch(out); n != nil {
		s.Non2xx, _ = strconv.Atoi(n[1])
	}
	if n := wrkSocketErr.FindStringSubmatch(out); n != nil {
		for _, v := range n[1:] {
			k, _ := strconv.Atoi(v)
			s.SocketErrors += k
		}
	}
	return s, nil
}

// wrkDuration parses wrk's times: a number and us, ms, s, m or h.
func wrkDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("cannot read wrk's time %q: %w", s, err)
	}
	return d, nil
}
