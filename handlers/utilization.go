package handlers

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// utilization answers GET /v2/clients/{client_id}/analytics/apps/utilization.
func (s *Server) utilization(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	req, err := s.utilizationRequest(ctx, rc, query.Paged)
	if err != nil {
		s.writeError(rc, err)
		return
	}
	s.answerJSON(ctx, rc, req.ClientID, req.CacheKey(), func(ctx context.Context, v store.DataVersion) (any, int, error) {
		page, err := s.Store.UtilizationPage(ctx, req)
		if err != nil {
			return nil, 0, err
		}
		return &api.UtilizationPage{Period: PeriodOf(req), Data: page.Rows, TotalCount: page.TotalCount, NextCursor: page.NextCursor,
			DataAsOf: asOf(v)}, len(page.Rows), nil
	})
}

// requestContext carries the request id to the store's queries. Nothing
// of rc survives in it.
func (s *Server) requestContext(rc *fasthttp.RequestCtx) context.Context {
	return store.WithRequestID(context.Background(), requestID(rc))
}

// utilizationRequest authorises the caller and validates the parameters,
// announcing deprecated aliases in a Deprecation header.
func (s *Server) utilizationRequest(ctx context.Context, rc *fasthttp.RequestCtx, pg query.Pagination) (*query.Utilization, error) {
	clientID, err := s.authorize(ctx, rc)
	if err != nil {
		return nil, err
	}
	req, err := query.ParseUtilization(clientID, queryValues(rc), pg)
	if err != nil {
		return nil, err
	}
	announceDeprecated(rc, req)
	return req, nil
}

// announceDeprecated names the deprecated aliases a request used in a
// Deprecation header.
func announceDeprecated(rc *fasthttp.RequestCtx, req *query.Utilization) {
	if len(req.DeprecatedAliases) > 0 {
		rc.Response.Header.Set("Deprecation", "true")
		rc.Response.Header.Set("Warning", `299 - "deprecated parameters `+strings.Join(req.DeprecatedAliases, ", ")+`: use the plural forms"`)
	}
}

func queryValues(rc *fasthttp.RequestCtx) url.Values {
	v := url.Values{}
	for k, val := range rc.QueryArgs().All() {
		v[string(k)] = append(v[string(k)], string(val))
	}
	return v
}

// PeriodOf is the response's echo of the request's periods.
func PeriodOf(r *query.Utilization) api.Period {
	p := api.Period{StartDate: r.Period.Start.Format(time.DateOnly), EndDate: r.Period.End.Format(time.DateOnly)}
	if r.Compare != nil {
		cs, ce := r.Compare.Start.Format(time.DateOnly), r.Compare.End.Format(time.DateOnly)
		p.CompareStartDate, p.CompareEndDate = &cs, &ce
	}
	return p
}
