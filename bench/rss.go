package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/chserver"
	"github.com/usagelens/usagelens/workload"
)

// RSSExport is one usage export served by a fresh child process.
type RSSExport struct {
	Rows    uint64  `json:"rows"`
	Start   string  `json:"start_date"`
	End     string  `json:"end_date"`
	IdleMiB float64 `json:"idle_vmhwm_mib"`
	PeakMiB float64 `json:"peak_vmhwm_mib"`
	// Peaks are the peaks of each fresh child; PeakMiB is their median.
	Peaks         []float64 `json:"peaks_mib"`
	Seconds       float64   `json:"seconds"`
	RowsPerSecond float64   `json:"rows_per_s"`
	Bytes         int64     `json:"bytes"`
}

// RSSAnchor is the service's peak resident memory for exports of two
// sizes, each export from a fresh `usagelens serve` child so one export's
// peak cannot hide in another's, rssRepeats children per size.
type RSSAnchor struct {
	Binary  string      `json:"binary"`
	Exports []RSSExport `json:"exports"`
	// GrowthRatio is the larger export's peak over the smaller one's.
	GrowthRatio float64 `json:"growth_ratio"`
	Note        string  `json:"note,omitempty"`
}

// rssRows are the export sizes measured.
var rssRows = []uint64{1_000_000, 10_000_000}

// rssRepeats is how many fresh children export each size.
const rssRepeats = 3

func (e *env) rssAnchor(ctx context.Context) (*RSSAnchor, error) {
	bin := e.cfg.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("cannot find the usagelens executable for the RSS child: %w", err)
		}
	}
	a := &RSSAnchor{Binary: bin}
	c := e.clients[0]
	for i, target := range rssRows {
		p, rows, err := exportRange(ctx, e.conn, c, target)
		if err != nil {
			return nil, err
		}
		if i > 0 && rows <= a.Exports[i-1].Rows {
			a.Note = fmt.Sprintf("the busiest client has only %d rows within %d days: no export larger than the first", rows, 366)
			break
		}
		if rows < target {
			a.Note = fmt.Sprintf("the busiest client has only %d rows within 366 days; the larger export has them all", rows)
		}
		var x RSSExport
		var idles, secs []float64
		for rep := range rssRepeats {
			one, err := e.childExport(ctx, bin, c.ID, p, i*rssRepeats+rep)
			if err != nil {
				return nil, err
			}
			x.Start, x.End, x.Bytes = one.Start, one.End, one.Bytes
			x.Peaks = append(x.Peaks, one.PeakMiB)
			idles, secs = append(idles, one.IdleMiB), append(secs, one.Seconds)
			e.log("  %d rows: peak RSS %.1f MiB (idle %.1f MiB), %.2fs", rows, one.PeakMiB, one.IdleMiB, one.Seconds)
		}
		x.Rows = rows
		x.PeakMiB = round3(medianFloat(append([]float64{}, x.Peaks...)))
		x.IdleMiB, x.Seconds = round3(medianFloat(idles)), round3(medianFloat(secs))
		x.RowsPerSecond = round3(float64(rows) / x.Seconds)
		a.Exports = append(a.Exports, x)
	}
	if len(a.Exports) == 2 {
		a.GrowthRatio = ratio(a.Exports[1].PeakMiB, a.Exports[0].PeakMiB)
	}
	return a, nil
}

// childServe is a `usagelens serve` child process against the bench's
// ClickHouse, with a client for it; stop ends it (SIGTERM, then SIGKILL
// after 30 s) and closes its log.
type childServe struct {
	pid     int
	client  *apiClient
	logPath string
	stop    func()
}

// startServe starts `usagelens serve` on a free loopback port against the
// same ClickHouse, with extra flags, logging to name.log in the work
// directory, and waits until it is ready.
func (e *env) startServe(ctx context.Context, bin, name string, clientIDs []string, extra ...string) (*childServe, error) {
	return e.startServeEnv(ctx, bin, name, clientIDs, nil, extra...)
}

// startServeEnv is startServe with more environment variables (NAME=value).
func (e *env) startServeEnv(ctx context.Context, bin, name string, clientIDs []string, env []string, extra ...string) (*childServe, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logPath := filepath.Join(e.work, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", logPath, err)
	}
	args := append([]string{"serve", "--clickhouse-dsn", e.dsn, "--listen", addr, "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "USAGELENS_TOKEN_KEY="+string(e.key)), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("cannot start %s serve: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	client := newAPIClient("http://"+addr, e.key, clientIDs, 1)
	ch := &childServe{pid: cmd.Process.Pid, client: client, logPath: logPath, stop: func() {
		client.close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logf.Close()
	}}
	if err := waitReady(ctx, client, exited, logPath); err != nil {
		ch.stop()
		return nil, err
	}
	return ch, nil
}

// childExport starts `usagelens serve` against the same ClickHouse, waits
// until it is ready, runs one usage export through it and reads the
// process's VmHWM (peak resident set) before and after.
func (e *env) childExport(ctx context.Context, bin, clientID string, p workload.Period, n int) (RSSExport, error) {
	ch, err := e.startServe(ctx, bin, fmt.Sprintf("serve-rss-%d", n), []string{clientID})
	if err != nil {
		return RSSExport{}, err
	}
	defer ch.stop()
	idle, err := vmHWM(ch.pid)
	if err != nil {
		return RSSExport{}, err
	}
	var buf bytes.Buffer
	d, r := ch.client.timedGet(ctx, workload.Path(api.RouteUsageExport, clientID, p.Dates()), clientID, false, &buf)
	if f := r.failure(); f != "" {
		return RSSExport{}, fmt.Errorf("child usage export of %s..%s: %s (log %s)", day(p.Start), day(p.End), f, ch.logPath)
	}
	peak, err := vmHWM(ch.pid)
	if err != nil {
		return RSSExport{}, err
	}
	return RSSExport{Start: day(p.Start), End: day(p.End), IdleMiB: idle, PeakMiB: peak, Seconds: round3(d.Seconds()), Bytes: r.bytes}, nil
}

func waitReady(ctx context.Context, c *apiClient, exited <-chan error, logPath string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/readyz", nil)
		resp, err := c.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("the child usagelens serve exited before it was ready (%v): %s", err, truncate(string(log), 2000))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the child usagelens serve is not ready after 60s; see %s", logPath)
		}
	}
}

// vmHWM reads a process's peak resident set size in MiB.
func vmHWM(pid int) (float64, error) { return procMiB(pid, "VmHWM") }

// procMiB reads a kB field of /proc/PID/status (VmHWM, VmRSS) in MiB.
func procMiB(pid int, field string) (float64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/status"
	v := procField(path, field)
	kb, err := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read %s from %s (%q): %w", field, path, v, err)
	}
	return round3(kb / 1024), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cannot reserve a loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// procCPU is a process's user plus system CPU time so far, from
// /proc/PID/stat (in USER_HZ ticks, 100 per second on Linux); 0 when pid
// is 0 or unreadable.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	f := chserver.StatFields(pid)
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// serverPID reads the PID a clickhouse-server wrote into its data
// directory's status file.
func serverPID(dataDir string) int {
	pid, _ := strconv.Atoi(procField(filepath.Join(dataDir, "status"), "PID"))
	return pid
}
