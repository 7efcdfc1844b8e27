// Package jobs runs export jobs: an export of the exports table, started
// by a request and run in the background by a bounded pool of workers
// into a file of the export store, recorded in ClickHouse so that every
// instance sees it and it survives restarts, and downloaded later through
// a signed link.
package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/exports"
	"github.com/usagelens/usagelens/exportstore"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// Config is what the jobs run with; zero values take the defaults named.
type Config struct {
	Store *store.Store
	Files exportstore.Files
	// LinkKey signs download links.
	LinkKey []byte
	// Instance names this process among the instances sharing the job
	// records: at start it takes over the jobs it left queued or running.
	Instance string
	// Workers is how many jobs run at once (2).
	Workers int
	// PerClient caps one client's queued and running jobs (4).
	PerClient int
	// Queue caps the queued jobs of this instance (256).
	Queue int
	// Timeout bounds one job (30 min).
	Timeout time.Duration
	// Retention is how long a file stays downloadable (24 h).
	Retention time.Duration
	// MaxBytes caps the bytes of the export store (10 GiB).
	MaxBytes int64
	// Sweep is how often expired files and stale jobs are looked for (1 min).
	Sweep time.Duration
	// StaleAfter fails a running job whose instance wrote no progress for
	// that long (2 min).
	StaleAfter time.Duration
	Log        *slog.Logger
	// Exported, when set, counts each job's records and CSV bytes under
	// the kind job_<type> (the export metrics).
	Exported func(kind string, rows, bytes int)
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Workers, 2)
	def(&c.PerClient, 4)
	def(&c.Queue, 256)
	defDur(&c.Timeout, 30*time.Minute)
	defDur(&c.Retention, 24*time.Hour)
	defDur(&c.Sweep, time.Minute)
	defDur(&c.StaleAfter, 2*time.Minute)
	if c.MaxBytes <= 0 {
		c.MaxBytes = 10 << 30
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Exported == nil {
		c.Exported = func(string, int, int) {}
	}
}

// Manager accepts, runs and serves export jobs.
type Manager struct {
	Config
	queue chan query.JobRecord

	mu      sync.Mutex
	pending map[string]int                     // client → queued and running jobs here
	running map[string]context.CancelCauseFunc // job id → its cancel
	dropped map[string]bool                    // queued here, then cancelled: skipped, no longer counted
	writing atomic.Int64                       // bytes of the files being written here
}

// New is a manager; Run starts its workers.
func New(c Config) *Manager {
	c.defaults()
	return &Manager{Config: c, queue: make(chan query.JobRecord, c.Queue), pending: map[string]int{}, running: map[string]context.CancelCauseFunc{},
		dropped: map[string]bool{}}
}

// Submit validates a request body and queues its job: 400 for a bad body
// or bad params, 429 over the client's limit, before any job exists.
func (m *Manager) Submit(ctx context.Context, clientID string, body []byte) (*api.ExportJob, error) {
	req, err := decodeRequest(body)
	if err != nil {
		return nil, err
	}
	t, ok := exports.Lookup(req.Type)
	if !ok {
		return nil, bodyErr("type", req.Type, fmt.Sprintf("type must be one of %v", exports.Names()))
	}
	ex, format, err := exports.Parse(t, clientID, values(req.Params), m.Store.PseudonymKey, "")
	if err != nil {
		return nil, err
	}
	params, _ := json.Marshal(req.Params)
	now := time.Now()
	id := uuid.New()
	name := ex.FileName() + format.Ext()
	if req.Compression == api.CompressionGzip {
		name += ".gz"
	}
	rec := query.JobRecord{ClientID: uuid.MustParse(clientID), ID: id, Type: t.Name, Params: string(params), Compression: req.Compression,
		Status: api.JobQueued, Instance: m.Instance, CreatedMS: ms(now), UpdatedMS: ms(now), FileName: name}
	if err := m.admit(clientID); err != nil {
		return nil, err
	}
	if err := m.save(ctx, &rec); err != nil {
		m.done(clientID)
		return nil, err
	}
	select {
	case m.queue <- rec:
	default: // admit counted the queue's room; only a race fills it
		m.done(clientID)
		return nil, m.fail(ctx, rec, &errs.Error{Kind: errs.Overloaded, RetryAfter: 30, Message: "the export queue is full; retry later"})
	}
	return m.view(rec, now), nil
}

