package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/respcache"
	"github.com/usagelens/usagelens/store"
)

// render computes a JSON answer at a data version, for the cache.
type render func(ctx context.Context, v store.DataVersion) (body any, rows int, err error)

// answerJSON answers a JSON request of the client, normalised as key:
// 304 when If-None-Match holds the ETag of (data version, key); else the
// cached body of that pair (no hang-up watch needed); else render's, computed once for concurrent
// callers under the tenant's query slot, cancelled when every caller has
// hung up.
func (s *Server) answerJSON(ctx context.Context, rc *fasthttp.RequestCtx, clientID, key string, r render) {
	v, err := s.Store.DataVersion(ctx, clientID)
	if err != nil {
		s.writeError(rc, err)
		return
	}
	etag := v.ETag(key)
	rc.Response.Header.Set("ETag", etag)
	rc.Response.Header.Set("Cache-Control", "private, no-cache")
	if matches(rc.Request.Header.Peek("If-None-Match"), etag) {
		rc.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if resp, ok := s.Cache.Get(v.Key(key)); ok {
		writeAnswer(rc, resp, true)
		return
	}
	ctx, done := s.watchHangup(ctx, rc)
	defer done()
	resp, hit, err := s.Cache.Do(ctx, v.Key(key), func(ctx context.Context) (respcache.Response, error) {
		release, err := s.admit(clientID, false)
		if err != nil {
			return respcache.Response{}, err
		}
		defer release()
		body, rows, err := r(ctx, v)
		if err != nil {
			return respcache.Response{}, err
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return respcache.Response{}, err
		}
		return respcache.Response{Body: b.Bytes(), Rows: rows}, nil
	})
	if err != nil {
		s.writeError(rc, err)
		return
	}
	writeAnswer(rc, resp, hit)
}

func writeAnswer(rc *fasthttp.RequestCtx, resp respcache.Response, hit bool) {
	cache := "miss"
	if hit {
		cache = "hit"
	}
	rc.Response.Header.Set("X-Cache", cache)
	setRows(rc, resp.Rows)
	rc.SetStatusCode(fasthttp.StatusOK)
	rc.SetContentType("application/json")
	rc.SetBody(resp.Body)
}

// matches says whether an If-None-Match header names etag (or is "*");
// weak tags compare by their opaque part, as RFC 9110 has it for GET.
func matches(header []byte, etag string) bool {
	for _, t := range bytes.Split(header, []byte(",")) {
		t = bytes.TrimPrefix(bytes.TrimSpace(t), []byte("W/"))
		if string(t) == etag || string(t) == "*" {
			return true
		}
	}
	return false
}

// asOf renders a data version's time for data_as_of.
func asOf(v store.DataVersion) *string {
	t := v.AsOf()
	if t == nil {
		return nil
	}
	s := t.Format(time.RFC3339Nano)
	return &s
}
