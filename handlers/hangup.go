package handlers

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/valyala/fasthttp"
)

// watchHangup returns ctx cancelled when the client closes its connection,
// so a JSON answer nobody waits for stops its ClickHouse query and frees
// its tenant slot. fasthttp reads nothing while the handler runs, so the
// watch reads the connection itself; done stops it. A client that sends its
// next request before this answer (pipelining) loses a byte of it to the
// watch: that connection is closed after the answer, and the client's HTTP
// library retries the request on a new one.
func (s *Server) watchHangup(ctx context.Context, rc *fasthttp.RequestCtx) (context.Context, func()) {
	conn, ok := rc.Conn().(*net.TCPConn)
	if !ok {
		return ctx, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	stopped := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, err := conn.Read(b[:])
		if n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			cancel() // closed or reset by the client
		}
		stopped <- n > 0
	}()
	return ctx, func() {
		_ = conn.SetReadDeadline(time.Now())
		if <-stopped {
			rc.SetConnectionClose()
		}
		_ = conn.SetReadDeadline(time.Time{})
		cancel()
	}
}
