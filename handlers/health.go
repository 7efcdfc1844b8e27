package handlers

import (
	"context"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/chschema"
)

// healthz answers GET /healthz: the process is up.
func (s *Server) healthz(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers GET /readyz: ClickHouse answers and the schema is current.
func (s *Server) readyz(ctx *fasthttp.RequestCtx) {
	if err := s.ready(); err != nil {
		s.Log.Warn("not ready", "error", err.Error())
		s.writeError(ctx, &apiError{status: fasthttp.StatusServiceUnavailable, code: "unavailable", message: err.Error(), retryAfter: 5})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) ready() error {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := s.CH.Ping(c)
	s.Metrics.ObserveQuery("ping", err, time.Since(start))
	if err != nil {
		return fmt.Errorf("clickhouse does not answer")
	}
	v, err := chschema.CurrentVersion(c, s.CH)
	if err != nil {
		return fmt.Errorf("cannot read the schema version")
	}
	if v != chschema.Latest() {
		return fmt.Errorf("schema version is %d, want %d: run usagelens migrate", v, chschema.Latest())
	}
	return nil
}
