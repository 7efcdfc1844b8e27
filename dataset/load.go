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
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

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
//
// On a cluster database each client's rows are staged and swapped on the
// shard that owns the client, in its local tables. Every shard is staged
// before any swaps, so a load that fails while staging (a shard down, a
// bad row) changes nothing anywhere. Shards then swap one after another,
// each bumping its own clients' versions: should a shard fail there, the
// shards before it serve the new data, it and the ones after it the old
// (a shard cut off mid-swap has its earlier months new, as on one node),
// and loading the same directory again completes the load.
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
	shards, err := chschema.OpenShards(ctx, conn, 4)
	if err != nil {
		return LoadStats{}, err
	}
	defer shards.Close()
	l := &load{shards: shards, tag: "load_" + randomHex(6)}
	defer l.drop()
	if err := l.create(ctx); err != nil {
		return LoadStats{}, err
	}
	rows, err := l.fill(ctx, dir, known, newMeter(progress, start))
	if err != nil {
		return LoadStats{}, err
	}
	if err := l.stage(ctx); err != nil {
		return LoadStats{}, err
	}
	if err := l.commit(ctx, d, uint64(start.UnixNano())); err != nil {
		return LoadStats{}, err
	}
	return LoadStats{Clients: len(d.clients), Apps: len(d.apps), DepartmentRows: len(d.members),
		UsageRows: rows, Partitions: l.parts(), Elapsed: time.Since(start), Rollups: l.rollups()}, nil
}

// load is one staging per shard (one on a single node).
type load struct {
	shards *chschema.Shards
	tag    string
	st     []*staging
}

func (l *load) create(ctx context.Context) error {
	for i, c := range l.shards.Conns {
		st := &staging{conn: c, tag: l.tag, shard: l.shards.Names[i]}
		l.st = append(l.st, st)
		if err := st.create(ctx); err != nil {
			return st.wrap(err)
		}
	}
	return nil
}

func (l *load) drop() {
	for _, st := range l.st {
		st.drop()
	}
}

