package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/workload"
)

// JobCase is one compression of the twelve-month usage_reports job, timed
// from sending the POST to the first poll that answered succeeded.
type JobCase struct {
	Compression string    `json:"compression"`
	Seconds     float64   `json:"median_s"`
	Runs        []float64 `json:"runs_s"`
	// ServerSeconds is the median of finished_at − created_at as the job
	// records them (milliseconds), QueuedSeconds of started_at −
	// created_at: what the poll interval and the POST add is Seconds less
	// ServerSeconds.
	ServerSeconds float64 `json:"server_median_s"`
	QueuedSeconds float64 `json:"queued_median_s"`
	Records       uint64  `json:"record_count"`
	Bytes         uint64  `json:"bytes"`
	RowsPerSecond float64 `json:"rows_per_s"`
	Polls         int     `json:"polls_last_run"`
	// BenchCPU is this process's CPU time per job (median): service,
	// workers and poller; ClickHouseCPU the private server's.
	BenchCPU      float64 `json:"bench_cpu_s"`
	ClickHouseCPU float64 `json:"clickhouse_cpu_s,omitempty"`
	// Ratio is Seconds over the streaming export's median seconds.
	Ratio float64 `json:"ratio_to_streaming"`
}

// JobRSSSize is the export job of one size, each run in a fresh child
// `usagelens serve`.
type JobRSSSize struct {
	Rows  uint64 `json:"rows"`
	Start string `json:"start_date"`
	End   string `json:"end_date"`
	// IdleMiB is VmHWM before the job; PeakMiB VmHWM once it succeeded
	// (median of the children, each in Peaks); SampledMiB the highest
	// VmRSS sampled every jobsRSSSample during the job (median);
	// DownloadPeakMiB VmHWM after the file was downloaded through the same
	// child as well, DownloadSampledMiB the highest VmRSS sampled during
	// the download alone.
	IdleMiB            float64   `json:"idle_vmhwm_mib"`
	PeakMiB            float64   `json:"peak_vmhwm_mib"`
	Peaks              []float64 `json:"peaks_mib"`
	SampledMiB         float64   `json:"peak_sampled_vmrss_mib"`
	DownloadPeakMiB    float64   `json:"peak_vmhwm_after_download_mib"`
	DownloadPeaks      []float64 `json:"peaks_after_download_mib"`
	DownloadSampledMiB float64   `json:"download_peak_sampled_vmrss_mib"`
	Samples            int       `json:"samples_last_run"`
	Seconds            float64   `json:"job_median_s"`
	RowsPerSecond      float64   `json:"job_rows_per_s"`
	DownloadSeconds    float64   `json:"download_median_s"`
	DownloadRowsPS     float64   `json:"download_rows_per_s"`
	DownloadMBps       float64   `json:"download_mb_per_s"`
	Bytes              uint64    `json:"bytes"`
}

// JobsRSS is the peak resident memory of a child `usagelens serve`
// running usage_reports jobs of about 1 M and 10 M rows.
type JobsRSS struct {
	Binary string       `json:"binary"`
	Sizes  []JobRSSSize `json:"sizes"`
	// GrowthRatio is the larger job's median peak over the smaller one's;
	// DownloadGrowthRatio the same after their downloads.
	GrowthRatio         float64 `json:"growth_ratio"`
	DownloadGrowthRatio float64 `json:"download_growth_ratio"`
	Note                string  `json:"note,omitempty"`
}

// JobsAnchor is the export jobs' bench (issue item 6): a usage_reports job
// of the busiest client's twelve months, uncompressed and gzip, against
// the streaming /usage-reports/export of the same parameters read to the
// end, runs interleaved; the finished uncompressed file's download; and
// the service's peak RSS in a child process for jobs of 1 M and 10 M rows.
type JobsAnchor struct {
	ClientID  string     `json:"client_id"`
	Start     string     `json:"start_date"`
	End       string     `json:"end_date"`
	Rows      uint64     `json:"rows"`
	PollMS    int64      `json:"poll_ms"`
	Streaming ExportSide `json:"streaming"`
	Jobs      []JobCase  `json:"jobs"`
	Download  ExportSide `json:"download"`
	RSS       *JobsRSS   `json:"rss,omitempty"`
	Note      string     `json:"note,omitempty"`
}

