package handlers

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/exports"
)

// utilizationExport answers GET /v2/clients/{client_id}/analytics/apps/utilization/export.
func (s *Server) utilizationExport(rc *fasthttp.RequestCtx) {
	s.parsedExport(rc, exports.AppUtilization)
}

// usageExport answers GET /v2/clients/{client_id}/analytics/usage-reports/export.
func (s *Server) usageExport(rc *fasthttp.RequestCtx) { s.parsedExport(rc, exports.UsageReports) }

// userUsageExport answers GET …/users/usage/export.
func (s *Server) userUsageExport(rc *fasthttp.RequestCtx) { s.parsedExport(rc, exports.UserUsage) }

// parsedExport answers the GET route of the export named name.
func (s *Server) parsedExport(rc *fasthttp.RequestCtx, name string) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.ExportTimeout)
	clientID, err := s.authorize(ctx, rc)
	var req exports.Request
	var format exports.Format
	if err == nil {
		t, _ := exports.Lookup(name)
		req, format, err = exports.Parse(t, clientID, queryValues(rc), s.Store.PseudonymKey, string(rc.Request.Header.Peek("Accept")))
	}
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	if u, ok := req.(exports.Utilization); ok {
		announceDeprecated(rc, u.R)
	}
	s.streamExport(ctx, cancel, rc, name, clientID, req, format)
}

// streamExport admits, starts and streams a validated export; cancel ends
// ctx, the export's.
func (s *Server) streamExport(ctx context.Context, cancel func(), rc *fasthttp.RequestCtx, name, clientID string, req exports.Request, format exports.Format) {
	release, err := s.admit(clientID, true)
	if err != nil {
		s.failExport(rc, err, cancel)
		return
	}
	run, err := req.Open(ctx, s.Store)
	if err != nil {
		s.failExport(rc, err, cancel, release)
		return
	}
	t, _ := exports.Lookup(name)
	s.stream(rc, t.Kind, req.FileName(), format, run.Fill, func() { run.Close(); cancel(); release() })
}

// failExport answers an export that failed before its first byte, and
// lets go of what it held.
func (s *Server) failExport(rc *fasthttp.RequestCtx, err error, release ...func()) {
	for _, r := range release {
		r()
	}
	s.writeError(rc, err)
}
