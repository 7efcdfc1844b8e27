package handlers

import (
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/docs"
	"github.com/usagelens/usagelens/errs"
)

// openapi answers GET /openapi.json with the API's OpenAPI document,
// rendered once when the routes are built.
func (s *Server) openapi() fasthttp.RequestHandler {
	body, err := docs.OpenAPIJSON()
	return func(rc *fasthttp.RequestCtx) {
		if err != nil {
			s.writeError(rc, errs.From(err))
			return
		}
		rc.SetContentType("application/json")
		rc.SetBody(body)
	}
}