const (
	// jobsPoll is how often a job's status is asked for.
	jobsPoll = 75 * time.Millisecond
	// jobsWait bounds one job from POST to succeeded.
	jobsWait = 10 * time.Minute
	// jobsRSSSample is how often the child's VmRSS is read during a job.
	jobsRSSSample = 20 * time.Millisecond
)

// jobsAnchor measures the twelve months in process, then the RSS sizes in
// child processes.
func (e *env) jobsAnchor(ctx context.Context) (*JobsAnchor, error) {
	if e.main.jobs == nil {
		return nil, fmt.Errorf("the jobs anchor needs the service built with export jobs")
	}
	c := e.clients[0]
	p := c.TwelveMo
	rows, err := e.periodRows(ctx, c.ID, p)
	if err != nil {
		return nil, err
	}
	a := &JobsAnchor{ClientID: c.ID, Start: day(p.Start), End: day(p.End), Rows: rows, PollMS: jobsPoll.Milliseconds(),
		Streaming: ExportSide{Name: "streaming /usage-reports/export"}, Download: ExportSide{Name: "download_url of the uncompressed job"}}
	e.log("  client %s, %s..%s: %d rows; %d timed rounds after one untimed, order rotating", c.ID, a.Start, a.End, rows, e.cfg.AnchorRuns)
	if err := e.jobsTwelveMonths(ctx, c.ID, p, a); err != nil {
		return nil, err
	}
	if e.cfg.JobsNoChild {
		a.Note = "the RSS part (child usagelens serve) was not run"
		return a, nil
	}
	if a.RSS, err = e.jobsRSS(ctx, c); err != nil {
		return nil, err
	}
	return a, nil
}

// periodRows counts a client's usage rows in p.
func (e *env) periodRows(ctx context.Context, clientID string, p workload.Period) (uint64, error) {
	var n uint64
	err := e.conn.QueryRow(ctx, `SELECT count() FROM app_usage_reports WHERE client_id = toUUID(?) AND activity_date >= toDate(?) AND activity_date <= toDate(?)`,
		clientID, day(p.Start), day(p.End)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("cannot count the usage rows of client %s in %s..%s: %w", clientID, day(p.Start), day(p.End), err)
	}
	return n, nil
}

// sample is one timed measurement: wall time, this process's CPU and the
// private ClickHouse's.
type sample struct{ wall, cpu, ch time.Duration }

func (e *env) timed(f func() error) (sample, error) {
	cpu0, ch0 := cpuTime(), procCPU(e.chPID)
	start := time.Now()
	err := f()
	return sample{wall: time.Since(start), cpu: cpuTime() - cpu0, ch: procCPU(e.chPID) - ch0}, err
}

