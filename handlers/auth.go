package handlers

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/auth"
)

// authorize checks the bearer token against the path's client: 401 when it
// is missing, invalid or expired, 403 when it names another client, 404 when
// the client does not exist. It returns the canonical client id.
func (s *Server) authorize(ctx *fasthttp.RequestCtx, c context.Context) (string, error) {
	raw, _ := ctx.UserValue("client_id").(string)
	tok, err := auth.FromHeader(string(ctx.Request.Header.Peek("Authorization")))
	if err != nil {
		return "", errUnauthenticated("missing bearer token: send Authorization: Bearer <token>")
	}
	claims, err := auth.Verify(s.Key, tok, time.Now())
	switch {
	case errors.Is(err, auth.ErrExpired):
		return "", errUnauthenticated("the token has expired")
	case err != nil:
		return "", errUnauthenticated("the token is invalid")
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return "", errNotFound("client not found", map[string]any{"client_id": raw})
	}
	clientID := id.String()
	if claims.ClientID != clientID {
		return "", errForbidden()
	}
	exists, err := s.clients.exists(c, s, clientID)
	if err != nil {
		return "", err
	}
	if !exists {
		return "", errNotFound("client not found", map[string]any{"client_id": raw})
	}
	return clientID, nil
}

// clientCache remembers clients known to exist for a minute, so an
// authorised request costs no extra query in the common case.
type clientCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

const clientCacheTTL = time.Minute

func (cc *clientCache) exists(c context.Context, s *Server, id string) (bool, error) {
	cc.mu.Lock()
	t, ok := cc.seen[id]
	cc.mu.Unlock()
	if ok && time.Since(t) < clientCacheTTL {
		return true, nil
	}
	var n uint64
	start := time.Now()
	err := s.CH.QueryRow(c, "SELECT count() FROM clients WHERE client_id = toUUID(?)", id).Scan(&n)
	s.Metrics.ObserveQuery("client", err, time.Since(start))
	if err != nil {
		return false, err
	}
	if n > 0 {
		cc.mu.Lock()
		if cc.seen == nil {
			cc.seen = map[string]time.Time{}
		}
		cc.seen[id] = time.Now()
		cc.mu.Unlock()
	}
	return n > 0, nil
}
