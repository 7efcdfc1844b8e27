package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/usagelens/usagelens/api"
)

// Recover takes over what this instance left when it stopped: a job that
// was running is failed as interrupted (its file was never committed, and
// running it again could fail the same way); a queued one is queued again.
func (m *Manager) Recover(ctx context.Context) error {
	recs, err := m.Store.JobsIn(ctx, api.JobQueued, api.JobRunning)
	if err != nil {
		return err
	}
	requeued, failed := 0, 0
	for _, rec := range recs {
		if rec.Instance != m.Instance {
			continue
		}
		if rec.Status == api.JobRunning {
			_ = m.fail(ctx, rec, interrupted)
			failed++
			continue
		}
		m.mu.Lock()
		m.pending[rec.ClientID.String()]++
		m.mu.Unlock()
		select {
		case m.queue <- rec:
			requeued++
		default:
			m.done(rec.ClientID.String())
			_ = m.fail(ctx, rec, interrupted)
			failed++
		}
	}
	if requeued+failed > 0 {
		m.Log.Info("export jobs taken over after a restart", slog.Int("queued_again", requeued), slog.Int("failed_as_interrupted", failed))
	}
	return nil
}

func (m *Manager) sweepEvery(ctx context.Context) {
	tick := time.NewTicker(m.Sweep)
	defer tick.Stop()
	for {
		m.sweep(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// sweep expires finished jobs whose time is up, removing their files and
// any file older than the retention, and fails running jobs whose
// instance stopped writing progress.
func (m *Manager) sweep(ctx context.Context, now time.Time) {
	recs, err := m.Store.JobsIn(ctx, api.JobSucceeded, api.JobRunning)
	if err != nil {
		if ctx.Err() == nil {
			m.Log.Warn("cannot sweep export jobs", slog.String("error", err.Error()))
		}
		return
	}
	for _, rec := range recs {
		switch {
		case rec.Status == api.JobSucceeded && !now.Before(fromMS(rec.ExpiresMS)):
			if err := m.Files.Remove(rec.FileKey); err != nil {
				m.Log.Warn("cannot remove an expired export file", slog.String("key", rec.FileKey), slog.String("error", err.Error()))
				continue
			}
			rec.Status = api.JobExpired
			_ = m.save(ctx, &rec)
		case rec.Status == api.JobRunning && now.Sub(fromMS(rec.UpdatedMS)) > m.StaleAfter && !m.runsHere(rec.ID.String()):
			_ = m.fail(ctx, rec, stale)
		}
	}
	// Files no job offers any more (a cancel that won a race, a record that
	// could not be written): a minute of margin past every job's expiry.
	if n, err := m.Files.RemoveOlder(now.Add(-m.Retention - time.Minute)); err != nil {
		m.Log.Warn("cannot sweep the export store", slog.String("error", err.Error()))
	} else if n > 0 {
		m.Log.Info("expired export files removed", slog.Int("files", n))
	}
}

var stale = interruptedBy("the instance running this export stopped reporting progress; submit it again")

func (m *Manager) runsHere(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.running[id] != nil
}
