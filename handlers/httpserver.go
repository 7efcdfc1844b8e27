package handlers

import (
	"errors"
	"net"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/errs"
)

// Limits are the HTTP server's protections against slow, large or too
// many requests.
type Limits struct {
	// ReadTimeout bounds reading one request, headers and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing one response. fasthttp sets it once per
	// response, so it must outlast the longest export.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections that send nothing.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers (query strings
	// included); beyond it the answer is 431.
	MaxHeaderBytes int
	// MaxBodyBytes caps request bodies (the API takes none); beyond it 413.
	MaxBodyBytes int
	// MaxConns caps concurrent connections; beyond it new ones get 503.
	MaxConns int
}

// DefaultLimits are the limits serve uses unless configured otherwise.
func DefaultLimits(exportTimeout time.Duration) Limits {
	return Limits{ReadTimeout: 10 * time.Second, WriteTimeout: exportTimeout + time.Minute, IdleTimeout: 60 * time.Second,
		MaxHeaderBytes: 16 << 10, MaxBodyBytes: 64 << 10, MaxConns: 4096}
}

// NewHTTPServer returns the fasthttp server for the API with lim applied.
// Requests fasthttp rejects before routing still get the spec's error
// shape.
func (s *Server) NewHTTPServer(lim Limits) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            s.Handler(),
		Name:               "usagelens",
		ReadTimeout:        lim.ReadTimeout,
		WriteTimeout:       lim.WriteTimeout,
		IdleTimeout:        lim.IdleTimeout,
		ReadBufferSize:     lim.MaxHeaderBytes,
		MaxRequestBodySize: lim.MaxBodyBytes,
		Concurrency:        lim.MaxConns,
		ErrorHandler:       s.rejectRequest,
	}
}

// NewMetricsHTTPServer returns the fasthttp server for the metrics address
// (Config.MetricsApart). A scrape is one small response, so it keeps the
// read and idle limits of lim but writes within 30 seconds.
func (s *Server) NewMetricsHTTPServer(lim Limits) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            s.MetricsHandler(),
		Name:               "usagelens",
		ReadTimeout:        lim.ReadTimeout,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        lim.IdleTimeout,
		ReadBufferSize:     lim.MaxHeaderBytes,
		MaxRequestBodySize: lim.MaxBodyBytes,
		Concurrency:        64,
		ErrorHandler:       s.rejectRequest,
	}
}

func (s *Server) rejectRequest(rc *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	e := errs.New(errs.InvalidRequest, "the request cannot be parsed as HTTP/1.1")
	switch {
	case errors.As(err, &small):
		e = errs.New(errs.HeadersTooLarge, "the request line and headers exceed the limit; shorten the query string")
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		e = errs.New(errs.BodyTooLarge, "the request body exceeds the limit")
	case errors.As(err, &netErr) && netErr.Timeout():
		e = errs.New(errs.RequestTimeout, "the request was not received in time")
	}
	rc.SetUserValue(recordKey, &requestRecord{id: incomingRequestID(rc)})
	s.writeError(rc, e)
}
