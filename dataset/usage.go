package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"

	"github.com/usagelens/usagelens/chschema"
)

// chunkRows is how many usage rows travel together from the parser to the
// inserter and how often the batch is flushed to the server.
const chunkRows = 100_000

// usageChunk holds parsed usage rows column by column, the shape the
// driver's columnar Append takes without converting row by row.
type usageChunk struct {
	clients, apps, users []uuid.UUID
	dates                []time.Time
	ms                   []uint64
	sessions             []uint32
}

func newChunk() *usageChunk {
	return &usageChunk{
		clients: make([]uuid.UUID, 0, chunkRows), apps: make([]uuid.UUID, 0, chunkRows),
		users: make([]uuid.UUID, 0, chunkRows), dates: make([]time.Time, 0, chunkRows),
		ms: make([]uint64, 0, chunkRows), sessions: make([]uint32, 0, chunkRows),
	}
}

func (c *usageChunk) reset() {
	c.clients, c.apps, c.users = c.clients[:0], c.apps[:0], c.users[:0]
	c.dates, c.ms, c.sessions = c.dates[:0], c.ms[:0], c.sessions[:0]
}

// openUsage opens usage.csv or usage.csv.gz, whichever the directory has.
func openUsage(dir string) (name string, r io.Reader, closeFn func(), err error) {
	if f, err := os.Open(filepath.Join(dir, UsageFile)); err == nil {
		return UsageFile, f, func() { f.Close() }, nil
	}
	f, err := os.Open(filepath.Join(dir, UsageGzipFile))
	if err != nil {
		return "", nil, nil, fmt.Errorf("cannot open %s or %s in %s: %w", UsageFile, UsageGzipFile, dir, err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return "", nil, nil, &rowError{UsageGzipFile, 1, "cannot read gzip: " + err.Error()}
	}
	return UsageGzipFile, zr, func() { zr.Close(); f.Close() }, nil
}

// usageParser turns usage lines into chunks. Usage cells never need
// quoting, so lines are split on commas directly; a line with a quote goes
// through encoding/csv so any RFC 4180 file still reads.
type usageParser struct {
	name  string
	known map[appKey]struct{}
	line  int
	// lastDate caches the parse of the previous date cell: files are sorted
	// by day, so almost every row repeats it.
	lastDate  string
	lastValue time.Time
	fields    [6]string
}

func (p *usageParser) header(line string) error {
	got := strings.Split(strings.TrimSuffix(line, "\r"), ",")
	if !slices.Equal(got, UsageHeader) {
		return &rowError{p.name, 1, fmt.Sprintf("header is %q, want %q", got, UsageHeader)}
	}
	return nil
}

func (p *usageParser) parse(line []byte, c *usageChunk) error {
	f, err := p.split(line)
	if err != nil {
		return &rowError{p.name, p.line, err.Error()}
	}
	cl, e1 := parseUUID(f[0])
	app, e3 := parseUUID(f[2])
	user, e4 := parseUUID(f[3])
	ms, e5 := strconv.ParseUint(f[4], 10, 64)
	sessions, e6 := strconv.ParseUint(f[5], 10, 32)
	date, e2 := p.date(f[1])
	for i, e := range []error{e1, e2, e3, e4, e5, e6} {
		if e != nil {
			return &rowError{p.name, p.line, fmt.Sprintf("%s: %q is not %s", UsageHeader[i], f[i], usageKinds[i])}
		}
	}
	if _, ok := p.known[keyOf(cl, app)]; !ok {
		return &rowError{p.name, p.line, fmt.Sprintf("application_id %s is not an app of client %s (not in %s nor in the database)", app, cl, AppsFile)}
	}
	c.clients, c.dates, c.apps = append(c.clients, cl), append(c.dates, date), append(c.apps, app)
	c.users, c.ms, c.sessions = append(c.users, user), append(c.ms, ms), append(c.sessions, uint32(sessions))
	return nil
}

var usageKinds = []string{"a UUID", "a date (YYYY-MM-DD) in " + chschema.DayRange, "a UUID", "a UUID",
	"a whole number of milliseconds", "a whole number from 0 to 4294967295"}

func (p *usageParser) split(line []byte) ([]string, error) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if bytes.IndexByte(line, '"') >= 0 {
		r := csv.NewReader(bytes.NewReader(line))
		r.FieldsPerRecord = len(UsageHeader)
		rec, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("cannot parse quoted row: %w", err)
		}
		return rec, nil
	}
	s := string(line)
	for i := range p.fields {
		j := strings.IndexByte(s, ',')
		if i == len(p.fields)-1 {
			if j >= 0 {
				return nil, fmt.Errorf("has more than %d fields", len(UsageHeader))
			}
			j = len(s)
		} else if j < 0 {
			return nil, fmt.Errorf("has %d fields, want %d", i+1, len(UsageHeader))
		}
		p.fields[i] = s[:j]
		if j < len(s) {
			s = s[j+1:]
		}
	}
	return p.fields[:], nil
}

