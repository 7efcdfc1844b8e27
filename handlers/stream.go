package handlers

import (
	"bufio"
	"errors"
	"io"
	"log/slog"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/exports"
)

// csvStream is an export's body: it owns the rows' way to the client
// (buffer, gzip, flushing), ending it early on error, and recording the
// request when it ends. fasthttp calls WriteTo on the connection's
// goroutine after the handler returned, so rows go from the driver to the
// connection with no pipe and no goroutine between; each flush is one
// chunk. An error makes WriteTo return early and fasthttp drop the
// connection without the final chunk, so a client can never take a
// truncated file for a whole one. fasthttp closes the body whether it
// wrote it or not; Close then records the request and releases what the
// export held (its slot, its query).
type csvStream struct {
	s      *Server
	kind   string
	format exports.Format
	gzip   bool
	fill   func(*exports.Out) error
	done   func()
	rec    *requestRecord
	sent   int // bytes to the connection
	out    *exports.Out
	err    error
	ended  bool
}

// stream answers 200 with the file (filename, without its extension, in
// format) and hands the body to fasthttp;
// fill writes the rows, done runs when the body is closed. Everything that
// can fail before the first byte (validation, admission, starting the
// query) must have happened: from here on a failure aborts the stream.
func (s *Server) stream(rc *fasthttp.RequestCtx, kind, filename string, format exports.Format, fill func(*exports.Out) error, done func()) {
	rc.SetStatusCode(fasthttp.StatusOK)
	rc.SetContentType(format.ContentType())
	rc.Response.Header.Set("Content-Disposition", `attachment; filename="`+filename+format.Ext()+`"`)
	rc.Response.Header.Set("Cache-Control", "no-store")
	rc.Response.Header.Set("Vary", "Accept, Accept-Encoding") // Accept can choose XLSX
	cs := &csvStream{s: s, kind: kind, format: format, fill: fill, done: done, rec: recordOf(rc)}
	// A workbook is a zip already.
	if !format.XLSX && rc.Request.Header.HasAcceptEncoding("gzip") {
		rc.Response.Header.Set("Content-Encoding", "gzip")
		cs.gzip = true
	}
	cs.rec.streamed = true
	rc.Response.SetBodyStream(cs, -1)
}

// SupportsBodyWriteTo has fasthttp call WriteTo, not Read.
func (cs *csvStream) SupportsBodyWriteTo() bool { return true }

// Read is never used: fasthttp writes the body with WriteTo.
func (cs *csvStream) Read([]byte) (int, error) {
	return 0, errors.New("csvStream is written with WriteTo")
}

// WriteTo writes the whole CSV to w.
func (cs *csvStream) WriteTo(w io.Writer) (int64, error) {
	conn := &exports.CountingWriter{W: w}
	cs.out = exports.NewOut(conn, cs.format)
	var gz *gzip.Writer
	var buf *bufio.Writer
	if cs.gzip {
		// gzip writes small pieces; each would be a chunk and a flush.
		buf = bufio.NewWriterSize(conn, exports.FlushAt)
		gz, _ = gzip.NewWriterLevel(buf, gzip.BestSpeed)
		cs.out.W = gz
	}
	err := exports.FillSafely(cs.fill, cs.out)
	if err == nil {
		err = cs.out.Finish()
	}
	if err == nil && gz != nil {
		if err = gz.Close(); err == nil {
			err = buf.Flush()
		}
	}
	cs.sent, cs.err = conn.N, err
	return int64(conn.N), err
}

// CloseWithError is fasthttp's end of the body; err is the connection's
// write error, if any.
func (cs *csvStream) CloseWithError(err error) error {
	if cs.ended {
		return nil
	}
	cs.ended = true
	if cs.err == nil {
		cs.err = err
	}
	cs.done()
	rows, csvBytes := 0, 0
	if cs.out != nil { // nil when fasthttp never wrote the body
		rows, csvBytes = int(cs.out.Records.Load()), cs.out.Bytes
		cs.out.Close()
	}
	cs.rec.rows, cs.rec.bytes = rows, cs.sent
	cs.s.Metrics.AddExport(cs.kind, rows, csvBytes)
	if cs.err != nil {
		cs.s.Log.Warn("export aborted", slog.String("request_id", cs.rec.id), slog.String("kind", cs.kind),
			slog.Int("rows", rows), slog.String("error", cs.err.Error()))
	}
	cs.s.record(cs.rec, cs.err)
	return nil
}

// Close is CloseWithError without an error.
func (cs *csvStream) Close() error { return cs.CloseWithError(nil) }
