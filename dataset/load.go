package dataset

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
)

// LoadStats reports what Load wrote.
type LoadStats struct {
	Clients, Apps, DepartmentRows, UsageRows int
	Partitions                               []string
	Elapsed                                  time.Duration
	// Rollups is the part of Elapsed spent building rollups.
	Rollups time.Duration
}

// Load validates and loads a dataset directory. Every file is checked
// before anything is written: a bad row fails the whole load, named as
// FILE:LINE: reason. Usage rows replace what the database held for the same
// (client, day), partition by partition, so loading a directory twice gives
// the same results as loading it once, before and after merges. Every
// table a month's swap changes (usage rows and each rollup) is staged in
// full before the first swap; the clients' data versions are bumped after
// the last, so nothing serves a load that did not finish.
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
	st := &staging{conn: conn, suffix: "_load_" + randomHex(6)}
	defer st.drop()
	if err := st.create(ctx); err != nil {
		return LoadStats{}, err
	}
	rows, err := st.fill(ctx, dir, known, newMeter(progress, start))
	if err != nil {
		return LoadStats{}, err
	}
	parts, err := st.checkDuplicates(ctx)
	if err != nil {
		return LoadStats{}, err
	}
	touched, err := st.stage(ctx, parts)
	if err != nil {
		return LoadStats{}, err
	}
	if err := d.insert(ctx, conn, uint64(start.UnixNano())); err != nil {
		return LoadStats{}, err
	}
	if err := st.swap(ctx, parts); err != nil {
		return LoadStats{}, err
	}
	if err := chschema.BumpVersions(ctx, conn, union(touched, d.clientIDs())); err != nil {
		return LoadStats{}, err
	}
	return LoadStats{Clients: len(d.clients), Apps: len(d.apps), DepartmentRows: len(d.members),
		UsageRows: rows, Partitions: parts, Elapsed: time.Since(start), Rollups: st.rollups}, nil
}

// staging is a load's private copies of app_usage_reports and of each
// rollup table. Rows go to the usage copy first; each monthly partition of
// every copy then replaces the live one atomically (REPLACE PARTITION),
// after the live rows the load does not replace have been copied in: usage
// rows of days the load does not carry, rollup rows of clients it does not
// touch.
type staging struct {
	conn   driver.Conn
	suffix string
	// rollups is the time spent building rollups.
	rollups time.Duration
}

// usage is the staged copy of app_usage_reports; touched lists the
// (client, month)s the load carries.
func (s *staging) usage() string   { return "app_usage_reports" + s.suffix }
func (s *staging) touched() string { return "load_touched" + s.suffix }

func (s *staging) tables() []string {
	t := []string{s.usage()}
	for _, r := range chschema.Rollups {
		t = append(t, r.Table+s.suffix)
	}
	return t
}

func (s *staging) create(ctx context.Context) error {
	stmts := []string{"CREATE TABLE " + s.touched() + " (client_id UUID, part UInt32) ENGINE = Log"}
	for _, t := range s.tables() {
		live := strings.TrimSuffix(t, s.suffix)
		stmts = append(stmts, "CREATE TABLE "+t+" AS "+live)
	}
	for _, st := range stmts {
		if err := s.conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("cannot create staging table: %s: %w", st, err)
		}
	}
	return nil
}

func (s *staging) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, t := range append(s.tables(), s.touched()) {
		_ = s.conn.Exec(ctx, "DROP TABLE IF EXISTS "+t)
	}
}

