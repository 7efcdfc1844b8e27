package chtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/chschema"
	"github.com/usagelens/usagelens/chschema/chdb"
	"github.com/usagelens/usagelens/chserver"
)

// Mirror is a driver.Conn to a private ClickHouse 18.16 server that runs
// every statement a second time on current ClickHouse (chDB, in-process),
// right after the server ran it, so both engines hold the same data at
// every step. What ran on the server is taken from its query_log (the
// text after the driver bound the arguments); batch inserts are replayed
// from the rows appended. Every read is compared: column types, values,
// row order when the statement orders, and rows_before_limit. Migrations
// run as the modern branch on chDB, as chschema renders it for that
// engine's version.
type Mirror struct {
	driver.Conn
	srv    *chserver.Server
	db     string
	cur    *chdb.Session
	modern map[string]string // 18.16 migration text -> the current engine's

	open     sync.WaitGroup // reads whose rows are not closed yet
	mu       sync.Mutex
	seq      int
	pending  []pendingRead
	compared map[string]int // by kind of statement
	diffs    []string
}

var chdbOnce struct {
	sync.Once
	s   *chdb.Session
	dir string
	err error
}

// currentEngine opens the process's one chDB session (the engine allows a
// single storage path per process).
func currentEngine(tb testing.TB) *chdb.Session {
	tb.Helper()
	chdbOnce.Do(func() {
		chdbOnce.dir, chdbOnce.err = os.MkdirTemp("", "usagelens-chdb-")
		if chdbOnce.err == nil {
			chdbOnce.s, chdbOnce.err = chdb.Open(chdbOnce.dir)
		}
	})
	if chdbOnce.err != nil {
		tb.Fatalf("no current ClickHouse (chDB) for the cross-version test: %v", chdbOnce.err)
	}
	return chdbOnce.s
}

// NewMirror starts a private 18.16 server and a fresh database of the same
// name on it and on chDB, and returns the mirrored connection to it. The
// database is not migrated: Migrate through the mirror.
func NewMirror(tb testing.TB) *Mirror {
	tb.Helper()
	srv := Private(tb)
	cur := currentEngine(tb)
	db := "mirror_" + randomHex(6)
	admin := Open(tb, srv.DSN())
	if err := admin.Exec(context.Background(), "CREATE DATABASE "+db); err != nil {
		tb.Fatalf("cannot create database %s on 18.16: %v", db, err)
	}
	// 18.16 quotes 64-bit integers in JSON formats by default, current
	// releases do not: both answer quoted here.
	for _, q := range []string{"CREATE DATABASE " + db, "USE " + db, "SET output_format_json_quote_64bit_integers = 1"} {
		if _, err := cur.Query(q, "TSV"); err != nil {
			tb.Fatalf("chDB: %s: %v", q, err)
		}
	}
	m := &Mirror{Conn: Open(tb, WithDatabase(tb, srv.DSN(), db)), srv: srv, db: db, cur: cur, compared: map[string]int{}}
	m.modern = modernMigrations(tb, cur)
	return m
}

// modernMigrations maps each migration statement as rendered for 18.16 to
// its rendering for the chDB engine's version.
func modernMigrations(tb testing.TB, cur *chdb.Session) map[string]string {
	tb.Helper()
	v, err := cur.Query("SELECT version()", "TSVRaw")
	if err != nil {
		tb.Fatalf("chDB version(): %v", err)
	}
	newF, err := chschema.ParseVersion(strings.TrimSpace(string(v)))
	if err != nil || !newF.Modern {
		tb.Fatalf("chDB version %q: %+v, %v; want a modern engine", v, newF, err)
	}
	oldF, _ := chschema.ParseVersion("18.16.1")
	ms, err := chschema.Migrations()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, mig := range ms {
		olds, err1 := mig.Statements(oldF)
		news, err2 := mig.Statements(newF)
		if err1 != nil || err2 != nil || len(olds) != len(news) {
			tb.Fatalf("migration %s renders %d/%d statements (%v, %v)", mig.Name, len(olds), len(news), err1, err2)
		}
		for i := range olds {
			out[olds[i]] = news[i]
		}
	}
	return out
}