// jobsTwelveMonths runs rounds of: the streaming export, the uncompressed
// job with its download, the gzip job; in an order rotating every round,
// the first round untimed.
func (e *env) jobsTwelveMonths(ctx context.Context, clientID string, p workload.Period, a *JobsAnchor) error {
	path := workload.Path(api.RouteUsageExport, clientID, p.Dates())
	type series struct {
		runs         []time.Duration
		cpu, ch      []float64
		server, wait []float64
		last         api.ExportJob
		polls        int
	}
	var stream, dl series
	jobSeries := map[string]*series{api.CompressionNone: {}, api.CompressionGzip: {}}
	record := func(s *series, m sample, timed bool) {
		if timed {
			s.runs = append(s.runs, m.wall)
			s.cpu, s.ch = append(s.cpu, m.cpu.Seconds()), append(s.ch, m.ch.Seconds())
		}
	}
	var streamed response
	steps := []func(timed bool) error{
		func(timed bool) error {
			var buf bytes.Buffer
			m, _ := e.timed(func() error { streamed = e.svc.get(ctx, path, clientID, false, &buf); return nil })
			if f := streamed.failure(); f != "" {
				return fmt.Errorf("streaming usage export %s: %s", path, f)
			}
			record(&stream, m, timed)
			a.Streaming.Bytes, a.Streaming.Lines = streamed.bytes, streamed.lines
			e.log("  streaming export: %.3fs, %d bytes, %d lines%s", m.wall.Seconds(), streamed.bytes, streamed.lines, untimed(timed))
			return nil
		},
	}
	for _, comp := range []string{api.CompressionNone, api.CompressionGzip} {
		steps = append(steps, func(timed bool) error {
			s := jobSeries[comp]
			var j jobResult
			m, err := e.timed(func() error {
				var err error
				j, err = runJob(ctx, e.svc, clientID, p, comp, e.log)
				return err
			})
			if err != nil {
				return err
			}
			record(s, m, timed)
			if timed {
				s.server = append(s.server, j.serverSeconds())
				s.wait = append(s.wait, j.queuedSeconds())
			}
			s.last, s.polls = j.job, j.polls
			e.log("  job (%s): succeeded after %.3fs (recorded %.3fs, queued %.3fs), %d polls, %d records, %d bytes%s",
				comp, m.wall.Seconds(), j.serverSeconds(), j.queuedSeconds(), j.polls, deref(j.job.RecordCount), deref(j.job.Bytes), untimed(timed))
			if comp == api.CompressionNone {
				var r response
				dm, _ := e.timed(func() error { r = download(ctx, e.svc, *j.job.DownloadURL); return nil })
				if f := r.failure(); f != "" {
					return fmt.Errorf("download of job %s: %s", j.job.ID, f)
				}
				if uint64(r.bytes) != deref(j.job.Bytes) {
					return fmt.Errorf("download of job %s: %d bytes, the job says %d", j.job.ID, r.bytes, deref(j.job.Bytes))
				}
				record(&dl, dm, timed)
				a.Download.Bytes, a.Download.Lines = r.bytes, r.lines
				e.log("  download: %.3fs, %d bytes, %d lines%s", dm.wall.Seconds(), r.bytes, r.lines, untimed(timed))
			}
			return deleteJob(ctx, e.svc, clientID, j.job.ID)
		})
	}
	for run := 0; run <= e.cfg.AnchorRuns; run++ {
		for i := range steps {
			if err := steps[(i+run)%len(steps)](run > 0); err != nil {
				return err
			}
		}
	}
	// The job's file is the streaming export's body, byte for byte.
	if a.Download.Bytes != a.Streaming.Bytes || a.Download.Lines != a.Streaming.Lines {
		return fmt.Errorf("the job's file has %d bytes and %d lines, the streaming export %d and %d: they are not the same export",
			a.Download.Bytes, a.Download.Lines, a.Streaming.Bytes, a.Streaming.Lines)
	}
	if got := deref(jobSeries[api.CompressionNone].last.RecordCount); got != a.Rows {
		return fmt.Errorf("the job wrote %d records, the period holds %d usage rows", got, a.Rows)
	}
	fill := func(out *ExportSide, s *series, rows uint64) float64 {
		med := median(s.runs).Seconds()
		for _, d := range s.runs {
			out.Runs = append(out.Runs, round3(d.Seconds()))
		}
		out.Seconds, out.RowsPerSecond, out.MBps = round3(med), round3(float64(rows)/med), round3(float64(out.Bytes)/1e6/med)
		out.BenchCPU = round3(medianFloat(s.cpu))
		if e.chPID > 0 {
			out.ClickHouseCPU = round3(medianFloat(s.ch))
		}
		return med
	}
	streamMed := fill(&a.Streaming, &stream, a.Rows)
	fill(&a.Download, &dl, a.Rows)
	for _, comp := range []string{api.CompressionNone, api.CompressionGzip} {
		s := jobSeries[comp]
		var side ExportSide
		med := fill(&side, s, a.Rows)
		jc := JobCase{Compression: comp, Seconds: side.Seconds, Runs: side.Runs, ServerSeconds: round3(medianFloat(s.server)),
			QueuedSeconds: round3(medianFloat(s.wait)), Records: deref(s.last.RecordCount), Bytes: deref(s.last.Bytes),
			RowsPerSecond: side.RowsPerSecond, Polls: s.polls, BenchCPU: side.BenchCPU, ClickHouseCPU: side.ClickHouseCPU,
			Ratio: ratio(med, streamMed)}
		a.Jobs = append(a.Jobs, jc)
	}
	return nil
}

