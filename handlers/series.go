package handlers

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// usageSeries answers GET /v2/clients/{client_id}/analytics/usage, as
// JSON pages or, with format=csv, one streamed file.
func (s *Server) usageSeries(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	clientID, err := s.authorize(ctx, rc)
	var req *query.Series
	if err == nil {
		req, err = query.ParseSeries(clientID, queryValues(rc), s.Store.PseudonymKey)
	}
	if err != nil {
		cancel()
		s.writeError(rc, err)
		return
	}
	if req.CSV {
		cancel()
		s.seriesCSV(rc, req)
		return
	}
	defer cancel()
	s.answerJSON(ctx, rc, clientID, req.CacheKey(), func(ctx context.Context, v store.DataVersion) (any, int, error) {
		page, err := s.Store.SeriesPage(ctx, req, asOf(v))
		if err != nil {
			return nil, 0, err
		}
		return page, len(page.Data), nil
	})
}

func (s *Server) seriesCSV(rc *fasthttp.RequestCtx, req *query.Series) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.ExportTimeout)
	release, err := s.admit(req.ClientID, true)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	rows, err := s.Store.Series(ctx, req)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	name := "usage-" + req.BinSize + "-" + day(req.Period.Start) + "-to-" + day(req.Period.End) + ".csv"
	s.stream(rc, "series_export", name, func(out *csvOut) error {
		defer rows.Close()
		query.SeriesHeader(out.row, req)
		for rows.Next() {
			query.SeriesCSV(out.row, rows.Row())
			if err := out.rowDone(); err != nil {
				return err
			}
		}
		return rows.Err()
	}, func() { cancel(); release() })
}
