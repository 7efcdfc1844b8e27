package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
)

// flushAt is the buffered CSV size that triggers a write to the client.
const flushAt = 64 << 10

var utilizationColumns = []string{"app_id", "catalog_app_id", "app_name", "vendor_name", "category_names", "is_favorite", "is_approved", "license_count",
	"unique_users", "unique_users_change_pct", "unique_users_compare_value",
	"active_time_ms", "active_time_change_pct", "active_time_compare_value",
	"avg_time_ms_per_day", "avg_time_ms_per_day_change_pct", "avg_time_ms_per_day_compare_value",
	"session_count", "session_count_change_pct", "session_count_compare_value",
	"usage_level", "risk_level"}

// utilizationExport answers GET /v2/clients/{client_id}/analytics/apps/utilization/export.
func (s *Server) utilizationExport(ctx *fasthttp.RequestCtx) {
	s.export(ctx, "export", func(c context.Context) (*exportPlan, error) {
		req, err := s.utilizationRequest(ctx, c, query.Unpaged)
		if err != nil {
			return nil, err
		}
		return &exportPlan{
			clientID: req.ClientID,
			filename: "app-utilization-" + day(req.Period.Start) + "-to-" + day(req.Period.End) + ".csv",
			open: func(qc context.Context) (func(*csvSink) error, error) {
				rows, err := query.OpenUtilization(qc, s.CH, req)
				if err != nil {
					return nil, err
				}
				return func(out *csvSink) error {
					defer rows.Close()
					out.row.header(utilizationColumns)
					for rows.Next() {
						writeUtilizationRow(&out.row, rows.Row())
						if err := out.rowDone(); err != nil {
							return err
						}
					}
					return rows.Err()
				}, nil
			},
		}, nil
	})
}

func writeUtilizationRow(w *csvRow, r *query.AppUtilization) {
	a := &r.App
	w.start()
	w.text(a.ID)
	w.text(a.CatalogApp.ID)
	w.text(a.CatalogApp.CanonicalName)
	w.text(a.CatalogApp.Vendor.Name)
	names := make([]string, len(a.CatalogApp.Categories))
	for i, c := range a.CatalogApp.Categories {
		names[i] = c.Name
	}
	w.text(strings.Join(names, "; "))
	w.boolean(a.IsFavorite)
	w.boolean(a.IsApproved)
	if a.LicenseCount != nil {
		w.uint(uint64(*a.LicenseCount))
	} else {
		w.empty()
	}
	for _, m := range []*query.Metric{&r.UniqueUsers, &r.ActiveTimeMS, &r.AvgTimeMSPerDay, &r.SessionCount} {
		w.optUint(m.Value)
		w.optFloat(m.ChangePct)
		w.optUint(m.CompareValue)
	}
	w.optText(r.UsageLevel)
	w.optText(r.RiskLevel)
	w.end()
}

// usageExport answers GET /v2/clients/{client_id}/analytics/usage-reports/export.
func (s *Server) usageExport(ctx *fasthttp.RequestCtx) {
	s.export(ctx, "usage_export", func(c context.Context) (*exportPlan, error) {
		clientID, err := s.authorize(ctx, c)
		if err != nil {
			return nil, err
		}
		req, err := query.ParseUsageExport(clientID, queryValues(ctx))
		if err != nil {
			return nil, err
		}
		return &exportPlan{
			clientID: clientID,
			filename: "usage-reports-" + day(req.Period.Start) + "-to-" + day(req.Period.End) + ".csv",
			open: func(qc context.Context) (func(*csvSink) error, error) {
				rows, err := query.OpenUsageExport(qc, s.CH, req)
				if err != nil {
					return nil, err
				}
				return func(out *csvSink) error {
					defer rows.Close()
					out.row.header(query.UsageExportColumns)
					var u query.UsageRow
					dest := u.Dest()
					for rows.Next() {
						if err := rows.Scan(dest...); err != nil {
							return err
						}
						writeUsageRow(&out.row, &u)
						if err := out.rowDone(); err != nil {
							return err
						}
					}
					return rows.Err()
				}, nil
			},
		}, nil
	})
}