// Check fails the test with every statement that failed or differed on the
// current engine, and logs how many were compared.
func (m *Mirror) Check(tb testing.TB) {
	tb.Helper()
	closed := make(chan struct{})
	go func() { m.open.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		tb.Error("rows of a read were never closed: its comparison did not run")
	}
	m.drain()
	m.mu.Lock()
	defer m.mu.Unlock()
	total := 0
	for _, n := range m.compared {
		total += n
	}
	tb.Logf("cross-version: %d statements ran on ClickHouse 18.16 and on chDB %s: %v; %d failed or differed", total, chdb.Version, m.compared, len(m.diffs))
	for _, d := range m.diffs {
		tb.Error(d)
	}
}

func (m *Mirror) tag(ctx context.Context) (context.Context, string) {
	m.mu.Lock()
	m.seq++
	id := fmt.Sprintf("%s-%d", m.db, m.seq)
	m.mu.Unlock()
	return clickhouse.Context(ctx, clickhouse.WithQueryID(id), clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1})), id
}

// Exec runs a statement on the server, then on chDB.
func (m *Mirror) Exec(ctx context.Context, query string, args ...any) error {
	m.drain()
	ctx, id := m.tag(ctx)
	err := m.Conn.Exec(ctx, query, args...)
	text := query
	if len(args) > 0 { // bound by the driver: what the server got is in its log
		texts, lookErr := m.serverTexts([]string{id})
		if text = texts[id]; lookErr != nil {
			m.fail("cannot read what the server ran for %s: %v", query, lookErr)
			return err
		}
	}
	m.replay(text, "write", err)
	return err
}

// Query runs a read on the server and queues it for comparison once its
// rows are closed.
func (m *Mirror) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	ctx, id := m.tag(ctx)
	rows, err := m.Conn.Query(ctx, query, args...)
	if err != nil {
		m.read(id, err)
		return nil, err
	}
	m.open.Add(1)
	return &mirrorRows{Rows: rows, done: func() { defer m.open.Done(); m.read(id, rows.Err()) }}, nil
}

// QueryRow runs a one-row read and queues it for comparison.
func (m *Mirror) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	ctx, id := m.tag(ctx)
	row := m.Conn.QueryRow(ctx, query, args...)
	m.read(id, row.Err())
	return row
}

// Select runs a read into dest and queues it for comparison.
func (m *Mirror) Select(ctx context.Context, dest any, query string, args ...any) error {
	ctx, id := m.tag(ctx)
	err := m.Conn.Select(ctx, dest, query, args...)
	m.read(id, err)
	return err
}

type pendingRead struct {
	id  string
	err error // the server's
}

func (m *Mirror) read(id string, err error) {
	m.mu.Lock()
	m.pending = append(m.pending, pendingRead{id, err})
	m.mu.Unlock()
}

// drain compares the queued reads. Reads change nothing, so they wait for
// the next write (or Check) and share one look into query_log.
func (m *Mirror) drain() {
	m.mu.Lock()
	reads := m.pending
	m.pending = nil
	m.mu.Unlock()
	if len(reads) == 0 {
		return
	}
	ids := make([]string, len(reads))
	for i, r := range reads {
		ids[i] = r.id
	}
	texts, err := m.serverTexts(ids)
	if err != nil {
		m.fail("cannot read what the server ran: %v", err)
		return
	}
	for _, r := range reads {
		m.compare(texts[r.id], r.err)
	}
}

// PrepareBatch starts an insert whose appended rows are replayed on chDB
// when it is sent.
func (m *Mirror) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	ctx, _ = m.tag(ctx)
	b, err := m.Conn.PrepareBatch(ctx, query, opts...)
	if err != nil {
		return nil, err
	}
	return &mirrorBatch{Batch: b, m: m, query: query}, nil
}

type mirrorRows struct {
	driver.Rows
	once sync.Once
	done func()
}

func (r *mirrorRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.done)
	return err
}

// mirrorBatch keeps every appended value, row-wise or column-wise, to
// write them as one VALUES list for chDB.
type mirrorBatch struct {
	driver.Batch
	m     *Mirror
	query string
	rows  [][]any
	cols  map[int][]any
}

