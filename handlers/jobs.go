package handlers

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
)

// submitExport answers POST /v2/clients/{client_id}/exports.
func (s *Server) submitExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	clientID, err := s.authorize(ctx, rc)
	var job *api.ExportJob
	if err == nil {
		job, err = s.Jobs.Submit(ctx, clientID, rc.PostBody())
	}
	if err != nil {
		s.writeError(rc, err)
		return
	}
	rc.Response.Header.Set("Location", api.Path(api.RouteExports, clientID)+"/"+job.ID)
	writeJSON(rc, fasthttp.StatusAccepted, job)
}

// listExports answers GET /v2/clients/{client_id}/exports.
func (s *Server) listExports(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	clientID, err := s.authorize(ctx, rc)
	var page *api.ExportJobPage
	if err == nil {
		page, err = s.Jobs.List(ctx, clientID, queryValues(rc))
	}
	if err != nil {
		s.writeError(rc, err)
		return
	}
	rc.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(rc, fasthttp.StatusOK, page)
}

// getExport answers GET /v2/clients/{client_id}/exports/{export_id}.
func (s *Server) getExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	clientID, err := s.authorize(ctx, rc)
	var job *api.ExportJob
	if err == nil {
		job, err = s.Jobs.Get(ctx, clientID, exportID(rc))
	}
	if err != nil {
		s.writeError(rc, err)
		return
	}
	rc.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(rc, fasthttp.StatusOK, job)
}

// cancelExport answers DELETE /v2/clients/{client_id}/exports/{export_id}.
func (s *Server) cancelExport(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	clientID, err := s.authorize(ctx, rc)
	if err == nil {
		err = s.Jobs.Cancel(ctx, clientID, exportID(rc))
	}
	if err != nil {
		s.writeError(rc, err)
		return
	}
	rc.SetStatusCode(fasthttp.StatusNoContent)
}

func exportID(rc *fasthttp.RequestCtx) string {
	id, _ := rc.UserValue("export_id").(string)
	return id
}

// download answers GET and HEAD /v2/exports/download/{token}: the signed
// link is the permission, so no bearer token is asked for. One byte range
// is served as 206; several are answered with the whole file, as RFC 9110
// allows.
func (s *Server) download(rc *fasthttp.RequestCtx) {
	ctx, cancel := context.WithTimeout(s.requestContext(rc), s.QueryTimeout)
	defer cancel()
	token, _ := rc.UserValue("token").(string)
	d, err := s.Jobs.Open(ctx, token, time.Now())
	if err != nil {
		s.writeError(rc, err)
		return
	}
	size := d.Size()
	h := &rc.Response.Header
	start, n, partial, ok := byteRange(string(rc.Request.Header.Peek("Range")), size)
	if !ok {
		d.Close()
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		s.writeError(rc, &errs.Error{Kind: errs.RangeNotSatisfiable, Message: "the range is outside the file of " + strconv.FormatInt(size, 10) + " bytes",
			Details: map[string]any{"range": string(rc.Request.Header.Peek("Range"))}})
		return
	}
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Disposition", `attachment; filename="`+d.Name+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("ETag", `"`+d.SHA256+`"`)
	if sum, err := hex.DecodeString(d.SHA256); err == nil {
		b64 := base64.StdEncoding.EncodeToString(sum)
		h.Set("Digest", "sha-256="+b64)           // RFC 3230
		h.Set("Repr-Digest", "sha-256=:"+b64+":") // RFC 9530
	}
	rc.SetContentType(d.ContentType)
	if partial {
		rc.SetStatusCode(fasthttp.StatusPartialContent)
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	// fasthttp closes the body stream when the response is done, HEAD too.
	rc.Response.SetBodyStream(&sectionFile{SectionReader: io.NewSectionReader(d, start, n), c: d}, int(n))
}

type sectionFile struct {
	*io.SectionReader
	c io.Closer
}

func (f *sectionFile) Close() error { return f.c.Close() }

// byteRange reads a Range header against a file of size bytes: the first
// byte and length to send, whether that is a part, and false when the
// range cannot be satisfied. Anything but one bytes range sends the whole.
func byteRange(header string, size int64) (start, n int64, partial, ok bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if first == "" { // the last n bytes
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k <= 0 {
			return 0, size, false, err != nil
		}
		k = min(k, size)
		return size - k, k, true, size > 0
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, size, false, true
	}
	if a >= size {
		return 0, 0, false, false
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, size, false, true
		}
		b = min(b, size-1)
	}
	return a, b - a + 1, true, true
}
