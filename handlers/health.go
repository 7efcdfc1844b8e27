package handlers

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/errs"
)

// healthz answers GET /healthz: the process is up.
func (s *Server) healthz(rc *fasthttp.RequestCtx) {
	writeJSON(rc, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: ClickHouse answers and the schema is current.
func (s *Server) readyz(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ready(ctx); err != nil {
		s.Log.Warn("not ready", "error", err.Error())
		s.writeError(rc, &errs.Error{Kind: errs.Unavailable, Message: err.Error(), RetryAfter: 5})
		return
	}
	writeJSON(rc, fasthttp.StatusOK, map[string]string{"status": "ready"})
}
