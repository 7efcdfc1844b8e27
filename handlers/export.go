package handlers

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
)

// utilizationExport answers GET /v2/clients/{client_id}/analytics/apps/utilization/export.
func (s *Server) utilizationExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.ExportTimeout)
	req, err := s.utilizationRequest(ctx, rc, query.Unpaged)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	release, err := s.admit(req.ClientID, true)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	rows, err := s.Store.Utilization(ctx, req)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	s.stream(rc, "export", "app-utilization-"+day(req.Period.Start)+"-to-"+day(req.Period.End)+".csv", func(out *csvOut) error {
		defer rows.Close()
		query.UtilizationCSVHeader(out.row)
		for rows.Next() {
			query.UtilizationCSV(out.row, rows.Row())
			if err := out.rowDone(); err != nil {
				return err
			}
		}
		return rows.Err()
	}, func() { cancel(); release() })
}

// usageExport answers GET /v2/clients/{client_id}/analytics/usage-reports/export.
func (s *Server) usageExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.ExportTimeout)
	clientID, err := s.authorize(ctx, rc)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	req, err := query.ParseUsageExport(clientID, queryValues(rc))
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	release, err := s.admit(clientID, true)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	rows, err := s.Store.Usage(ctx, req)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	s.stream(rc, "usage_export", "usage-reports-"+day(req.Period.Start)+"-to-"+day(req.Period.End)+".csv", func(out *csvOut) error {
		defer rows.Close()
		rows.Header(out.row)
		for rows.Next() {
			if err := rows.Scan(); err != nil {
				return err
			}
			rows.CSV(out.row)
			if err := out.rowDone(); err != nil {
				return err
			}
		}
		return rows.Err()
	}, func() { cancel(); release() })
}

// failExport answers an export that failed before its first byte, and
// lets go of what it held.
func (s *Server) failExport(rc *fasthttp.RequestCtx, err error, release ...func()) {
	for _, r := range release {
		r()
	}
	s.writeError(rc, err)
}

func day(t time.Time) string { return t.Format(time.DateOnly) }