// decodeRequest reads a POST body: JSON, no unknown fields, params as
// strings, a known compression.
func decodeRequest(body []byte) (*api.ExportRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req api.ExportRequest
	if err := dec.Decode(&req); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, bodyErr(typeErr.Field, "", fmt.Sprintf("%s must be %s", typeErr.Field, map[bool]string{true: "a string", false: "an object of strings"}[typeErr.Field != "params"]))
		}
		return nil, &errs.Error{Kind: errs.InvalidRequest, Message: "the body must be a JSON object with type, params and compression: " + err.Error()}
	}
	if dec.More() {
		return nil, errs.New(errs.InvalidRequest, "the body must hold one JSON object")
	}
	if req.Type == "" {
		return nil, bodyErr("type", "", fmt.Sprintf("type is required: one of %v", exports.Names()))
	}
	if req.Compression == "" {
		req.Compression = api.CompressionNone
	}
	if !slices.Contains(api.Compressions, req.Compression) {
		return nil, bodyErr("compression", req.Compression, fmt.Sprintf("compression must be one of %v", api.Compressions))
	}
	if req.Params == nil {
		req.Params = map[string]string{}
	}
	return &req, nil
}

func bodyErr(field, value, msg string) error {
	return &errs.Error{Kind: errs.InvalidParameter, Message: msg, Details: map[string]any{field: value}}
}

func values(params map[string]string) url.Values {
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	return v
}

// admit counts a job against the client's limit and the queue's room.
func (m *Manager) admit(clientID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending[clientID] >= m.PerClient {
		return &errs.Error{Kind: errs.TooManyRequests, RetryAfter: 10,
			Message: fmt.Sprintf("this client already has %d export jobs queued or running, the most allowed; retry when one has finished", m.PerClient)}
	}
	queued := 0
	for _, n := range m.pending {
		queued += n
	}
	if queued-len(m.running) >= m.Queue {
		return &errs.Error{Kind: errs.Overloaded, RetryAfter: 30, Message: "the export queue is full; retry later"}
	}
	m.pending[clientID]++
	return nil
}

// done uncounts a job that left the queue for good.
func (m *Manager) done(clientID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending[clientID]--; m.pending[clientID] <= 0 {
		delete(m.pending, clientID)
	}
}

// Get is a client's job: 404 when it has none of that id.
func (m *Manager) Get(ctx context.Context, clientID, id string) (*api.ExportJob, error) {
	rec, err := m.record(ctx, clientID, id)
	if err != nil {
		return nil, err
	}
	return m.view(*rec, time.Now()), nil
}

func (m *Manager) record(ctx context.Context, clientID, id string) (*query.JobRecord, error) {
	notFound := &errs.Error{Kind: errs.NotFound, Message: "export job not found", Details: map[string]any{"export_id": id}}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return nil, notFound
	}
	rec, err := m.Store.Job(ctx, clientID, id)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, notFound
	}
	return rec, nil
}

// List is a page of the client's jobs, newest first.
func (m *Manager) List(ctx context.Context, clientID string, v url.Values) (*api.ExportJobPage, error) {
	for name := range v {
		if name != api.ParamPageSize && name != api.ParamCursor {
			return nil, bodyErr(name, v.Get(name), fmt.Sprintf("unknown parameter %q", name))
		}
	}
	size, err := query.ParsePageSize(v)
	if err != nil {
		return nil, err
	}
	var after *query.Cursor
	if c := v.Get(api.ParamCursor); c != "" {
		if after, err = query.DecodeCursor(c, query.JobsFingerprint); err != nil {
			return nil, err
		}
		if _, err := strconv.ParseUint(after.Key, 10, 64); err != nil {
			return nil, bodyErr(api.ParamCursor, c, "cursor is not valid: pass next_cursor from a previous response unchanged")
		}
	}
	recs, err := m.Store.Jobs(ctx, clientID, after, size)
	if err != nil {
		return nil, err
	}
	page := &api.ExportJobPage{Data: []api.ExportJob{}}
	now := time.Now()
	for i, r := range recs {
		if i == size {
			last := recs[size-1]
			c := query.Cursor{Key: strconv.FormatUint(last.CreatedMS, 10), ID: last.ID.String(), Fingerprint: query.JobsFingerprint}.Encode()
			page.NextCursor = &c
			break
		}
		page.Data = append(page.Data, *m.view(r, now))
	}
	return page, nil
}

