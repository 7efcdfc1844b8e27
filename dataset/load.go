package dataset

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// LoadStats reports what Load wrote.
type LoadStats struct {
	Clients, Apps, DepartmentRows, UsageRows int
	Partitions                               []string
	Elapsed                                  time.Duration
}

// Load validates and loads a dataset directory. Every file is checked
// before anything is written: a bad row fails the whole load, named as
// FILE:LINE: reason. Usage rows replace what the database held for the same
// (client, day), partition by partition, so loading a directory twice gives
// the same results as loading it once, before and after merges.
func Load(ctx context.Context, conn driver.Conn, dir string, progress io.Writer) (LoadStats, error) {
	start := time.Now()
	d, err := readDims(dir)
	if err != nil {
		return LoadStats{}, err
	}
	known, err := d.knownApps(ctx, conn)
	if err != nil {
		return LoadStats{}, err
	}
	st := &staging{conn: conn, table: "usage_load_" + randomHex(6)}
	if err := st.create(ctx); err != nil {
		return LoadStats{}, err
	}
	defer st.drop()
	rows, err := st.fill(ctx, dir, known, newMeter(progress, start))
	if err != nil {
		return LoadStats{}, err
	}
	parts, err := st.checkDuplicates(ctx)
	if err != nil {
		return LoadStats{}, err
	}
	if err := d.insert(ctx, conn, uint64(start.UnixNano())); err != nil {
		return LoadStats{}, err
	}
	if err := st.publish(ctx, parts); err != nil {
		return LoadStats{}, err
	}
	return LoadStats{Clients: len(d.clients), Apps: len(d.apps), DepartmentRows: len(d.members),
		UsageRows: rows, Partitions: parts, Elapsed: time.Since(start)}, nil
}

// staging is a load's private copy of app_usage_reports' structure. Rows go
// there first; each of its monthly partitions then replaces the live one
// atomically (REPLACE PARTITION), after the live rows of days this load does
// not carry have been copied in.
type staging struct {
	conn  driver.Conn
	table string
}

func (s *staging) create(ctx context.Context) error {
	if err := s.conn.Exec(ctx, "CREATE TABLE "+s.table+" AS app_usage_reports"); err != nil {
		return fmt.Errorf("cannot create staging table %s: %w", s.table, err)
	}
	return nil
}

func (s *staging) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.conn.Exec(ctx, "DROP TABLE IF EXISTS "+s.table)
}

func (s *staging) fill(ctx context.Context, dir string, known map[appKey]struct{}, m *meter) (int, error) {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table+" ("+usageColumns+")")
	if err != nil {
		return 0, fmt.Errorf("cannot prepare usage insert: %w", err)
	}
	defer b.Abort()
	rows := 0
	err = readUsageChunks(ctx, dir, known, func(c *usageChunk) error {
		rows += len(c.clients)
		m.report(rows, false)
		return insertChunk(b, c)
	})
	if err != nil {
		return 0, err
	}
	if err := b.Send(); err != nil {
		return 0, fmt.Errorf("cannot send usage rows: %w", err)
	}
	m.report(rows, true)
	return rows, nil
}

// checkDuplicates fails the load when a (client, day, app, user) key occurs
// twice in the file, and returns the staged partitions. uniqExact over the
// key (a 128-bit hash set) finds candidates cheaply; only then is the exact
// key looked up for the message, which also rules out a hash collision.
func (s *staging) checkDuplicates(ctx context.Context) ([]string, error) {
	rows, err := s.conn.Query(ctx, "SELECT toString(toYYYYMM(activity_date)) AS p, count() - uniqExact(client_id, activity_date, application_id, user_id) FROM "+s.table+" GROUP BY p ORDER BY p")
	if err != nil {
		return nil, fmt.Errorf("cannot check staged usage for duplicates: %w", err)
	}
	defer rows.Close()
	var parts, suspect []string
	for rows.Next() {
		var p string
		var extra int64
		if err := rows.Scan(&p, &extra); err != nil {
			return nil, err
		}
		parts = append(parts, p)
		if extra > 0 {
			suspect = append(suspect, p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, p := range suspect {
		if err := s.exactDuplicate(ctx, p); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

func (s *staging) exactDuplicate(ctx context.Context, part string) error {
	var c, a, u string
	var d time.Time
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT toString(client_id), activity_date, toString(application_id), toString(user_id), count() AS n FROM "+s.table+
		" WHERE toYYYYMM(activity_date) = toUInt32(?) GROUP BY client_id, activity_date, application_id, user_id HAVING n > 1 LIMIT 1", part).Scan(&c, &d, &a, &u, &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no exact duplicate: the hashes collided
	}
	if err != nil {
		return fmt.Errorf("cannot look up duplicate usage rows: %w", err)
	}
	return fmt.Errorf("usage rows: client %s, day %s, app %s, user %s occurs %d times; each (client, day, app, user) may occur once",
		c, d.Format(DateLayout), a, u, n)
}

// publish swaps each staged month into app_usage_reports. Live rows of
// (client, day) pairs the load does not carry are first copied into the
// staged month so the swap keeps them. first/last activity is recorded
// before the swap: an app then never shows usage without its bounds.
func (s *staging) publish(ctx context.Context, parts []string) error {
	err := s.conn.Exec(ctx, "INSERT INTO app_activity_bounds (client_id, application_id, first_seen, last_seen) SELECT client_id, application_id, minState(activity_date), maxState(activity_date) FROM "+s.table+" GROUP BY client_id, application_id")
	if err != nil {
		return fmt.Errorf("cannot record first and last activity: %w", err)
	}
	for _, p := range parts {
		keep := "INSERT INTO " + s.table + " (" + usageColumns + ") SELECT " + usageColumns +
			" FROM app_usage_reports WHERE toYYYYMM(activity_date) = " + p +
			" AND (client_id, activity_date) NOT IN (SELECT DISTINCT client_id, activity_date FROM " + s.table + " WHERE toYYYYMM(activity_date) = " + p + ")"
		if err := s.conn.Exec(ctx, keep); err != nil {
			return fmt.Errorf("cannot keep other days of partition %s: %w", p, err)
		}
		if err := s.conn.Exec(ctx, "ALTER TABLE app_usage_reports REPLACE PARTITION "+p+" FROM "+s.table); err != nil {
			return fmt.Errorf("cannot replace partition %s: %w", p, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// meter prints load progress at most every two seconds.
type meter struct {
	w     io.Writer
	start time.Time
	last  time.Time
}

func newMeter(w io.Writer, start time.Time) *meter { return &meter{w: w, start: start, last: start} }

func (m *meter) report(rows int, final bool) {
	if m.w == nil || (!final && time.Since(m.last) < 2*time.Second) {
		return
	}
	m.last = time.Now()
	el := time.Since(m.start).Seconds()
	fmt.Fprintf(m.w, "usage: %d rows, %.0f rows/s, %.1fs\n", rows, float64(rows)/el, el)
}