func writeUsageRow(w *csvRow, u *query.UsageRow) {
	w.start()
	w.date(u.Date)
	w.id(u.AppID)
	w.text(u.AppName)
	w.id(u.UserID)
	w.text(u.Departments)
	w.uint(u.ActiveMS)
	w.uint(uint64(u.Sessions))
	w.end()
}

// exportPlan is a validated export: whose it is, its file name, and how to
// start its query.
type exportPlan struct {
	clientID string
	filename string
	// open starts the query and returns what writes its rows.
	open func(qc context.Context) (func(*csvSink) error, error)
}

// export runs the steps every export shares: authorise and validate (plan),
// take one of the client's export slots, start the query, and only then
// answer 200 and stream, so any failure up to there is a JSON error.
func (s *Server) export(ctx *fasthttp.RequestCtx, kind string, plan func(c context.Context) (*exportPlan, error)) {
	c, cancel := context.WithTimeout(context.Background(), s.ExportTimeout)
	p, err := plan(c)
	var release func()
	if err == nil {
		release, err = s.admit(p.clientID, true)
	}
	if err != nil {
		cancel()
		s.writeError(ctx, err)
		return
	}
	done := func() { cancel(); release() }
	start := time.Now()
	fill, err := p.open(s.queryContext(c, kind, requestID(ctx), s.ExportTimeout))
	if err != nil {
		done()
		s.Metrics.ObserveQuery(kind, err, time.Since(start))
		s.writeError(ctx, err)
		return
	}
	s.streamCSV(ctx, p.filename, kind, func(out *csvSink) error {
		err := fill(out)
		s.Metrics.ObserveQuery(kind, err, time.Since(start))
		return err
	}, done)
}

// csvSink buffers CSV rows and writes them, gzipped when asked, into the
// pipe fasthttp streams to the client.
type csvSink struct {
	row   csvRow
	pw    *io.PipeWriter
	w     io.Writer
	gz    *gzip.Writer
	rows  int
	bytes int
}

func (o *csvSink) rowDone() error {
	o.rows++
	if len(o.row.buf) >= flushAt {
		return o.flush()
	}
	return nil
}

func (o *csvSink) flush() error {
	n, err := o.w.Write(o.row.buf)
	o.bytes += n
	o.row.buf = o.row.buf[:0]
	return err
}

// finish ends the body: cleanly after the last row, or with an error that
// makes fasthttp drop the connection, so a client can never take a
// truncated file for a whole one.
func (o *csvSink) finish(err error) {
	if err == nil {
		err = o.flush()
	}
	if err == nil && o.gz != nil {
		err = o.gz.Close()
	}
	if err != nil {
		o.pw.CloseWithError(err)
		return
	}
	o.pw.Close()
}

// streamCSV sends the CSV headers and streams what fill writes. fill runs
// on its own goroutine after the handler returns; it must not touch ctx.
// done (the request context's cancel) runs when fill ends, which also
// cancels the ClickHouse query if the client went away.
func (s *Server) streamCSV(ctx *fasthttp.RequestCtx, filename, kind string, fill func(*csvSink) error, done func()) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/csv; charset=utf-8")
	ctx.Response.Header.Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	pr, pw := io.Pipe()
	out := &csvSink{pw: pw, w: pw, row: csvRow{buf: make([]byte, 0, flushAt+4096)}}
	if ctx.Request.Header.HasAcceptEncoding("gzip") {
		ctx.Response.Header.Set("Content-Encoding", "gzip")
		ctx.Response.Header.Set("Vary", "Accept-Encoding")
		out.gz, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
		out.w = out.gz
	}
	bs := streamBody(ctx, pr)
	reqID := requestID(ctx)
	go func() {
		defer done()
		err := fillSafely(fill, out)
		bs.setRows(out.rows)
		out.finish(err)
		s.Metrics.AddExport(kind, out.rows, out.bytes)
		if err != nil {
			s.Log.Warn("export aborted", slog.String("request_id", reqID), slog.String("kind", kind),
				slog.Int("rows", out.rows), slog.String("error", err.Error()))
		}
	}()
}

// fillSafely turns a panic while streaming into an aborted export instead
// of a crashed process: this goroutine is outside the handler's recovery.
func fillSafely(fill func(*csvSink) error, out *csvSink) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic while streaming: %v", p)
		}
	}()
	return fill(out)
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
