package bench

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
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

// XLSXRun is one format and size of the streaming usage export: medians
// over fresh child processes (or the in-process service without them).
type XLSXRun struct {
	Format string `json:"format"`
	Rows   uint64 `json:"rows"`
	Start  string `json:"start_date"`
	End    string `json:"end_date"`
	// Seconds is the time from sending the request to its last byte;
	// HeadersSeconds to the response's status and headers;
	// FirstByteSeconds to the first byte of the body. A workbook is
	// written at the end of the rows, so its headers and first byte come
	// only then.
	Seconds          float64   `json:"last_byte_median_s"`
	HeadersSeconds   float64   `json:"headers_median_s"`
	FirstByteSeconds float64   `json:"first_byte_median_s"`
	Runs             []float64 `json:"last_byte_runs_s"`
	FirstByteRuns    []float64 `json:"first_byte_runs_s"`
	RowsPerSecond    float64   `json:"rows_per_s"`
	MBps             float64   `json:"mb_per_s"`
	Bytes            int64     `json:"bytes"`
	// IdleMiB is the child's VmHWM before the request, PeakMiB after it
	// (median of the children, each in Peaks), SampledMiB the highest
	// VmRSS sampled every jobsRSSSample during it (median).
	IdleMiB    float64   `json:"idle_vmhwm_mib,omitempty"`
	PeakMiB    float64   `json:"peak_vmhwm_mib,omitempty"`
	Peaks      []float64 `json:"peaks_mib,omitempty"`
	SampledMiB float64   `json:"peak_sampled_vmrss_mib,omitempty"`
	// TempPeakBytes is the most the child's TMPDIR (excelize's
	// StreamWriter spills a sheet's XML there past 16 MiB) held at once,
	// sampled with the RSS (median).
	TempPeakBytes int64 `json:"tmpdir_peak_bytes,omitempty"`
	// Sheets and DataRows are what the check read from the workbook's
	// zip (each sheet's rows less its header), or the CSV's lines less
	// the header.
	Sheets   int   `json:"sheets,omitempty"`
	DataRows int64 `json:"data_rows"`
}

// XLSXJob is a usage_reports job with format=xlsx, each run in a fresh
// child `usagelens serve` (or the in-process service without them).
type XLSXJob struct {
	Rows  uint64 `json:"rows"`
	Start string `json:"start_date"`
	End   string `json:"end_date"`
	// Seconds is from sending POST …/exports to the first poll that
	// answered succeeded; ServerSeconds the job's finished_at −
	// created_at.
	Seconds       float64   `json:"median_s"`
	ServerSeconds float64   `json:"server_median_s"`
	Runs          []float64 `json:"runs_s"`
	RowsPerSecond float64   `json:"rows_per_s"`
	Bytes         uint64    `json:"bytes"`
	IdleMiB       float64   `json:"idle_vmhwm_mib,omitempty"`
	PeakMiB       float64   `json:"peak_vmhwm_mib,omitempty"`
	Peaks         []float64 `json:"peaks_mib,omitempty"`
	SampledMiB    float64   `json:"peak_sampled_vmrss_mib,omitempty"`
	// TempPeakBytes is the most the child's TMPDIR and export directory
	// held at once during the job (median).
	TempPeakBytes   int64   `json:"disk_peak_bytes,omitempty"`
	DownloadSeconds float64 `json:"download_median_s"`
	DownloadPeakMiB float64 `json:"peak_vmhwm_after_download_mib,omitempty"`
	Sheets          int     `json:"sheets"`
	DataRows        int64   `json:"data_rows"`
}

// XLSXAnchor is the XLSX exports' bench: the busiest client's streaming
// usage export of about 1 M rows as CSV and as XLSX, and of about 2 M
// rows as XLSX, each through a fresh child `usagelens serve` whose peak
// RSS is read, and a 1 M-row format=xlsx job.
type XLSXAnchor struct {
	ClientID string    `json:"client_id"`
	Binary   string    `json:"binary,omitempty"`
	Exports  []XLSXRun `json:"exports"`
	Job      *XLSXJob  `json:"job,omitempty"`
	// GrowthRatio is the larger XLSX export's median peak over the
	// smaller one's; ToCSV the smaller XLSX export's over the CSV export's
	// of the same rows.
	GrowthRatio float64 `json:"growth_ratio,omitempty"`
	ToCSV       float64 `json:"xlsx_to_csv_peak_ratio,omitempty"`
	Note        string  `json:"note,omitempty"`
}

