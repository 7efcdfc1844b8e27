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
