package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/auth"
	"github.com/usagelens/usagelens/errs"
)

// authorize checks the bearer token against the path's client: 401 when it
// is missing, invalid or expired, 403 when it names another client, 404 when
// the client does not exist. It returns the canonical client id.
func (s *Server) authorize(ctx context.Context, rc *fasthttp.RequestCtx) (string, error) {
	raw, _ := rc.UserValue("client_id").(string)
	tok, err := auth.FromHeader(string(rc.Request.Header.Peek("Authorization")))
	if err != nil {
		return "", errs.New(errs.Unauthenticated, "missing bearer token: send Authorization: Bearer <token>")
	}
	claims, err := s.tokens.Verify(tok, time.Now())
	switch {
	case errors.Is(err, auth.ErrExpired):
		return "", errs.New(errs.Unauthenticated, "the token has expired")
	case err != nil:
		return "", errs.New(errs.Unauthenticated, "the token is invalid")
	}
	notFound := &errs.Error{Kind: errs.NotFound, Message: "client not found", Details: map[string]any{"client_id": raw}}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return "", notFound
	}
	clientID := id.String()
	if claims.ClientID != clientID {
		return "", errs.New(errs.Forbidden, "the token is not scoped to this client")
	}
	exists, err := s.Store.ClientExists(ctx, clientID)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", notFound
	}
	return clientID, nil
}
