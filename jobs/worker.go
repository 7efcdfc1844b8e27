package jobs

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/query"
)

// progressEvery is how often a running job writes its progress (its
// heartbeat) and looks for a cancel from another instance.
const progressEvery = time.Second

// Run runs jobs and sweeps until ctx ends; running jobs are then failed
// as interrupted. Recover first.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range m.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case rec := <-m.queue:
					if ctx.Err() != nil {
						return // stopping: it stays queued for the next start
					}
					if jctx, cancel, ok := m.take(rec); ok {
						m.run(ctx, jctx, cancel, rec)
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.sweepEvery(ctx)
	}()
	wg.Wait()
}

// run runs one job to its end.
func (m *Manager) run(base, jctx context.Context, cancel context.CancelCauseFunc, rec query.JobRecord) {
	id := rec.ID.String()
	defer m.done(rec.ClientID.String())
	defer cancel(nil)
	stop := context.AfterFunc(base, func() { cancel(errStopping) })
	defer stop()
	defer func() {
		m.mu.Lock()
		delete(m.running, id)
		m.mu.Unlock()
	}()
	// A cancel that came while it was queued.
	if cur, err := m.Store.Job(jctx, rec.ClientID.String(), id); err == nil && cur != nil && cur.Status != api.JobQueued {
		return
	}
	rec.Status, rec.StartedMS, rec.Instance = api.JobRunning, ms(time.Now()), m.Instance
	if err := m.save(jctx, &rec); err != nil {
		m.Log.Warn("cannot mark export job running", slog.String("job", id), slog.String("error", err.Error()))
	}
	tctx, tcancel := context.WithTimeout(jctx, m.Timeout)
	defer tcancel()
	res, err := m.write(tctx, &rec, cancel)
	rec.RecordsWritten = res.records
	m.Exported("job_"+rec.Type, int(res.records), res.csvBytes)
	switch cause := context.Cause(jctx); {
	case errors.Is(cause, errCancelled):
		m.Log.Info("export job cancelled", slog.String("job", id))
		return // Cancel wrote the record
	case errors.Is(cause, errStopping):
		err = interrupted
	case err != nil && tctx.Err() != nil:
		err = &errs.Error{Kind: errs.Timeout, Message: fmt.Sprintf("the export did not finish within %s", m.Timeout), Cause: err}
	}
	if err != nil {
		_ = m.fail(context.WithoutCancel(jctx), rec, err)
		return
	}
	m.succeed(jctx, rec, res)
}

// interrupted is the error of a job its instance stopped running.
var interrupted = interruptedBy("the service stopped while this export ran; submit it again")

func interruptedBy(msg string) error { return errs.New(errs.Unavailable, msg) }

// fail records rec as failed with err, in the error shape clients see,
// and returns err.
func (m *Manager) fail(ctx context.Context, rec query.JobRecord, err error) error {
	e := errs.From(err)
	_, code := errs.Status(e.Kind)
	if e.Kind == errs.Internal {
		m.Log.Error("export job failed", slog.String("job", rec.ID.String()), slog.String("error", err.Error()))
	}
	rec.Status, rec.FinishedMS, rec.ErrorCode, rec.ErrorMessage = api.JobFailed, ms(time.Now()), code, e.Message
	if serr := m.save(ctx, &rec); serr != nil {
		m.Log.Warn("cannot record a failed export job", slog.String("job", rec.ID.String()), slog.String("error", serr.Error()))
	}
	return err
}

// result is what writing a file found out; records and csvBytes also
// when it failed.
type result struct {
	key                 string
	records, bytes      uint64
	csvBytes            int
	sha256, first, last string
}

// write runs the export into a new file of the store and commits it.
func (m *Manager) write(ctx context.Context, rec *query.JobRecord, cancel context.CancelCauseFunc) (*result, error) {
	res := &result{key: rec.ClientID.String() + "/" + rec.ID.String() + "-" + rec.FileName}
	t, ok := exports.Lookup(rec.Type)
	if !ok {
		return res, fmt.Errorf("export job %s has unknown type %q", rec.ID, rec.Type)
	}
	var params map[string]string
	if err := json.Unmarshal([]byte(rec.Params), &params); err != nil {
		return res, fmt.Errorf("export job %s has unreadable params: %w", rec.ID, err)
	}
	req, format, err := exports.Parse(t, rec.ClientID.String(), values(params), m.Store.PseudonymKey, "")
	if err != nil {
		return res, err
	}
	if m.Files.Used() >= m.MaxBytes {
		return res, m.full()
	}
	ex, err := req.Open(ctx, m.Store)
	if err != nil {
		return res, err
	}
	defer ex.Close()
	f, err := m.Files.Create(res.key)
	if err != nil {
		return res, err
	}
	sink := m.newFileSink(ctx, f)
	out := exports.NewOut(sink, format)
	defer out.Close()
	var gz *gzip.Writer
	var gzBuf *bufio.Writer
	if rec.Compression == api.CompressionGzip {
		// gzip writes small pieces; each would be a hand-off to the sink.
		gzBuf = bufio.NewWriterSize(sink, exports.FlushAt)
		gz, _ = gzip.NewWriterLevel(gzBuf, gzip.BestSpeed)
		out.W = gz
	}
	stop := m.heartbeat(ctx, *rec, out, cancel)
	err = exports.FillSafely(ex.Fill, out)
	if err == nil {
		err = out.Finish()
	}
	if err == nil && gz != nil {
		if err = gz.Close(); err == nil {
			err = gzBuf.Flush()
		}
	}
	stop()
	if serr := sink.close(); err == nil {
		err = serr
	}
	res.records, res.csvBytes = uint64(out.Records.Load()), out.Bytes
	if err == nil {
		err = context.Cause(ctx) // a cancel after the last row
	}
	if err != nil {
		f.Abort()
		return res, err
	}
	if err := f.Commit(); err != nil {
		return res, err
	}
	res.bytes = uint64(sink.n)
	res.sha256, res.first, res.last = hex.EncodeToString(sink.sum.Sum(nil)), out.First, out.Last
	return res, nil
}