func (b *mirrorBatch) Append(v ...any) error {
	b.rows = append(b.rows, v)
	return b.Batch.Append(v...)
}

func (b *mirrorBatch) Column(i int) driver.BatchColumn {
	return &mirrorColumn{BatchColumn: b.Batch.Column(i), b: b, i: i}
}

// Send sends the rows to the server, then the same rows to chDB.
func (b *mirrorBatch) Send() error {
	b.m.drain()
	err := b.Batch.Send()
	b.flushColumns()
	b.m.replay(b.query+" VALUES "+b.values(), "insert", err)
	return err
}

// flushColumns turns column-wise appends into rows.
func (b *mirrorBatch) flushColumns() {
	if len(b.cols) == 0 {
		return
	}
	n := len(b.cols[0])
	for r := range n {
		row := make([]any, len(b.cols))
		for c := range b.cols {
			row[c] = b.cols[c][r]
		}
		b.rows = append(b.rows, row)
	}
	b.cols = nil
}

func (b *mirrorBatch) values() string {
	var s strings.Builder
	for i, row := range b.rows {
		if i > 0 {
			s.WriteString(",")
		}
		s.WriteString("(")
		for j, v := range row {
			if j > 0 {
				s.WriteString(",")
			}
			s.WriteString(literal(reflect.ValueOf(v)))
		}
		s.WriteString(")")
	}
	return s.String()
}

type mirrorColumn struct {
	driver.BatchColumn
	b *mirrorBatch
	i int
}

func (c *mirrorColumn) Append(v any) error {
	if c.b.cols == nil {
		c.b.cols = map[int][]any{}
	}
	rv := reflect.ValueOf(v)
	for k := range rv.Len() {
		c.b.cols[c.i] = append(c.b.cols[c.i], rv.Index(k).Interface())
	}
	return c.BatchColumn.Append(v)
}