// xlsxRows are the sizes of the XLSX exports; the first is exported as
// CSV too.
var xlsxRows = []uint64{1_000_000, 2_000_000}

// xlsxWait bounds one export or job of the anchor.
const xlsxWait = 10 * time.Minute

func (e *env) xlsxAnchor(ctx context.Context) (*XLSXAnchor, error) {
	c := e.clients[0]
	a := &XLSXAnchor{ClientID: c.ID}
	child := !e.cfg.XLSXNoChild
	if child {
		a.Binary = e.cfg.Binary
		if a.Binary == "" {
			var err error
			if a.Binary, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("cannot find the usagelens executable for the XLSX child: %w", err)
			}
		}
	} else if e.main.jobs == nil {
		return nil, fmt.Errorf("the xlsx anchor without children needs the service built with export jobs")
	}
	type size struct {
		p    workload.Period
		rows uint64
	}
	var sizes []size
	for i, target := range xlsxRows {
		p, rows, err := exportRange(ctx, e.conn, c, target)
		if err != nil {
			return nil, err
		}
		if i > 0 && rows <= sizes[i-1].rows {
			a.Note = fmt.Sprintf("the busiest client has only %d rows within 366 days: no XLSX export larger than the first", rows)
			break
		}
		sizes = append(sizes, size{p, rows})
	}
	// The cases of one round: CSV and XLSX of the first size, XLSX of the
	// larger ones, then the job of the first size.
	type kase struct {
		format string
		size   size
		runs   []xlsxOne
	}
	cases := []*kase{{format: api.FormatCSV, size: sizes[0]}}
	for _, s := range sizes {
		cases = append(cases, &kase{format: api.FormatXLSX, size: s})
	}
	var jobRuns []xlsxJobOne
	repeats := rssRepeats
	if !child {
		repeats = 1
	}
	n := 0
	for rep := range repeats {
		for _, k := range cases {
			n++
			one, err := e.xlsxExport(ctx, a.Binary, c.ID, k.size.p, k.format, child, n)
			if err != nil {
				return nil, err
			}
			want := int64(k.size.rows)
			if one.dataRows != want {
				return nil, fmt.Errorf("the %s export of %s..%s holds %d data rows, the range %d usage rows", k.format, day(k.size.p.Start), day(k.size.p.End), one.dataRows, want)
			}
			k.runs = append(k.runs, one)
			e.log("  %s, %d rows (%d/%d): headers %.2fs, first byte %.2fs, last byte %.2fs, %d bytes, %d sheets; VmHWM %.1f MiB (idle %.1f, sampled VmRSS max %.1f), TMPDIR peak %.1f MiB",
				k.format, k.size.rows, rep+1, repeats, one.headers.Seconds(), one.first.Seconds(), one.last.Seconds(), one.bytes, one.sheets, one.peak, one.idle, one.sampled, float64(one.tmp)/(1<<20))
		}
		n++
		j, err := e.xlsxJob(ctx, a.Binary, c.ID, sizes[0].p, child, n)
		if err != nil {
			return nil, err
		}
		if j.records != sizes[0].rows || j.dataRows != int64(sizes[0].rows) {
			return nil, fmt.Errorf("the xlsx job of %s..%s wrote %d records and its workbook holds %d data rows, the range %d usage rows",
				day(sizes[0].p.Start), day(sizes[0].p.End), j.records, j.dataRows, sizes[0].rows)
		}
		jobRuns = append(jobRuns, j)
		e.log("  xlsx job, %d rows (%d/%d): succeeded after %.2fs (recorded %.2fs), %d bytes, %d sheets; VmHWM %.1f MiB (idle %.1f, sampled VmRSS max %.1f), disk peak %.1f MiB; download %.2fs, VmHWM after it %.1f MiB",
			sizes[0].rows, rep+1, repeats, j.seconds.Seconds(), j.server, j.bytes, j.sheets, j.peak, j.idle, j.sampled, float64(j.disk)/(1<<20), j.download.Seconds(), j.downloadPeak)
	}
	for _, k := range cases {
		a.Exports = append(a.Exports, summarizeXLSX(k.format, k.size.p, k.size.rows, k.runs))
	}
	a.Job = summarizeXLSXJob(sizes[0].p, sizes[0].rows, jobRuns)
	if child {
		a.ToCSV = ratio(a.Exports[1].PeakMiB, a.Exports[0].PeakMiB)
		if len(a.Exports) > 2 {
			a.GrowthRatio = ratio(a.Exports[len(a.Exports)-1].PeakMiB, a.Exports[1].PeakMiB)
		}
	} else {
		a.Note = strings.TrimPrefix(a.Note+"; the child processes (peak RSS, TMPDIR) were not run: in process", "; ")
	}
	return a, nil
}