func (m *Manager) full() error {
	return &errs.Error{Kind: errs.StorageFull, Message: fmt.Sprintf("the export store holds its limit of %d bytes; download and delete finished exports, or wait for them to expire", m.MaxBytes)}
}

// fileSink is the file's end of an export: it hands what the export
// writes to a goroutine of its own that writes the file and hashes it, so
// that work runs beside the rows' encoding (on the other core); it counts
// what is stored, refuses to grow the store past its limit (counting the
// files every running job is writing), and stops the export once its
// context ends (the driver still hands out the rows it holds).
type fileSink struct {
	ctx  context.Context
	m    *Manager
	sum  hash.Hash
	n    int64
	free chan []byte
	full chan []byte
	done chan struct{}
	err  atomic.Pointer[error] // the file's first write error
}

// sinkBuffers bounds the bytes in flight between the export and the file.
const sinkBuffers = 4

func (m *Manager) newFileSink(ctx context.Context, w io.Writer) *fileSink {
	s := &fileSink{ctx: ctx, m: m, sum: sha256.New(), free: make(chan []byte, sinkBuffers), full: make(chan []byte, sinkBuffers), done: make(chan struct{})}
	for range sinkBuffers {
		s.free <- make([]byte, 0, exports.FlushAt+8192)
	}
	go func() {
		defer close(s.done)
		// A thread of its own: ch-go byte-swaps every UUID block with AVX2
		// code (segmentio/asm) that leaves the upper YMM state dirty, and
		// SHA-256 run on such a thread is ~90× slower (20 MB/s against
		// 1.8 GB/s here); no other code runs on a locked thread.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b := range s.full {
			if s.err.Load() == nil {
				if _, err := w.Write(b); err != nil {
					s.err.Store(&err)
				}
				s.sum.Write(b)
			}
			s.free <- b[:0]
		}
	}()
	return s
}

func (s *fileSink) Write(p []byte) (int, error) {
	if s.ctx.Err() != nil {
		return 0, context.Cause(s.ctx)
	}
	if err := s.err.Load(); err != nil {
		return 0, *err
	}
	if s.m.Files.Used()+s.m.writing.Load()+int64(len(p)) > s.m.MaxBytes {
		return 0, s.m.full()
	}
	b := append(<-s.free, p...)
	s.full <- b
	s.n += int64(len(p))
	s.m.writing.Add(int64(len(p)))
	return len(p), nil
}

// close waits for the file to have everything and returns its first
// write error; the bytes stop counting as being written.
func (s *fileSink) close() error {
	close(s.full)
	<-s.done
	s.m.writing.Add(-s.n)
	if err := s.err.Load(); err != nil {
		return *err
	}
	return nil
}

// heartbeat writes the job's progress every progressEvery until stop is
// called, and cancels the job when its record says another instance
// cancelled it.
func (m *Manager) heartbeat(ctx context.Context, rec query.JobRecord, out *exports.Out, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if cur, err := m.Store.Job(ctx, rec.ClientID.String(), rec.ID.String()); err == nil && cur != nil && cur.Status == api.JobCancelled {
				cancel(errCancelled)
				return
			}
			rec.RecordsWritten = uint64(out.Records.Load())
			if err := m.save(ctx, &rec); err != nil && ctx.Err() == nil {
				m.Log.Warn("cannot record export progress", slog.String("job", rec.ID.String()), slog.String("error", err.Error()))
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// succeed records the file; a cancel that won the race removes it again.
func (m *Manager) succeed(ctx context.Context, rec query.JobRecord, res *result) {
	now := time.Now()
	// Up to whole seconds: the link's expiry is in seconds and must be the same.
	expires := now.Add(m.Retention + time.Second - 1).Truncate(time.Second)
	rec.Status, rec.FinishedMS, rec.ExpiresMS = api.JobSucceeded, ms(now), ms(expires)
	rec.RecordsWritten, rec.RecordCount, rec.Bytes, rec.SHA256 = res.records, res.records, res.bytes, res.sha256
	rec.FirstDate, rec.LastDate, rec.FileKey = res.first, res.last, res.key
	ctx = context.WithoutCancel(ctx)
	if err := m.save(ctx, &rec); err != nil {
		m.Log.Warn("cannot record a finished export job", slog.String("job", rec.ID.String()), slog.String("error", err.Error()))
		_ = m.Files.Remove(res.key)
		return
	}
	if cur, err := m.Store.Job(ctx, rec.ClientID.String(), rec.ID.String()); err == nil && cur != nil && cur.Status != api.JobSucceeded {
		_ = m.Files.Remove(res.key)
	}
	m.Log.Info("export job succeeded", slog.String("job", rec.ID.String()), slog.Uint64("records", res.records), slog.Uint64("bytes", res.bytes))
}
