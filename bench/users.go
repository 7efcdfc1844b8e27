package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

// UsersCase is one user usage first page timed through the uncached
// service and as its one statement through clickhouse-go.
type UsersCase struct {
	Label   string  `json:"label"`
	Path    string  `json:"path"`
	Service Millis  `json:"service_p50_ms"`
	Raw     Millis  `json:"raw_p50_ms"`
	Ratio   float64 `json:"ratio"`
	Rows    int     `json:"raw_rows"`
}

// UsersAnchor is issue 15's bench: the busiest client's user table for a
// month and twelve months against query.UserUsageSQL of the same parsed
// request, and the twelve months' CSV export against ClickHouse's own
// CSVWithNames of the same statement (Unpaged).
type UsersAnchor struct {
	ClientID string      `json:"client_id"`
	Runs     int         `json:"runs"`
	Cases    []UsersCase `json:"cases"`
	Export   ExportSide  `json:"export_service"`
	CSV      ExportSide  `json:"export_clickhouse"`
	// ExportRows is the users exported (ClickHouse's CSV lines less the
	// header); LinesMatch says both files had as many lines.
	ExportRows  int64   `json:"export_rows"`
	LinesMatch  bool    `json:"lines_match"`
	ExportRatio float64 `json:"export_ratio"`
}

// usersAnchor times the JSON pages, then the export.
func (e *env) usersAnchor(ctx context.Context) (*UsersAnchor, error) {
	c := e.clients[0]
	e.uncached.client.addTokens(e.key, []string{c.ID})
	e.svc.addTokens(e.key, []string{c.ID})
	a := &UsersAnchor{ClientID: c.ID, Runs: e.cfg.AnchorRuns}
	for _, p := range []struct {
		label  string
		period workload.Period
	}{{"month", c.LastMonth}, {"twelve months", c.TwelveMo}} {
		uc, err := e.usersPage(ctx, c.ID, p.label, p.period)
		if err != nil {
			return nil, err
		}
		a.Cases = append(a.Cases, uc)
		e.log("  users %s: service %.2f ms, raw %.2f ms (%.3fx), %d rows", uc.Label, uc.Service, uc.Raw, uc.Ratio, uc.Rows)
	}
	if err := e.usersExport(ctx, c.ID, c.TwelveMo, a); err != nil {
		return nil, err
	}
	return a, nil
}

// parseUsers parses a user usage query as the handler does.
func (e *env) parseUsers(clientID string, q workload.Query, pg query.Pagination) (*query.UserUsage, error) {
	v, err := url.ParseQuery(string(q))
	if err != nil {
		return nil, fmt.Errorf("cannot parse the user usage query %s: %w", q, err)
	}
	r, err := query.ParseUserUsage(clientID, v, pg, e.key)
	if err != nil {
		return nil, fmt.Errorf("user usage %s: %w", q, err)
	}
	return r, nil
}

// usersPage times the default first page of period through the service
// without a cache and its statement through clickhouse-go, interleaved
// (alternating which goes first) after one untimed round.
func (e *env) usersPage(ctx context.Context, clientID, label string, period workload.Period) (UsersCase, error) {
	q := period.Dates()
	path := workload.Path(api.RouteUserUsage, clientID, q)
	uc := UsersCase{Label: label, Path: path}
	r, err := e.parseUsers(clientID, q, query.Paged)
	if err != nil {
		return uc, err
	}
	st := query.UserUsageSQL(r)
	var buf bytes.Buffer
	var svc, raw []time.Duration
	service := func(timed bool) error {
		d, resp := e.uncached.client.timedGet(ctx, path, clientID, false, &buf)
		if f := resp.failure(); f != "" {
			return fmt.Errorf("service %s: %s", path, f)
		}
		if timed {
			svc = append(svc, d)
		}
		return nil
	}
	direct := func(timed bool) error {
		start := time.Now()
		n, err := runRaw(ctx, e.raw, st)
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("raw user usage SQL of %s: %w", path, err)
		}
		uc.Rows = n
		if timed {
			raw = append(raw, d)
		}
		return nil
	}
	if err := interleave(e.cfg.AnchorRuns, service, direct); err != nil {
		return uc, err
	}
	medSvc, medRaw := median(svc), median(raw)
	uc.Service, uc.Raw, uc.Ratio = ms(medSvc), ms(medRaw), ratio(float64(medSvc), float64(medRaw))
	return uc, nil
}

// interleave runs one untimed round then runs timed rounds of a and b,
// swapping their order every round so drift hits both alike.
func interleave(runs int, a, b func(timed bool) error) error {
	for run := 0; run <= runs; run++ {
		first, second := a, b
		if run%2 == 1 {
			first, second = b, a
		}
		if err := first(run > 0); err != nil {
			return err
		}
		if err := second(run > 0); err != nil {
			return err
		}
	}
	return nil
}

// exportSide is one source of the export comparison while it is timed.
type exportSide struct {
	out            *ExportSide
	get            func() response
	runs           []time.Duration
	bench, chTimes []float64 // CPU seconds of this process and of ClickHouse per run
}