// xlsxOne is one streaming export as measured.
type xlsxOne struct {
	headers, first, last time.Duration
	bytes                int64
	sheets               int
	dataRows             int64
	idle, peak, sampled  float64
	tmp                  int64
}

type xlsxJobOne struct {
	seconds, download   time.Duration
	server              float64
	records, bytes      uint64
	sheets              int
	dataRows            int64
	idle, peak, sampled float64
	downloadPeak        float64
	disk                int64
}

func summarizeXLSX(format string, p workload.Period, rows uint64, runs []xlsxOne) XLSXRun {
	x := XLSXRun{Format: format, Rows: rows, Start: day(p.Start), End: day(p.End)}
	var last, first, headers []time.Duration
	var peaks, idles, sampled, tmps []float64
	for _, r := range runs {
		last, first, headers = append(last, r.last), append(first, r.first), append(headers, r.headers)
		x.Runs, x.FirstByteRuns = append(x.Runs, round3(r.last.Seconds())), append(x.FirstByteRuns, round3(r.first.Seconds()))
		if r.peak > 0 {
			x.Peaks = append(x.Peaks, r.peak)
			peaks, idles, sampled, tmps = append(peaks, r.peak), append(idles, r.idle), append(sampled, r.sampled), append(tmps, float64(r.tmp))
		}
		x.Bytes, x.Sheets, x.DataRows = r.bytes, r.sheets, r.dataRows
	}
	x.Seconds, x.FirstByteSeconds, x.HeadersSeconds = round3(median(last).Seconds()), round3(median(first).Seconds()), round3(median(headers).Seconds())
	x.RowsPerSecond, x.MBps = round3(float64(rows)/x.Seconds), round3(float64(x.Bytes)/1e6/x.Seconds)
	if len(peaks) > 0 {
		x.PeakMiB, x.IdleMiB, x.SampledMiB = round3(medianFloat(peaks)), round3(medianFloat(idles)), round3(medianFloat(sampled))
		x.TempPeakBytes = int64(medianFloat(tmps))
	}
	return x
}

func summarizeXLSXJob(p workload.Period, rows uint64, runs []xlsxJobOne) *XLSXJob {
	j := &XLSXJob{Rows: rows, Start: day(p.Start), End: day(p.End)}
	var secs, dls []time.Duration
	var server, peaks, idles, sampled, disks, dlPeaks []float64
	for _, r := range runs {
		secs, dls, server = append(secs, r.seconds), append(dls, r.download), append(server, r.server)
		j.Runs = append(j.Runs, round3(r.seconds.Seconds()))
		if r.peak > 0 {
			j.Peaks = append(j.Peaks, r.peak)
			peaks, idles, sampled = append(peaks, r.peak), append(idles, r.idle), append(sampled, r.sampled)
			disks, dlPeaks = append(disks, float64(r.disk)), append(dlPeaks, r.downloadPeak)
		}
		j.Bytes, j.Sheets, j.DataRows = r.bytes, r.sheets, r.dataRows
	}
	j.Seconds, j.DownloadSeconds, j.ServerSeconds = round3(median(secs).Seconds()), round3(median(dls).Seconds()), round3(medianFloat(server))
	j.RowsPerSecond = round3(float64(rows) / j.Seconds)
	if len(peaks) > 0 {
		j.PeakMiB, j.IdleMiB, j.SampledMiB = round3(medianFloat(peaks)), round3(medianFloat(idles)), round3(medianFloat(sampled))
		j.TempPeakBytes, j.DownloadPeakMiB = int64(medianFloat(disks)), round3(medianFloat(dlPeaks))
	}
	return j
}