// Cancel stops a queued or running job, or removes a finished one's file.
func (m *Manager) Cancel(ctx context.Context, clientID, id string) error {
	rec, err := m.record(ctx, clientID, id)
	if err != nil {
		return err
	}
	switch rec.Status {
	case api.JobQueued, api.JobRunning:
		queued := rec.Status == api.JobQueued
		rec.Status, rec.FinishedMS = api.JobCancelled, ms(time.Now())
		if err := m.save(ctx, rec); err != nil {
			return err
		}
		if m.cancelHere(rec, queued) {
			return nil
		}
		if rec.Instance != m.Instance {
			// Another instance runs it: stop its query now; that instance
			// sees the cancel at its next progress write anyway.
			if err := m.Store.KillJob(ctx, id); err != nil {
				m.Log.Warn("cannot kill a cancelled export job's query", slog.String("job", id), slog.String("error", err.Error()))
			}
		}
	case api.JobSucceeded:
		if err := m.Files.Remove(rec.FileKey); err != nil {
			return fmt.Errorf("cannot remove export file %s: %w", rec.FileKey, err)
		}
		rec.Status = api.JobExpired
		return m.save(ctx, rec)
	}
	return nil
}

// cancelHere stops a job this instance runs, or drops one it has queued
// (it stops counting against the client's limit at once), and says
// whether it did either.
func (m *Manager) cancelHere(rec *query.JobRecord, queued bool) bool {
	id := rec.ID.String()
	m.mu.Lock()
	cancel := m.running[id]
	queuedHere := cancel == nil && queued && rec.Instance == m.Instance && !m.dropped[id]
	if queuedHere {
		m.dropped[id] = true
	}
	m.mu.Unlock()
	switch {
	case cancel != nil:
		cancel(errCancelled)
	case queuedHere:
		m.done(rec.ClientID.String())
	}
	return cancel != nil || queuedHere
}

// take is a worker's turn at a job it dequeued: the job's context, now
// registered as running here, or false when the job was cancelled while
// queued.
func (m *Manager) take(rec query.JobRecord) (context.Context, context.CancelCauseFunc, bool) {
	id := rec.ID.String()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dropped[id] {
		delete(m.dropped, id)
		return nil, nil, false
	}
	// The job's id is its queries' request id: KILL QUERY finds them by it.
	jctx, cancel := context.WithCancelCause(store.WithRequestID(context.Background(), "job-"+id))
	m.running[id] = cancel
	return jctx, cancel, true
}

// errCancelled and errStopping are why a job's context ends early.
var (
	errCancelled = errors.New("export job cancelled")
	errStopping  = errors.New("the service is stopping")
)

// rank orders a job's states: a version of a later state always wins
// over one of an earlier state, whatever the clocks of the instances
// writing them, so a late progress write cannot undo a finish, and a
// cancel wins over a finish that raced it.
var rank = map[string]uint64{api.JobQueued: 0, api.JobRunning: 1, api.JobSucceeded: 2, api.JobFailed: 2, api.JobCancelled: 3, api.JobExpired: 4}

var lastVersion atomic.Uint64

// save writes rec as its newest version: its state's rank, then the time
// in microseconds (strictly increasing within this process).
func (m *Manager) save(ctx context.Context, rec *query.JobRecord) error {
	now := uint64(time.Now().UnixMicro())
	for {
		last := lastVersion.Load()
		v := max(now, last+1)
		if lastVersion.CompareAndSwap(last, v) {
			rec.Version = rank[rec.Status]<<56 | v
			break
		}
	}
	rec.UpdatedMS = ms(time.Now())
	return m.Store.SaveJob(context.WithoutCancel(ctx), rec)
}

func ms(t time.Time) uint64 { return uint64(t.UnixMilli()) }

func fromMS(v uint64) time.Time { return time.UnixMilli(int64(v)).UTC() }
