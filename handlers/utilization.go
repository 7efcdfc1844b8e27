package handlers

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
)

type utilizationResponse struct {
	Period     period                 `json:"period"`
	Data       []query.AppUtilization `json:"data"`
	TotalCount uint64                 `json:"total_count"`
	NextCursor *string                `json:"next_cursor"`
}

type period struct {
	StartDate        string  `json:"start_date"`
	EndDate          string  `json:"end_date"`
	CompareStartDate *string `json:"compare_start_date"`
	CompareEndDate   *string `json:"compare_end_date"`
}

// utilization answers GET /v2/clients/{client_id}/analytics/apps/utilization.
func (s *Server) utilization(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), s.QueryTimeout)
	defer cancel()
	req, err := s.utilizationRequest(ctx, c, query.Paged)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	release, err := s.admit(req.ClientID, false)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	defer release()
	page, err := query.FetchPage(s.queryContext(c, "utilization", requestID(ctx), s.QueryTimeout), s.CH, req, s.Metrics.ObserveQuery)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	setRows(ctx, len(page.Rows))
	writeJSON(ctx, fasthttp.StatusOK, &utilizationResponse{Period: periodOf(req), Data: page.Rows, TotalCount: page.TotalCount, NextCursor: page.NextCursor})
}

// utilizationRequest authorises the caller and validates the parameters,
// announcing deprecated aliases in a Deprecation header.
func (s *Server) utilizationRequest(ctx *fasthttp.RequestCtx, c context.Context, pg query.Pagination) (*query.Utilization, error) {
	clientID, err := s.authorize(ctx, c)
	if err != nil {
		return nil, err
	}
	req, err := query.ParseUtilization(clientID, queryValues(ctx), pg)
	if err != nil {
		return nil, err
	}
	if len(req.DeprecatedAliases) > 0 {
		ctx.Response.Header.Set("Deprecation", "true")
		ctx.Response.Header.Set("Warning", `299 - "deprecated parameters `+strings.Join(req.DeprecatedAliases, ", ")+`: use the plural forms"`)
	}
	return req, nil
}

func queryValues(ctx *fasthttp.RequestCtx) url.Values {
	v := url.Values{}
	for k, val := range ctx.QueryArgs().All() {
		v[string(k)] = append(v[string(k)], string(val))
	}
	return v
}

// queryContext is what the driver gets: no deadline of its own (a deadline
// leaves the query running on the server), cancelled when c ends, tagged
// with the request id, and bounded server-side by max_execution_time.
func (s *Server) queryContext(c context.Context, kind, reqID string, limit time.Duration) context.Context {
	qc, cancel := context.WithCancel(context.WithoutCancel(c))
	context.AfterFunc(c, cancel)
	settings := clickhouse.Settings{"max_execution_time": max(1, int(limit/time.Second))}
	return clickhouse.Context(qc, clickhouse.WithSettings(settings), clickhouse.WithQueryID(kind+"-"+reqID+"-"+strconv.FormatUint(querySeq.Add(1), 10)))
}

// querySeq keeps query ids unique when a caller reuses a request id.
var querySeq atomic.Uint64

func periodOf(r *query.Utilization) period {
	p := period{StartDate: r.Period.Start.Format(time.DateOnly), EndDate: r.Period.End.Format(time.DateOnly)}
	if r.Compare != nil {
		cs, ce := r.Compare.Start.Format(time.DateOnly), r.Compare.End.Format(time.DateOnly)
		p.CompareStartDate, p.CompareEndDate = &cs, &ce
	}
	return p
}