// xlsxExport runs one streaming usage export of p in format: through a
// fresh child with a TMPDIR of its own (child), or the in-process
// service. A CSV body is counted; a workbook is written to a file in the
// work directory, checked there and removed.
func (e *env) xlsxExport(ctx context.Context, bin, clientID string, p workload.Period, format string, child bool, n int) (xlsxOne, error) {
	var one xlsxOne
	c := e.svc
	var mon *monitor
	if child {
		tmp := filepath.Join(e.work, fmt.Sprintf("xlsx-tmp-%d", n))
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return one, err
		}
		defer os.RemoveAll(tmp)
		ch, err := e.startServeEnv(ctx, bin, fmt.Sprintf("serve-xlsx-%d", n), []string{clientID}, []string{"TMPDIR=" + tmp})
		if err != nil {
			return one, err
		}
		defer ch.stop()
		if one.idle, err = vmHWM(ch.pid); err != nil {
			return one, err
		}
		c = ch.client
		mon = startMonitor(ch.pid, []string{tmp}, e.log, format+" export")
	}
	path := workload.Path(api.RouteUsageExport, clientID, p.Dates().Add(api.ParamFormat, format))
	var dst io.Writer
	var file string
	var cnt sink
	if format == api.FormatXLSX {
		file = filepath.Join(e.work, fmt.Sprintf("xlsx-body-%d.xlsx", n))
		f, err := os.Create(file)
		if err != nil {
			return one, err
		}
		defer os.Remove(file)
		defer f.Close()
		dst = f
	} else {
		dst = &cnt
	}
	rctx, cancel := context.WithTimeout(ctx, xlsxWait)
	st, err := streamBody(rctx, c, path, clientID, dst)
	cancel()
	if mon != nil {
		one.sampled, one.tmp = mon.stop()
	}
	if err != nil {
		return one, fmt.Errorf("%s usage export of %s..%s: %w", format, day(p.Start), day(p.End), err)
	}
	one.headers, one.first, one.last, one.bytes = st.headers, st.first, st.last, st.bytes
	if child {
		if one.peak, err = vmHWM(mon.pid); err != nil {
			return one, err
		}
	}
	switch format {
	case api.FormatXLSX:
		if st.contentType != api.XLSXType {
			return one, fmt.Errorf("the xlsx export answered Content-Type %q", st.contentType)
		}
		var rows int64
		if one.sheets, rows, err = checkXLSX(file); err != nil {
			return one, err
		}
		one.dataRows = rows - int64(one.sheets) // a header on every sheet
	default:
		one.dataRows = cnt.lines - 1
	}
	return one, nil
}

// xlsxJob runs one format=xlsx usage_reports job of p: in a fresh child
// (its export directory and TMPDIR in the work directory, their bytes
// sampled with its RSS), or the in-process service; then downloads and
// checks the workbook.
func (e *env) xlsxJob(ctx context.Context, bin, clientID string, p workload.Period, child bool, n int) (xlsxJobOne, error) {
	var one xlsxJobOne
	c := e.svc
	var mon *monitor
	pid := 0
	if child {
		tmp, dir := filepath.Join(e.work, fmt.Sprintf("xlsx-tmp-%d", n)), filepath.Join(e.work, fmt.Sprintf("xlsx-exports-%d", n))
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return one, err
		}
		defer os.RemoveAll(tmp)
		defer os.RemoveAll(dir)
		ch, err := e.startServeEnv(ctx, bin, fmt.Sprintf("serve-xlsx-job-%d", n), []string{clientID}, []string{"TMPDIR=" + tmp},
			"--export-dir", dir, "--instance", fmt.Sprintf("bench-xlsx-%d-%d", n, time.Now().UnixNano()),
			"--export-workers", "2", "--export-jobs-per-client", "64")
		if err != nil {
			return one, err
		}
		defer ch.stop()
		pid = ch.pid
		if one.idle, err = vmHWM(pid); err != nil {
			return one, err
		}
		c = ch.client
		mon = startMonitor(pid, []string{tmp, dir}, e.log, "xlsx job")
	}
	start := time.Now()
	j, err := runJobParams(ctx, c, clientID, map[string]string{api.ParamStartDate: day(p.Start), api.ParamEndDate: day(p.End), api.ParamFormat: api.FormatXLSX},
		api.CompressionNone, e.log)
	one.seconds = time.Since(start)
	if mon != nil {
		one.sampled, one.disk = mon.stop()
	}
	if err != nil {
		return one, fmt.Errorf("xlsx job of %s..%s: %w", day(p.Start), day(p.End), err)
	}
	one.server, one.records, one.bytes = j.serverSeconds(), deref(j.job.RecordCount), deref(j.job.Bytes)
	if child {
		if one.peak, err = vmHWM(pid); err != nil {
			return one, err
		}
	}
	file := filepath.Join(e.work, fmt.Sprintf("xlsx-job-%d.xlsx", n))
	f, err := os.Create(file)
	if err != nil {
		return one, err
	}
	defer os.Remove(file)
	rctx, cancel := context.WithTimeout(ctx, xlsxWait)
	st, err := streamBody(rctx, c, *j.job.DownloadURL, "", f)
	cancel()
	f.Close()
	if err != nil {
		return one, fmt.Errorf("download of the xlsx job %s: %w", j.job.ID, err)
	}
	if uint64(st.bytes) != one.bytes || st.contentType != api.XLSXType {
		return one, fmt.Errorf("download of the xlsx job %s: %d bytes of %q, the job says %d", j.job.ID, st.bytes, st.contentType, one.bytes)
	}
	one.download = st.last
	if child {
		if one.downloadPeak, err = vmHWM(pid); err != nil {
			return one, err
		}
	}
	var rows int64
	if one.sheets, rows, err = checkXLSX(file); err != nil {
		return one, err
	}
	one.dataRows = rows - int64(one.sheets)
	return one, deleteJob(ctx, c, clientID, j.job.ID)
}