func (p *usageParser) date(s string) (time.Time, error) {
	if s == p.lastDate {
		return p.lastValue, nil
	}
	t, err := time.Parse(DateLayout, s)
	if err != nil || len(s) != 10 || !chschema.InDayRange(t) {
		return time.Time{}, errors.New("bad date")
	}
	p.lastDate, p.lastValue = s, t
	return t, nil
}

// readUsageChunks parses the usage file into chunks on one goroutine while the
// caller's send inserts them on another: parsing and the driver's encoding
// then use both cores.
func readUsageChunks(ctx context.Context, dir string, known map[appKey]struct{}, send func(*usageChunk) error) error {
	name, r, closeFn, err := openUsage(dir)
	if err != nil {
		return err
	}
	defer closeFn()
	full, free := make(chan *usageChunk, 2), make(chan *usageChunk, 3)
	for range 3 {
		free <- newChunk()
	}
	parseErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(full)
		parseErr <- parseUsage(ctx, name, r, known, full, free)
	}()
	var sendErr error
	for c := range full {
		if sendErr == nil {
			if sendErr = send(c); sendErr != nil {
				cancel()
			}
		}
		c.reset()
		free <- c
	}
	return errors.Join(<-parseErr, sendErr)
}

func parseUsage(ctx context.Context, name string, r io.Reader, known map[appKey]struct{}, full chan<- *usageChunk, free chan *usageChunk) error {
	sc := bufio.NewScanner(bufio.NewReaderSize(r, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	p := &usageParser{name: name, known: known}
	if !sc.Scan() {
		return &rowError{name, 1, "missing header"}
	}
	p.line = 1
	if err := p.header(sc.Text()); err != nil {
		return err
	}
	c := <-free
	for sc.Scan() {
		p.line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := p.parse(sc.Bytes(), c); err != nil {
			return err
		}
		if len(c.clients) == chunkRows {
			select {
			case full <- c:
			case <-ctx.Done():
				return nil
			}
			c = <-free
		}
	}
	if err := sc.Err(); err != nil {
		return &rowError{name, p.line + 1, "cannot read: " + err.Error()}
	}
	if len(c.clients) > 0 {
		full <- c
	}
	return nil
}

// insertChunk appends a chunk column by column and flushes it to the server
// within the one batch that loads the whole file.
func insertChunk(b driver.Batch, c *usageChunk) error {
	cols := []any{c.clients, c.dates, c.apps, c.users, c.ms, c.sessions}
	for i, col := range cols {
		if err := b.Column(i).Append(col); err != nil {
			return fmt.Errorf("cannot append column %s: %w", UsageHeader[i], err)
		}
	}
	return b.Flush()
}

const usageColumns = "client_id, activity_date, application_id, user_id, total_active_ms, total_session_count"

// splitter divides chunks by the shard that owns each row's client, into
// chunks it reuses; with one shard a chunk passes through whole.
type splitter struct {
	owner func(uuid.UUID) int
	parts []*usageChunk
	one   []*usageChunk
}

func newSplitter(n int, owner func(uuid.UUID) int) *splitter {
	s := &splitter{owner: owner, one: make([]*usageChunk, 1)}
	if n > 1 {
		for range n {
			s.parts = append(s.parts, newChunk())
		}
	}
	return s
}

func (s *splitter) split(c *usageChunk) []*usageChunk {
	if s.parts == nil {
		s.one[0] = c
		return s.one
	}
	for _, p := range s.parts {
		p.reset()
	}
	for r, client := range c.clients {
		p := s.parts[s.owner(client)]
		p.clients = append(p.clients, client)
		p.dates = append(p.dates, c.dates[r])
		p.apps = append(p.apps, c.apps[r])
		p.users = append(p.users, c.users[r])
		p.ms = append(p.ms, c.ms[r])
		p.sessions = append(p.sessions, c.sessions[r])
	}
	return s.parts
}