func untimed(timed bool) string {
	if timed {
		return ""
	}
	return " (untimed)"
}

func deref(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// jobResult is a finished job as the last poll answered it.
type jobResult struct {
	job   api.ExportJob
	polls int
}

func parseStamp(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, *s)
	return t
}

func (j jobResult) serverSeconds() float64 {
	c, err := time.Parse(time.RFC3339, j.job.CreatedAt)
	if err != nil {
		return 0
	}
	return parseStamp(j.job.FinishedAt).Sub(c).Seconds()
}

func (j jobResult) queuedSeconds() float64 {
	c, err := time.Parse(time.RFC3339, j.job.CreatedAt)
	if err != nil {
		return 0
	}
	return parseStamp(j.job.StartedAt).Sub(c).Seconds()
}

// runJob submits a usage_reports job of p and polls it every jobsPoll
// until it succeeded (an error for any other end, or after jobsWait),
// logging its progress every few seconds.
func runJob(ctx context.Context, c *apiClient, clientID string, p workload.Period, compression string, log func(string, ...any)) (jobResult, error) {
	body, _ := json.Marshal(api.ExportRequest{Type: exports.UsageReports, Compression: compression,
		Params: map[string]string{api.ParamStartDate: day(p.Start), api.ParamEndDate: day(p.End)}})
	return submitJob(ctx, c, clientID, body, log)
}

// submitJob posts a job's body and polls it as runJob does.
func submitJob(ctx context.Context, c *apiClient, clientID string, body []byte, log func(string, ...any)) (jobResult, error) {
	var j jobResult
	if err := c.call(ctx, http.MethodPost, api.Path(api.RouteExports, clientID), clientID, body, http.StatusAccepted, &j.job); err != nil {
		return j, err
	}
	jobPath := api.Path(api.RouteExports, clientID) + "/" + j.job.ID
	deadline := time.Now().Add(jobsWait)
	lastLog := time.Now()
	for j.job.Status == api.JobQueued || j.job.Status == api.JobRunning {
		if time.Now().After(deadline) {
			_ = deleteJob(ctx, c, clientID, j.job.ID)
			return j, fmt.Errorf("export job %s is still %s after %s (%d records written)", j.job.ID, j.job.Status, jobsWait, j.job.Progress.RecordsWritten)
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(jobsPoll):
		}
		if err := c.call(ctx, http.MethodGet, jobPath, clientID, nil, http.StatusOK, &j.job); err != nil {
			return j, err
		}
		j.polls++
		if time.Since(lastLog) >= 5*time.Second {
			log("    job %s %s: %d records written", j.job.ID, j.job.Status, j.job.Progress.RecordsWritten)
			lastLog = time.Now()
		}
	}
	if j.job.Status != api.JobSucceeded {
		msg := ""
		if j.job.Error != nil {
			msg = ": " + j.job.Error.Code + ": " + j.job.Error.Message
		}
		return j, fmt.Errorf("export job %s ended %s%s", j.job.ID, j.job.Status, msg)
	}
	if j.job.DownloadURL == nil || j.job.RecordCount == nil || j.job.Bytes == nil {
		return j, fmt.Errorf("export job %s succeeded without a download_url, record_count or bytes: %+v", j.job.ID, j.job)
	}
	return j, nil
}

// deleteJob deletes a finished job, which removes its file.
func deleteJob(ctx context.Context, c *apiClient, clientID, id string) error {
	return c.call(ctx, http.MethodDelete, api.Path(api.RouteExports, clientID)+"/"+id, clientID, nil, http.StatusNoContent, nil)
}

// download reads a job's download_url (no bearer token) to the end,
// counting bytes and lines.
func download(ctx context.Context, c *apiClient, link string) response {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+link, nil)
	if err != nil {
		return response{err: err}
	}
	var buf bytes.Buffer
	return do(c.http, req, false, &buf)
}