// streamed is one GET read to the end: when its headers, first and last
// byte came, its bytes and Content-Type.
type streamed struct {
	headers, first, last time.Duration
	bytes                int64
	contentType          string
}

// streamBody sends GET base+path (with the client's token when it has
// one) and copies the body to dst, timing the headers, the first byte of
// the body and the last.
func streamBody(ctx context.Context, c *apiClient, path, client string, dst io.Writer) (streamed, error) {
	var s streamed
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return s, err
	}
	if tok, ok := c.tokens[client]; ok {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	s.headers, s.contentType = time.Since(start), resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return s, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if s.bytes == 0 {
				s.first = time.Since(start)
			}
			s.bytes += int64(n)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return s, werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
	}
	s.last = time.Since(start)
	return s, nil
}

// checkXLSX opens a workbook's zip from disk, reads every entry to its
// end (the zip reader checks each one's CRC-32) and counts the rows of
// its sheets, streaming: the bench never holds the workbook in memory.
// It answers the sheets and the rows they hold, headers included.
func checkXLSX(path string) (sheets int, rows int64, err error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, 0, fmt.Errorf("the workbook %s is not a zip: %w", path, err)
	}
	defer zr.Close()
	seen := map[string]bool{}
	buf := make([]byte, 256<<10)
	end := []byte("</row>")
	for _, f := range zr.File {
		seen[f.Name] = true
		rc, err := f.Open()
		if err != nil {
			return 0, 0, fmt.Errorf("the workbook's %s: %w", f.Name, err)
		}
		sheet := strings.HasPrefix(f.Name, "xl/worksheets/sheet") && strings.HasSuffix(f.Name, ".xml")
		var carry []byte
		for {
			n, rerr := rc.Read(buf)
			if sheet && n > 0 {
				// A tag split across reads: keep the last few bytes.
				chunk := append(carry, buf[:n]...)
				rows += int64(bytes.Count(chunk, end))
				carry = append(carry[:0], chunk[max(0, len(chunk)-len(end)+1):]...)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rc.Close()
				return 0, 0, fmt.Errorf("the workbook's %s: %w", f.Name, rerr)
			}
		}
		rc.Close()
		if sheet {
			sheets++
		}
	}
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml"} {
		if !seen[name] {
			return 0, 0, fmt.Errorf("the workbook %s has no %s", path, name)
		}
	}
	if sheets == 0 {
		return 0, 0, fmt.Errorf("the workbook %s has no sheet", path)
	}
	return sheets, rows, nil
}

// monitor samples a child's VmRSS and the bytes in some directories every
// jobsRSSSample, logging them every five seconds, until stop.
type monitor struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup
	rss  float64
	disk int64
}

