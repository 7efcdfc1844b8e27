package handlers

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// usageSeries answers GET /v2/clients/{client_id}/analytics/usage, as
// JSON pages or, with format=csv, one streamed file.
func (s *Server) usageSeries(rc *fasthttp.RequestCtx) {
	if exports.WantsFile(queryValues(rc), string(rc.Request.Header.Peek("Accept"))) {
		s.parsedExport(rc, exports.UsageTimeseries)
		return
	}
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
	defer cancel()
	s.answerJSON(ctx, rc, clientID, req.CacheKey(), func(ctx context.Context, v store.DataVersion) (any, int, error) {
		page, err := s.Store.SeriesPage(ctx, req, asOf(v))
		if err != nil {
			return nil, 0, err
		}
		return page, len(page.Data), nil
	})
}