// call sends a small request with the client's token and decodes the JSON
// answer into out (when not nil); any status but want is an error.
func (c *apiClient) call(ctx context.Context, method, path, client string, body []byte, want int, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("cannot build request %s %s: %w", method, truncate(path, 80), err)
	}
	if tok, ok := c.tokens[client]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, truncate(path, 80), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, truncate(path, 80), err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s", method, truncate(path, 80), resp.StatusCode, want, truncate(strings.TrimSpace(string(b)), 300))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: cannot decode the answer: %w", method, truncate(path, 80), err)
		}
	}
	return nil
}

// jobsRSS runs usage_reports jobs of about rssRows rows (the shortest
// ranges ending on the busiest client's last day that hold them, as the
// RSS anchor's exports), each in rssRepeats fresh children.
func (e *env) jobsRSS(ctx context.Context, c workload.ClientShape) (*JobsRSS, error) {
	bin := e.cfg.Binary
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("cannot find the usagelens executable for the RSS child: %w", err)
		}
	}
	r := &JobsRSS{Binary: bin}
	for i, target := range rssRows {
		p, rows, err := exportRange(ctx, e.conn, c, target)
		if err != nil {
			return nil, err
		}
		if i > 0 && rows <= r.Sizes[i-1].Rows {
			r.Note = fmt.Sprintf("the busiest client has only %d rows within %d days: no job larger than the first", rows, 366)
			break
		}
		if rows < target {
			r.Note = fmt.Sprintf("the busiest client has only %d rows within 366 days (%d wanted); the larger job has them all", rows, target)
		}
		x := JobRSSSize{Rows: rows, Start: day(p.Start), End: day(p.End)}
		var idles, sampled, dlSampled, secs, dlSecs []float64
		for rep := range rssRepeats {
			one, err := e.childJob(ctx, bin, c.ID, p, i*rssRepeats+rep)
			if err != nil {
				return nil, err
			}
			if one.Rows != rows {
				return nil, fmt.Errorf("the child's job of %s..%s wrote %d records, the range holds %d usage rows", x.Start, x.End, one.Rows, rows)
			}
			x.Bytes, x.Samples = one.Bytes, one.Samples
			x.Peaks = append(x.Peaks, one.PeakMiB)
			x.DownloadPeaks = append(x.DownloadPeaks, one.DownloadPeakMiB)
			idles, sampled, dlSampled = append(idles, one.IdleMiB), append(sampled, one.SampledMiB), append(dlSampled, one.DownloadSampledMiB)
			secs, dlSecs = append(secs, one.Seconds), append(dlSecs, one.DownloadSeconds)
			e.log("  %d-row job in a fresh child: VmHWM %.1f MiB after the job (idle %.1f, sampled VmRSS max %.1f over %d samples), %.1f MiB after the download (sampled VmRSS max %.1f during it); job %.2fs, download %.2fs",
				rows, one.PeakMiB, one.IdleMiB, one.SampledMiB, one.Samples, one.DownloadPeakMiB, one.DownloadSampledMiB, one.Seconds, one.DownloadSeconds)
		}
		x.PeakMiB = round3(medianFloat(append([]float64{}, x.Peaks...)))
		x.DownloadPeakMiB = round3(medianFloat(append([]float64{}, x.DownloadPeaks...)))
		x.IdleMiB, x.SampledMiB, x.DownloadSampledMiB = round3(medianFloat(idles)), round3(medianFloat(sampled)), round3(medianFloat(dlSampled))
		x.Seconds, x.DownloadSeconds = round3(medianFloat(secs)), round3(medianFloat(dlSecs))
		x.RowsPerSecond, x.DownloadRowsPS = round3(float64(rows)/x.Seconds), round3(float64(rows)/x.DownloadSeconds)
		x.DownloadMBps = round3(float64(x.Bytes) / 1e6 / x.DownloadSeconds)
		r.Sizes = append(r.Sizes, x)
	}
	if len(r.Sizes) == 2 {
		r.GrowthRatio = ratio(r.Sizes[1].PeakMiB, r.Sizes[0].PeakMiB)
		r.DownloadGrowthRatio = ratio(r.Sizes[1].DownloadPeakMiB, r.Sizes[0].DownloadPeakMiB)
	}
	return r, nil
}

