package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/docs"
)

// contract is the OpenAPI document every response of the handler tests is
// validated against, so the document fails the build when it drifts.
var contract = sync.OnceValues(func() (routers.Router, error) {
	doc, err := docs.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: "http://usagelens"}}
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/gzip", openapi3filter.FileBodyDecoder)
	return gorillamux.NewRouter(doc)
})

// checkContract validates one response of the API to GET pathQuery
// against the OpenAPI document: its status is documented for the route,
// its headers and body match the schema. Requests no route documents
// must have been answered 404 or 405.
func checkContract(t testing.TB, pathQuery string, status int, header http.Header, body []byte) {
	t.Helper()
	checkContractOf(t, http.MethodGet, pathQuery, status, header, body)
}

// checkContractOf is checkContract for a request of method.
func checkContractOf(t testing.TB, method, pathQuery string, status int, header http.Header, body []byte) {
	t.Helper()
	router, err := contract()
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	req, err := http.NewRequest(method, "http://usagelens"+pathQuery, nil)
	if err != nil {
		return // a raw request line no client would send: nothing to look up
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s answered %d but the OpenAPI document has no route for it: %v", method, pathQuery, status, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: status, Header: header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: the %d response does not match docs/openapi.yaml: %v\nbody: %.500s", method, pathQuery, status, err, body)
	}
}

// checkFastHTTP validates a fasthttp response to a GET.
func checkFastHTTP(t testing.TB, pathQuery string, resp *fasthttp.Response) {
	t.Helper()
	checkFastHTTPOf(t, http.MethodGet, pathQuery, resp)
}

// checkFastHTTPOf validates a fasthttp response to method.
func checkFastHTTPOf(t testing.TB, method, pathQuery string, resp *fasthttp.Response) {
	t.Helper()
	h := http.Header{}
	for k, v := range resp.Header.All() {
		h.Add(string(k), string(v))
	}
	checkContractOf(t, method, pathQuery, resp.StatusCode(), h, resp.Body())
}

func TestOpenAPIIsServed(t *testing.T) {
	a := newAPI(t)
	resp := a.get("/openapi.json")
	if resp.StatusCode() != 200 || !strings.Contains(string(resp.Body()), `"openapi":"3.1.0"`) {
		t.Fatalf("GET /openapi.json: %d %.200s", resp.StatusCode(), resp.Body())
	}
}
