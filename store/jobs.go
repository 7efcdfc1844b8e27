package store

import (
	"context"
	"fmt"
	"time"

	"github.com/usagelens/usagelens/query"
)

// SaveJob writes a version of a job's row.
func (s *Store) SaveJob(ctx context.Context, j *query.JobRecord) error {
	start := time.Now()
	err := s.saveJob(ctx, j)
	s.observe("job_save", err, time.Since(start))
	return err
}

func (s *Store) saveJob(ctx context.Context, j *query.JobRecord) error {
	qc, cancel := queryContext(ctx, "job_save")
	defer cancel()
	b, err := s.conn.PrepareBatch(qc, query.JobInsertSQL())
	if err != nil {
		return translateIn(ctx, fmt.Errorf("cannot save export job %s: %w", j.ID, err))
	}
	if err := b.Append(j.Values()...); err != nil {
		_ = b.Abort()
		return translateIn(ctx, fmt.Errorf("cannot save export job %s: %w", j.ID, err))
	}
	if err := b.Send(); err != nil {
		return translateIn(ctx, fmt.Errorf("cannot save export job %s: %w", j.ID, err))
	}
	return nil
}

// Job is a client's job, nil when it has none of that id.
func (s *Store) Job(ctx context.Context, clientID, jobID string) (*query.JobRecord, error) {
	jobs, err := s.jobs(ctx, "job", query.JobSQL(clientID, jobID))
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	return &jobs[0], nil
}

// Jobs is a page of a client's jobs, newest first, with one more when a
// page follows.
func (s *Store) Jobs(ctx context.Context, clientID string, after *query.Cursor, limit int) ([]query.JobRecord, error) {
	return s.jobs(ctx, "jobs", query.JobsSQL(clientID, after, limit))
}

// JobsIn is every client's jobs in one of statuses.
func (s *Store) JobsIn(ctx context.Context, statuses ...string) ([]query.JobRecord, error) {
	return s.jobs(ctx, "jobs_in", query.JobsInSQL(statuses))
}

func (s *Store) jobs(ctx context.Context, kind string, st query.Statement) ([]query.JobRecord, error) {
	rows, err := s.query(ctx, kind, st)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []query.JobRecord
	for rows.Next() {
		var j query.JobRecord
		if err := rows.Scan(j.Dest()...); err != nil {
			return nil, fmt.Errorf("cannot scan export job: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// KillJob cancels a job's queries on the server, wherever they were sent
// from.
func (s *Store) KillJob(ctx context.Context, jobID string) error {
	start := time.Now()
	qc, cancel := queryContext(ctx, "job_kill")
	defer cancel()
	st := query.KillJobSQL(jobID)
	err := translateIn(ctx, s.conn.Exec(qc, st.SQL, st.Args...))
	s.observe("job_kill", err, time.Since(start))
	return err
}