// childJob starts a fresh `usagelens serve` with export jobs in a
// directory of its own, runs one uncompressed usage_reports job of p
// through it while sampling its VmRSS, downloads the file, and reads
// VmHWM before the job, after it and after the download.
func (e *env) childJob(ctx context.Context, bin, clientID string, p workload.Period, n int) (JobRSSSize, error) {
	dir := filepath.Join(e.work, fmt.Sprintf("jobs-rss-%d", n))
	defer os.RemoveAll(dir)
	ch, err := e.startServe(ctx, bin, fmt.Sprintf("serve-jobs-rss-%d", n), []string{clientID},
		"--export-dir", dir, "--instance", fmt.Sprintf("bench-jobs-rss-%d-%d", n, time.Now().UnixNano()),
		"--export-workers", "2", "--export-jobs-per-client", "64")
	if err != nil {
		return JobRSSSize{}, err
	}
	defer ch.stop()
	x := JobRSSSize{Start: day(p.Start), End: day(p.End)}
	if x.IdleMiB, err = vmHWM(ch.pid); err != nil {
		return x, err
	}
	stopSampling := sampleRSS(ch.pid)
	start := time.Now()
	j, err := runJob(ctx, ch.client, clientID, p, api.CompressionNone, e.log)
	x.Seconds = round3(time.Since(start).Seconds())
	x.SampledMiB, x.Samples = stopSampling()
	if err != nil {
		return x, fmt.Errorf("child export job of %s..%s: %w (log %s)", x.Start, x.End, err, ch.logPath)
	}
	x.Rows, x.Bytes = deref(j.job.RecordCount), deref(j.job.Bytes)
	if x.PeakMiB, err = vmHWM(ch.pid); err != nil {
		return x, err
	}
	stopSampling = sampleRSS(ch.pid)
	start = time.Now()
	r := download(ctx, ch.client, *j.job.DownloadURL)
	x.DownloadSeconds = round3(time.Since(start).Seconds())
	x.DownloadSampledMiB, _ = stopSampling()
	if f := r.failure(); f != "" {
		return x, fmt.Errorf("download of the child's job %s: %s (log %s)", j.job.ID, f, ch.logPath)
	}
	if uint64(r.bytes) != x.Bytes {
		return x, fmt.Errorf("download of the child's job %s: %d bytes, the job says %d", j.job.ID, r.bytes, x.Bytes)
	}
	if x.DownloadPeakMiB, err = vmHWM(ch.pid); err != nil {
		return x, err
	}
	return x, deleteJob(ctx, ch.client, clientID, j.job.ID)
}