func (s *staging) fill(ctx context.Context, dir string, known map[appKey]struct{}, m *meter) (int, error) {
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.usage()+" ("+usageColumns+")")
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
	rows, err := s.conn.Query(ctx, "SELECT toString(toYYYYMM(activity_date)) AS p, count() - uniqExact(client_id, activity_date, application_id, user_id) FROM "+s.usage()+" GROUP BY p ORDER BY p")
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
	err := s.conn.QueryRow(ctx, "SELECT toString(client_id), activity_date, toString(application_id), toString(user_id), count() AS n FROM "+s.usage()+
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

// stage completes every staged month: the touched (client, month)s are
// recorded, live usage rows of (client, day)s the load does not carry are
// copied in, and each rollup is built for the touched clients from the
// staged rows and copied for the others from the live rollup. First and
// last activity is recorded here, before any swap: an app then never shows
// usage without its bounds. It returns the touched clients.
func (s *staging) stage(ctx context.Context, parts []string) ([]string, error) {
	err := s.conn.Exec(ctx, "INSERT INTO "+s.touched()+" (client_id, part) SELECT DISTINCT client_id, toYYYYMM(activity_date) FROM "+s.usage())
	if err != nil {
		return nil, fmt.Errorf("cannot record the months the load touches: %w", err)
	}
	err = s.conn.Exec(ctx, "INSERT INTO app_activity_bounds (client_id, application_id, first_seen, last_seen) SELECT client_id, application_id, minState(activity_date), maxState(activity_date) FROM "+s.usage()+" GROUP BY client_id, application_id")
	if err != nil {
		return nil, fmt.Errorf("cannot record first and last activity: %w", err)
	}
	for _, p := range parts {
		keep := "INSERT INTO " + s.usage() + " (" + usageColumns + ") SELECT " + usageColumns +
			" FROM app_usage_reports WHERE toYYYYMM(activity_date) = " + p +
			" AND (client_id, activity_date) NOT IN (SELECT DISTINCT client_id, activity_date FROM " + s.usage() + " WHERE toYYYYMM(activity_date) = " + p + ")"
		if err := s.conn.Exec(ctx, keep); err != nil {
			return nil, fmt.Errorf("cannot keep other days of partition %s: %w", p, err)
		}
		if err := s.stageRollups(ctx, p); err != nil {
			return nil, err
		}
	}
	return s.touchedClients(ctx)
}

func (s *staging) stageRollups(ctx context.Context, part string) error {
	start := time.Now()
	defer func() { s.rollups += time.Since(start) }()
	touched := "IN (SELECT client_id FROM " + s.touched() + " WHERE part = " + part + ")"
	for _, r := range chschema.Rollups {
		stmts := []string{
			r.Build(r.Table+s.suffix, s.usage(), "toYYYYMM(activity_date) = "+part+" AND client_id "+touched),
			r.Keep(r.Table+s.suffix, part, "client_id NOT "+touched),
		}
		for _, st := range stmts {
			if err := s.conn.Exec(ctx, st); err != nil {
				return fmt.Errorf("cannot stage %s for partition %s: %w", r.Table, part, err)
			}
		}
	}
	return nil
}

func (s *staging) touchedClients(ctx context.Context) ([]string, error) {
	ids, err := chschema.StringColumn(ctx, s.conn, "SELECT DISTINCT toString(client_id) FROM "+s.touched())
	if err != nil {
		return nil, fmt.Errorf("cannot read the clients the load touches: %w", err)
	}
	return ids, nil
}

// swap replaces each month of the live tables by the staged one. Each swap
// is atomic and only moves parts; should one fail, the months before it are
// new and the rest old, the data versions are not bumped, and loading the
// same directory again completes it.
func (s *staging) swap(ctx context.Context, parts []string) error {
	for _, p := range parts {
		for _, t := range s.tables() {
			live := strings.TrimSuffix(t, s.suffix)
			if err := s.conn.Exec(ctx, "ALTER TABLE "+live+" REPLACE PARTITION "+p+" FROM "+t); err != nil {
				return fmt.Errorf("cannot replace partition %s of %s: %w", p, live, err)
			}
		}
	}
	for _, t := range s.tables() {
		if err := chschema.SettleReplaced(ctx, s.conn, strings.TrimSuffix(t, s.suffix)); err != nil {
			return err
		}
	}
	return nil
}

// union is a and b without repeats.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
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
