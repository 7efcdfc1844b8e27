package handlers

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// userUsage answers GET /v2/clients/{client_id}/analytics/users/usage.
func (s *Server) userUsage(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	req, err := s.userUsageRequest(ctx, rc, query.Paged)
	if err != nil {
		s.writeError(rc, err)
		return
	}
	s.answerJSON(ctx, rc, req.ClientID, req.CacheKey(), func(ctx context.Context, v store.DataVersion) (any, int, error) {
		view, err := s.Store.UserView(ctx, req.ClientID)
		if err != nil {
			return nil, 0, err
		}
		page, err := s.Store.UsersPage(ctx, req, view, asOf(v))
		if err != nil {
			return nil, 0, err
		}
		return page, len(page.Data), nil
	})
}

func (s *Server) userUsageRequest(ctx context.Context, rc *fasthttp.RequestCtx, pg query.Pagination) (*query.UserUsage, error) {
	clientID, err := s.authorize(ctx, rc)
	if err != nil {
		return nil, err
	}
	return query.ParseUserUsage(clientID, queryValues(rc), pg, s.Store.PseudonymKey)
}

// userUsageExport answers GET …/users/usage/export.
func (s *Server) userUsageExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.ExportTimeout)
	req, err := s.userUsageRequest(ctx, rc, query.Unpaged)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	release, err := s.admit(req.ClientID, true)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	view, err := s.Store.UserView(ctx, req.ClientID)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	rows, err := s.Store.Users(ctx, req, view)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	s.stream(rc, "users_export", "user-usage-"+day(req.Period.Start)+"-to-"+day(req.Period.End)+".csv", func(out *csvOut) error {
		defer rows.Close()
		query.UserCSVHeader(out.row)
		for rows.Next() {
			query.UserCSV(out.row, &rows.Row().UserUsage)
			if err := out.rowDone(); err != nil {
				return err
			}
		}
		return rows.Err()
	}, func() { cancel(); release() })
}