// sampleRSS reads pid's VmRSS every jobsRSSSample until the returned stop
// is called, which answers the highest value read and how many were.
func sampleRSS(pid int) (stop func() (float64, int)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var peak float64
	var n int
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(jobsRSSSample)
		defer tick.Stop()
		for {
			if v, err := procMiB(pid, "VmRSS"); err == nil {
				peak, n = max(peak, v), n+1
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (float64, int) { close(done); wg.Wait(); return peak, n }
}

// writeJobs writes the jobs anchor's tables.
func writeJobs(w io.Writer, a *JobsAnchor) {
	fmt.Fprintf(w, "\nusage_reports export jobs of client %s, %s..%s, %d rows, against the streaming export (polled every %d ms, median of %d runs):\n",
		a.ClientID, a.Start, a.End, a.Rows, a.PollMS, len(a.Streaming.Runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "what\tseconds\trecorded s\tqueued s\trows/s\tMB/s\tbytes\tbench CPU s\tClickHouse CPU s\t/ streaming\truns s\t")
	runs := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, x := range xs {
			s[i] = strconv.FormatFloat(x, 'f', 2, 64)
		}
		return strings.Join(s, " ")
	}
	st := a.Streaming
	fmt.Fprintf(tw, "%s\t%.3f\t\t\t%.0f\t%.1f\t%d\t%.2f\t%.2f\t1.000\t%s\t\n", st.Name, st.Seconds, st.RowsPerSecond, st.MBps, st.Bytes, st.BenchCPU, st.ClickHouseCPU, runs(st.Runs))
	for _, j := range a.Jobs {
		fmt.Fprintf(tw, "job, compression %s, POST to succeeded\t%.3f\t%.3f\t%.3f\t%.0f\t%.1f\t%d\t%.2f\t%.2f\t%.3f\t%s\t\n", j.Compression, j.Seconds, j.ServerSeconds, j.QueuedSeconds,
			j.RowsPerSecond, float64(j.Bytes)/1e6/j.Seconds, j.Bytes, j.BenchCPU, j.ClickHouseCPU, j.Ratio, runs(j.Runs))
	}
	d := a.Download
	fmt.Fprintf(tw, "%s\t%.3f\t\t\t%.0f\t%.1f\t%d\t%.2f\t\t\t%s\t\n", d.Name, d.Seconds, d.RowsPerSecond, d.MBps, d.Bytes, d.BenchCPU, runs(d.Runs))
	tw.Flush()
	if a.Note != "" {
		fmt.Fprintf(w, "note: %s\n", a.Note)
	}
	r := a.RSS
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\npeak RSS of a child `usagelens serve` running one uncompressed usage_reports job per fresh process, median of %d processes:\n", rssRepeats)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rows\trange\tidle MiB\tpeak MiB\tpeaks MiB\tsampled VmRSS MiB\tafter download MiB\tpeaks after download MiB\tsampled during download MiB\tjob s\tjob rows/s\tdownload s\tdownload rows/s\tdownload MB/s\t")
	mib := func(xs []float64) string {
		s := make([]string, len(xs))
		for i, p := range xs {
			s[i] = strconv.FormatFloat(p, 'f', 1, 64)
		}
		return strings.Join(s, " ")
	}
	for _, x := range r.Sizes {
		fmt.Fprintf(tw, "%d\t%s..%s\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%s\t%.1f\t%.2f\t%.0f\t%.2f\t%.0f\t%.1f\t\n", x.Rows, x.Start, x.End, x.IdleMiB, x.PeakMiB, mib(x.Peaks),
			x.SampledMiB, x.DownloadPeakMiB, mib(x.DownloadPeaks), x.DownloadSampledMiB, x.Seconds, x.RowsPerSecond, x.DownloadSeconds, x.DownloadRowsPS, x.DownloadMBps)
	}
	tw.Flush()
	if len(r.Sizes) == 2 {
		fmt.Fprintf(w, "peak RSS ratio (larger / smaller job): %.3f; after the downloads: %.3f\n", r.GrowthRatio, r.DownloadGrowthRatio)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "note: %s\n", r.Note)
	}
}

// jobsTargets is the flat-memory claim of the jobs: the larger job's peak
// within 10 % of the smaller one's, as the RSS anchor's exports.
func jobsTargets(a *JobsAnchor) []Target {
	r := a.RSS
	if r == nil || len(r.Sizes) != 2 {
		return nil
	}
	g, d := r.GrowthRatio, r.DownloadGrowthRatio
	return []Target{{Name: "peak RSS, larger / smaller usage_reports job", Want: "<= 1.1", Got: g, Unit: "x", Met: g > 0 && g <= 1.1,
		Note: fmt.Sprintf("%d vs %d rows; %.1f vs %.1f MiB", r.Sizes[1].Rows, r.Sizes[0].Rows, r.Sizes[1].PeakMiB, r.Sizes[0].PeakMiB)},
		{Name: "peak RSS after the download, larger / smaller job", Want: "<= 1.1", Got: d, Unit: "x", Met: d > 0 && d <= 1.1,
			Note: fmt.Sprintf("%d vs %d bytes; %.1f vs %.1f MiB", r.Sizes[1].Bytes, r.Sizes[0].Bytes, r.Sizes[1].DownloadPeakMiB, r.Sizes[0].DownloadPeakMiB)}}
}