// fill stages every usage row on the shard that owns its client.
func (l *load) fill(ctx context.Context, dir string, known map[appKey]struct{}, m *meter) (int, error) {
	var batches []driver.Batch
	defer func() {
		for _, b := range batches {
			b.Abort()
		}
	}()
	for _, st := range l.st {
		b, err := st.conn.PrepareBatch(ctx, "INSERT INTO "+st.usage()+" ("+usageColumns+")")
		if err != nil {
			return 0, st.wrap(fmt.Errorf("cannot prepare usage insert: %w", err))
		}
		batches = append(batches, b)
	}
	split := newSplitter(len(l.st), l.shards.Owner)
	rows := 0
	err := readUsageChunks(ctx, dir, known, func(c *usageChunk) error {
		rows += len(c.clients)
		m.report(rows, false)
		for i, part := range split.split(c) {
			if len(part.clients) > 0 {
				if err := insertChunk(batches[i], part); err != nil {
					return l.st[i].wrap(err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, b := range batches {
		if err := b.Send(); err != nil {
			return 0, l.st[i].wrap(fmt.Errorf("cannot send usage rows: %w", err))
		}
	}
	m.report(rows, true)
	return rows, nil
}

// stage completes every shard's staging before any swaps.
func (l *load) stage(ctx context.Context) error {
	for _, st := range l.st {
		parts, err := st.checkDuplicates(ctx)
		if err != nil {
			return st.wrap(err)
		}
		st.parts = parts
		if st.touchedIDs, err = st.stage(ctx, parts); err != nil {
			return st.wrap(err)
		}
	}
	return nil
}

// commit writes each shard's dimension rows and activity bounds, swaps
// its months in and bumps its clients' versions, shard after shard, then waits for every
// instance to see the versions.
func (l *load) commit(ctx context.Context, d *dims, version uint64) error {
	for i, st := range l.st {
		mine := d.only(func(c uuid.UUID) bool { return l.shards.Owner(c) == i })
		if err := mine.insert(ctx, st.conn, version); err != nil {
			return st.wrap(err)
		}
		if err := st.recordBounds(ctx); err != nil {
			return st.wrap(err)
		}
		if err := st.swap(ctx, st.parts); err != nil {
			return st.wrap(err)
		}
		if err := chschema.WriteVersions(ctx, st.conn, union(st.touchedIDs, mine.clientIDs())); err != nil {
			return st.wrap(err)
		}
	}
	return chschema.SettleVersions(ctx)
}

func (l *load) parts() []string {
	var p []string
	for _, st := range l.st {
		p = union(p, st.parts)
	}
	return p
}

func (l *load) rollups() time.Duration {
	var d time.Duration
	for _, st := range l.st {
		d += st.rollups
	}
	return d
}

// staging is a load's private copies of app_usage_reports and of each
// rollup table, on one node. Rows go to the usage copy first; each monthly
// partition of every copy then replaces the live one atomically (REPLACE
// PARTITION), after the live rows the load does not replace have been
// copied in: usage rows of days the load does not carry, rollup rows of
// clients it does not touch.
type staging struct {
	conn driver.Conn
	tag  string
	// shard names the shard in errors, "" on a single node.
	shard string
	// parts are the months staged, touchedIDs the clients staged.
	parts, touchedIDs []string
	// rollups is the time spent building rollups.
	rollups time.Duration
}

// wrap says which shard err is about.
func (s *staging) wrap(err error) error {
	if s.shard == "" {
		return err
	}
	return fmt.Errorf("%s: %w", s.shard, err)
}

// usage is the staged copy of app_usage_reports; touched lists the
// (client, month)s the load carries.
func (s *staging) usage() string   { return s.staged(liveUsage) }
func (s *staging) touched() string { return s.staged("load_touched") }

func (s *staging) staged(live string) string { return chschema.StagingTable(live, s.tag) }

const liveUsage = "app_usage_reports"

// lives are the live tables a load swaps months of.
func lives() []string {
	t := []string{liveUsage}
	for _, r := range chschema.Rollups {
		t = append(t, r.Table)
	}
	return t
}

func (s *staging) create(ctx context.Context) error {
	stmts := []string{"CREATE TABLE " + s.touched() + " (client_id UUID, part UInt32) ENGINE = Log"}
	for _, live := range lives() {
		stmts = append(stmts, "CREATE TABLE "+s.staged(live)+" AS "+live)
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
	for _, live := range append(lives(), "load_touched") {
		_ = s.conn.Exec(ctx, "DROP TABLE IF EXISTS "+s.staged(live))
	}
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
// staged rows and copied for the others from the live rollup. It returns
// the touched clients.
func (s *staging) stage(ctx context.Context, parts []string) ([]string, error) {
	err := s.conn.Exec(ctx, "INSERT INTO "+s.touched()+" (client_id, part) SELECT DISTINCT client_id, toYYYYMM(activity_date) FROM "+s.usage())
	if err != nil {
		return nil, fmt.Errorf("cannot record the months the load touches: %w", err)
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
			r.Build(s.staged(r.Table), s.usage(), "toYYYYMM(activity_date) = "+part+" AND client_id "+touched),
			r.Keep(s.staged(r.Table), part, "client_id NOT "+touched),
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

// recordBounds records first and last activity of the staged rows. It
// runs before the swap: an app then never shows usage without its bounds.
func (s *staging) recordBounds(ctx context.Context) error {
	err := s.conn.Exec(ctx, "INSERT INTO app_activity_bounds (client_id, application_id, first_seen, last_seen) SELECT client_id, application_id, minState(activity_date), maxState(activity_date) FROM "+s.usage()+" GROUP BY client_id, application_id")
	if err != nil {
		return fmt.Errorf("cannot record first and last activity: %w", err)
	}
	return nil
}

// swap replaces each month of the live tables by the staged one. Each swap
// is atomic and only moves parts; should one fail, the months before it are
// new and the rest old, the data versions are not bumped, and loading the
// same directory again completes it.
func (s *staging) swap(ctx context.Context, parts []string) error {
	for _, p := range parts {
		for _, live := range lives() {
			if err := s.conn.Exec(ctx, "ALTER TABLE "+live+" REPLACE PARTITION "+p+" FROM "+s.staged(live)); err != nil {
				return fmt.Errorf("cannot replace partition %s of %s: %w", p, live, err)
			}
		}
	}
	for _, live := range lives() {
		if err := chschema.SettleReplaced(ctx, s.conn, live); err != nil {
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
