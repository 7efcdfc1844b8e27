package observability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Pprof serves net/http/pprof on a listener of its own, apart from the API,
// so profiles are reachable only where the operator bound it.
type Pprof struct {
	srv *http.Server
	ln  net.Listener
}

// StartPprof listens on addr and serves /debug/pprof/ there in the
// background. Serving errors after the bind go to log.
func StartPprof(addr string, log *slog.Logger) (*Pprof, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := &Pprof{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server failed", slog.String("error", err.Error()))
		}
	}()
	return p, nil
}

// Addr is the address pprof listens on (the chosen port when addr had 0).
func (p *Pprof) Addr() string { return p.ln.Addr().String() }

// Shutdown stops the listener and waits for running profiles up to ctx's
// end, then closes what is left.
func (p *Pprof) Shutdown(ctx context.Context) error {
	if err := p.srv.Shutdown(ctx); err != nil {
		return errors.Join(err, p.srv.Close())
	}
	return nil
}