func startMonitor(pid int, dirs []string, log func(string, ...any), what string) *monitor {
	m := &monitor{pid: pid, done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(jobsRSSSample)
		defer tick.Stop()
		start, lastLog := time.Now(), time.Now()
		for {
			rss, _ := procMiB(pid, "VmRSS")
			var disk int64
			for _, d := range dirs {
				disk += dirBytes(d)
			}
			m.rss, m.disk = max(m.rss, rss), max(m.disk, disk)
			if time.Since(lastLog) >= 5*time.Second {
				log("    %s, %.0fs: VmRSS %.1f MiB, %.1f MiB on disk", what, time.Since(start).Seconds(), rss, float64(disk)/(1<<20))
				lastLog = time.Now()
			}
			select {
			case <-m.done:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// stop ends the sampling and answers the highest VmRSS (MiB) and bytes on
// disk seen.
func (m *monitor) stop() (float64, int64) {
	close(m.done)
	m.wg.Wait()
	return m.rss, m.disk
}

// dirBytes is the size of the regular files under dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// runJobParams is runJob with the job's params given whole.
func runJobParams(ctx context.Context, c *apiClient, clientID string, params map[string]string, compression string, log func(string, ...any)) (jobResult, error) {
	body, _ := json.Marshal(api.ExportRequest{Type: exports.UsageReports, Compression: compression, Params: params})
	return submitJob(ctx, c, clientID, body, log)
}

// writeXLSX writes the XLSX anchor's table.
func writeXLSX(w io.Writer, a *XLSXAnchor) {
	fmt.Fprintf(w, "\nusage exports of client %s as CSV and XLSX, each through a fresh child `usagelens serve`, median of %d:\n", a.ClientID, len(a.Exports[0].Runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "format\trows\trange\theaders s\tfirst byte s\tlast byte s\trows/s\tMB/s\tbytes\tsheets\tidle MiB\tpeak MiB\tpeaks MiB\tsampled VmRSS MiB\tTMPDIR peak MiB\tlast byte runs s\t")
	for _, x := range a.Exports {
		fmt.Fprintf(tw, "%s\t%d\t%s..%s\t%.2f\t%.2f\t%.2f\t%.0f\t%.1f\t%d\t%d\t%.1f\t%.1f\t%s\t%.1f\t%.1f\t%s\t\n", x.Format, x.Rows, x.Start, x.End,
			x.HeadersSeconds, x.FirstByteSeconds, x.Seconds, x.RowsPerSecond, x.MBps, x.Bytes, x.Sheets, x.IdleMiB, x.PeakMiB, floats(x.Peaks, 1),
			x.SampledMiB, float64(x.TempPeakBytes)/(1<<20), floats(x.Runs, 2))
	}
	tw.Flush()
	if j := a.Job; j != nil {
		fmt.Fprintf(w, "format=xlsx usage_reports job of %d rows (%s..%s): POST to succeeded %.2fs (recorded %.2fs, %.0f rows/s; runs %s), %d bytes, %d sheets; VmHWM %.1f MiB (idle %.1f, peaks %s, sampled VmRSS %.1f), TMPDIR + export dir peak %.1f MiB; download %.2fs, VmHWM after it %.1f MiB\n",
			j.Rows, j.Start, j.End, j.Seconds, j.ServerSeconds, j.RowsPerSecond, floats(j.Runs, 2), j.Bytes, j.Sheets, j.PeakMiB, j.IdleMiB, floats(j.Peaks, 1),
			j.SampledMiB, float64(j.TempPeakBytes)/(1<<20), j.DownloadSeconds, j.DownloadPeakMiB)
	}
	if a.ToCSV > 0 {
		fmt.Fprintf(w, "peak RSS, XLSX / CSV of the same rows: %.3f; larger / smaller XLSX: %.3f\n", a.ToCSV, a.GrowthRatio)
	}
	if a.Note != "" {
		fmt.Fprintf(w, "note: %s\n", a.Note)
	}
}

func floats(xs []float64, prec int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', prec, 64)
	}
	return strings.Join(s, " ")
}

// xlsxTargets is the claim: a workbook's export keeps RSS flat,
// its peak independent of its rows and within a small factor (2 ×) of the
// CSV export's of the same rows.
func xlsxTargets(a *XLSXAnchor) []Target {
	if a.ToCSV == 0 {
		return nil
	}
	ts := []Target{{Name: "peak RSS, XLSX / CSV usage export", Want: "<= 2", Got: a.ToCSV, Unit: "x", Met: a.ToCSV <= 2,
		Note: fmt.Sprintf("%d rows; %.1f vs %.1f MiB", a.Exports[1].Rows, a.Exports[1].PeakMiB, a.Exports[0].PeakMiB)}}
	if len(a.Exports) > 2 {
		l, s := a.Exports[len(a.Exports)-1], a.Exports[1]
		ts = append(ts, Target{Name: "peak RSS, larger / smaller XLSX export", Want: "<= 1.1", Got: a.GrowthRatio, Unit: "x", Met: a.GrowthRatio <= 1.1,
			Note: fmt.Sprintf("%d vs %d rows; %.1f vs %.1f MiB", l.Rows, s.Rows, l.PeakMiB, s.PeakMiB)})
	}
	return ts
}