// usersExport times /users/usage/export of period against ClickHouse's
// HTTP interface running the Unpaged request's statement (values rendered
// as literals, as the usage export anchor does) with FORMAT CSVWithNames.
func (e *env) usersExport(ctx context.Context, clientID string, period workload.Period, a *UsersAnchor) error {
	q := period.Dates()
	path := workload.Path(api.RouteUserUsageExport, clientID, q)
	r, err := e.parseUsers(clientID, q, query.Unpaged)
	if err != nil {
		return err
	}
	sql, err := RenderSQL(query.UserUsageSQL(r))
	if err != nil {
		return fmt.Errorf("cannot render the user usage SQL: %w", err)
	}
	sql += "\nFORMAT CSVWithNames"
	a.Export.Name, a.CSV.Name = "usagelens /users/usage/export", "ClickHouse HTTP CSVWithNames"
	chClient := &http.Client{Transport: newTransport(1)}
	defer chClient.CloseIdleConnections()
	var buf bytes.Buffer
	// The main service: an export is streamed, never cached.
	svc := &exportSide{out: &a.Export, get: func() response { return e.svc.get(ctx, path, clientID, false, &buf) }}
	ch := &exportSide{out: &a.CSV, get: func() response { return e.clickHouseCSV(ctx, chClient, sql) }}
	measure := func(s *exportSide) func(bool) error {
		return func(timed bool) error {
			cpu0, ch0 := cpuTime(), procCPU(e.chPID)
			start := time.Now()
			resp := s.get()
			d := time.Since(start)
			cpu, chCPU := cpuTime()-cpu0, procCPU(e.chPID)-ch0
			if f := resp.failure(); f != "" {
				return fmt.Errorf("%s of %s: %s", s.out.Name, q, f)
			}
			s.out.Bytes, s.out.Lines = resp.bytes, resp.lines
			if timed {
				s.runs = append(s.runs, d)
				s.out.Runs = append(s.out.Runs, round3(d.Seconds()))
				s.bench, s.chTimes = append(s.bench, cpu.Seconds()), append(s.chTimes, chCPU.Seconds())
				e.log("  users export, %s: %.3fs, %d bytes, %d lines, CPU %.2fs here, %.2fs ClickHouse", s.out.Name, d.Seconds(), resp.bytes, resp.lines, cpu.Seconds(), chCPU.Seconds())
			}
			return nil
		}
	}
	if err := interleave(e.cfg.AnchorRuns, measure(svc), measure(ch)); err != nil {
		return err
	}
	// Both files are a header and a line per user (names with line breaks
	// are quoted in both), so equal line counts mean the same rows.
	a.ExportRows, a.LinesMatch = a.CSV.Lines-1, a.Export.Lines == a.CSV.Lines
	if !a.LinesMatch {
		e.log("  users export: the service wrote %d lines, ClickHouse %d", a.Export.Lines, a.CSV.Lines)
	}
	for _, s := range []*exportSide{svc, ch} {
		m := median(s.runs).Seconds()
		s.out.Seconds = round3(m)
		s.out.RowsPerSecond = round3(float64(a.ExportRows) / m)
		s.out.MBps = round3(float64(s.out.Bytes) / 1e6 / m)
		s.out.BenchCPU = round3(medianFloat(s.bench))
		if e.chPID > 0 {
			s.out.ClickHouseCPU = round3(medianFloat(s.chTimes))
		}
	}
	a.ExportRatio = ratio(a.Export.RowsPerSecond, a.CSV.RowsPerSecond)
	return nil
}

// usersTargets are issue 15's targets.
func usersTargets(a *UsersAnchor) []Target {
	var ts []Target
	for _, c := range a.Cases {
		ts = append(ts, Target{Name: "user usage page / raw ClickHouse, " + c.Label, Want: "<= 1.1", Got: c.Ratio, Unit: "x",
			Met: c.Ratio > 0 && c.Ratio <= 1.1, Note: "median uncached service over query.UserUsageSQL via clickhouse-go"})
	}
	note := fmt.Sprintf("%d users, median of %d runs each", a.ExportRows, len(a.Export.Runs))
	if !a.LinesMatch {
		note = fmt.Sprintf("line counts differ: service %d, ClickHouse %d", a.Export.Lines, a.CSV.Lines)
	}
	ts = append(ts, Target{Name: "user usage export rows/s / ClickHouse CSVWithNames", Want: ">= 0.9", Got: a.ExportRatio, Unit: "x",
		Met: a.LinesMatch && a.ExportRatio >= 0.9, Note: note})
	return ts
}

// writeUsers writes the anchor's table.
func writeUsers(w io.Writer, a *UsersAnchor) {
	fmt.Fprintf(w, "\nuser usage (client %s), uncached service vs query.UserUsageSQL through clickhouse-go (sequential, median of %d runs):\n", a.ClientID, a.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\tservice ms\traw ms\tratio\tusers\t")
	for _, c := range a.Cases {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.3f\t%d\t\n", c.Label, c.Service, c.Raw, c.Ratio, c.Rows)
	}
	tw.Flush()
	fmt.Fprintf(w, "user usage export, twelve months (%d users):\n", a.ExportRows)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tmedian s\trows/s\tMB/s\tbytes\tlines\tbench CPU s\tClickHouse CPU s\t")
	for _, s := range []ExportSide{a.Export, a.CSV} {
		fmt.Fprintf(tw, "%s\t%.3f\t%.0f\t%.2f\t%d\t%d\t%.2f\t%.2f\t\n", s.Name, s.Seconds, s.RowsPerSecond, s.MBps, s.Bytes, s.Lines, s.BenchCPU, s.ClickHouseCPU)
	}
	tw.Flush()
	fmt.Fprintf(w, "service rows/s / ClickHouse's: %.3f\n", a.ExportRatio)
}
