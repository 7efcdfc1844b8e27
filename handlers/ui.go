package handlers

import (
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/ui"
)

// uiPage answers GET /ui/: the App Metrics page (package ui).
func (s *Server) uiPage(rc *fasthttp.RequestCtx) { writeAsset(rc, ui.Page()) }

// uiAsset answers GET /ui/{file}: the page's content-hashed stylesheet,
// script and icon.
func (s *Server) uiAsset(rc *fasthttp.RequestCtx) {
	name, _ := rc.UserValue("file").(string)
	a := ui.Lookup(name)
	if a == nil {
		s.writeError(rc, &errs.Error{Kind: errs.NotFound, Message: "no such file of the page", Details: map[string]any{"path": string(rc.Path())}})
		return
	}
	writeAsset(rc, a)
}

// writeAsset sends a with its type, caching headers and the page's
// security headers, as 304 when the caller's copy is current, gzipped
// when the caller takes it.
func writeAsset(rc *fasthttp.RequestCtx, a *ui.Asset) {
	h := &rc.Response.Header
	h.Set("Content-Security-Policy", ui.ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", a.CacheControl)
	h.Set("ETag", a.ETag)
	h.Set("Vary", "Accept-Encoding")
	if inm := rc.Request.Header.Peek("If-None-Match"); len(inm) > 0 && matches(inm, a.ETag) {
		rc.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	h.SetContentType(a.ContentType)
	if a.Gzip != nil && rc.Request.Header.HasAcceptEncoding("gzip") {
		h.Set("Content-Encoding", "gzip")
		rc.SetBody(a.Gzip)
		return
	}
	rc.SetBody(a.Body)
}