// literal writes a Go value the loader appends as a ClickHouse literal.
func literal(v reflect.Value) string {
	if !v.IsValid() {
		return "NULL"
	}
	switch x := v.Interface().(type) {
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 {
			return "'" + x.Format(time.DateOnly) + "'"
		}
		return "'" + x.UTC().Format(time.DateTime) + "'"
	case fmt.Stringer:
		return quote(x.String())
	case string:
		return quote(x)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "NULL"
		}
		return literal(v.Elem())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = literal(v.Index(i))
		}
		return "[" + strings.Join(items, ",") + "]"
	case reflect.Bool:
		if v.Bool() {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v.Interface())
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// serverTexts are the statements as the server received them, by query
// id, from its query_log. The server may log a query just after it
// answered the client, so missing entries are looked for again a while.
func (m *Mirror) serverTexts(ids []string) (map[string]string, error) {
	texts := map[string]string{}
	for try := 0; ; try++ {
		if _, err := m.http("SYSTEM FLUSH LOGS", ""); err != nil {
			return nil, err
		}
		out, err := m.http("SELECT query_id, query FROM system.query_log WHERE query_id IN ('"+strings.Join(ids, "','")+"')", "JSONEachRow")
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for dec.More() {
			var e struct {
				QueryID string `json:"query_id"`
				Query   string `json:"query"`
			}
			if err := dec.Decode(&e); err != nil {
				return nil, fmt.Errorf("cannot decode query_log: %w", err)
			}
			texts[e.QueryID] = e.Query
		}
		if len(texts) == len(ids) {
			return texts, nil
		}
		if try == 50 {
			return nil, fmt.Errorf("%d of %d queries are not in system.query_log", len(ids)-len(texts), len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// replay runs a write on chDB: migrations as rendered for its version.
func (m *Mirror) replay(text, kind string, serverErr error) {
	if mod, ok := m.modern[text]; ok {
		text, kind = mod, "migration"
	}
	_, curErr := m.cur.Query(text, "TSV")
	m.count(kind)
	switch {
	case serverErr == nil && curErr != nil:
		m.fail("%s fails on current ClickHouse: %v\n  statement: %s", kind, curErr, short(text))
	case serverErr != nil && curErr == nil:
		m.fail("%s fails on 18.16 (%v) but runs on current ClickHouse\n  statement: %s", kind, serverErr, short(text))
	}
}

// compare runs a read's text on both engines in one format and compares.
func (m *Mirror) compare(text string, serverErr error) {
	if text == "SELECT version()" {
		return // differs by design: it chooses the migration branch
	}
	m.count("read")
	old, oldErr := m.http(text, "JSONCompact")
	cur, curErr := m.cur.Query(text, "JSONCompact")
	switch {
	case oldErr != nil && curErr != nil:
		return
	case oldErr != nil:
		m.fail("read fails on 18.16 (%v) but runs on current ClickHouse\n  statement: %s", oldErr, text)
		return
	case curErr != nil:
		m.fail("read fails on current ClickHouse: %v\n  statement: %s", curErr, text)
		return
	}
	if d := diffResults(old, cur, strings.Contains(text, "ORDER BY")); d != "" {
		m.fail("read answers differently: %s\n  statement: %s", d, text)
	}
}

// result is the part of JSONCompact output both engines must agree on.
type result struct {
	Meta []struct {
		Type string `json:"type"`
	} `json:"meta"`
	Data            []json.RawMessage `json:"data"`
	RowsBeforeLimit *uint64           `json:"rows_before_limit_at_least"`
}

// diffResults describes the first difference between two JSONCompact
// answers, or returns "". Unordered answers compare as multisets.
func diffResults(oldOut, curOut []byte, ordered bool) string {
	var o, c result
	if err := json.Unmarshal(oldOut, &o); err != nil {
		return fmt.Sprintf("cannot decode the 18.16 answer: %v", err)
	}
	if err := json.Unmarshal(curOut, &c); err != nil {
		return fmt.Sprintf("cannot decode the current answer: %v", err)
	}
	ot, ct := typesOf(o), typesOf(c)
	if !reflect.DeepEqual(ot, ct) {
		return fmt.Sprintf("column types\n    18.16:   %v\n    current: %v", ot, ct)
	}
	or, cr := rowsOf(o), rowsOf(c)
	if !ordered {
		slices.Sort(or)
		slices.Sort(cr)
	}
	for i := range max(len(or), len(cr)) {
		a, b := "(none)", "(none)"
		if i < len(or) {
			a = or[i]
		}
		if i < len(cr) {
			b = cr[i]
		}
		if a != b {
			return fmt.Sprintf("row %d of %d/%d\n    18.16:   %s\n    current: %s", i+1, len(or), len(cr), a, b)
		}
	}
	if (o.RowsBeforeLimit == nil) != (c.RowsBeforeLimit == nil) || (o.RowsBeforeLimit != nil && *o.RowsBeforeLimit != *c.RowsBeforeLimit) {
		return fmt.Sprintf("rows_before_limit: 18.16 %v, current %v", deref(o.RowsBeforeLimit), deref(c.RowsBeforeLimit))
	}
	return ""
}

func typesOf(r result) []string {
	out := make([]string, len(r.Meta))
	for i, m := range r.Meta {
		out[i] = m.Type
	}
	return out
}

func rowsOf(r result) []string {
	out := make([]string, len(r.Data))
	for i, d := range r.Data {
		var b bytes.Buffer
		_ = json.Compact(&b, d)
		out[i] = b.String()
	}
	return out
}

func deref(p *uint64) any {
	if p == nil {
		return "absent"
	}
	return *p
}

// http runs a statement on the 18.16 server over HTTP in format.
func (m *Mirror) http(query, format string) ([]byte, error) {
	u := m.srv.HTTPURL() + "?" + url.Values{"database": {m.db}, "default_format": {format}}.Encode()
	resp, err := http.Post(u, "text/plain", strings.NewReader(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

func (m *Mirror) count(kind string) {
	m.mu.Lock()
	m.compared[kind]++
	m.mu.Unlock()
}

func (m *Mirror) fail(format string, args ...any) {
	m.mu.Lock()
	m.diffs = append(m.diffs, fmt.Sprintf(format, args...))
	m.mu.Unlock()
}

func short(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
