package handlers

import (
	"context"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// appActivity answers GET /v2/clients/{client_id}/analytics/apps/{app_id}/activity.
func (s *Server) appActivity(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	clientID, err := s.authorize(ctx, rc)
	if err != nil {
		s.writeError(rc, err)
		return
	}
	raw, _ := rc.UserValue("app_id").(string)
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		s.writeError(rc, &errs.Error{Kind: errs.NotFound, Message: "app not found", Details: map[string]any{"app_id": raw}})
		return
	}
	req, err := query.ParseActivity(clientID, id.String(), queryValues(rc))
	if err != nil {
		s.writeError(rc, err)
		return
	}
	s.answerJSON(ctx, rc, clientID, req.CacheKey(), func(ctx context.Context, v store.DataVersion) (any, int, error) {
		a, err := s.Store.Activity(ctx, req, PeriodOf(req.Util), asOf(v))
		if err != nil {
			return nil, 0, err
		}
		return a, len(a.Data), nil
	})
}
