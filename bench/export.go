package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

// ExportSide is one source's result for the same exported rows.
type ExportSide struct {
	Name          string    `json:"name"`
	Seconds       float64   `json:"median_s"`
	RowsPerSecond float64   `json:"rows_per_s"`
	MBps          float64   `json:"mb_per_s"`
	Bytes         int64     `json:"bytes"`
	Lines         int64     `json:"lines"`
	Runs          []float64 `json:"runs_s"`
	// BenchCPU is the CPU time of this process per export (median): the
	// HTTP client alone for ClickHouse's CSV, client plus service for the
	// service's export. ClickHouseCPU is the server's, when it is our
	// private child.
	BenchCPU      float64 `json:"bench_cpu_s"`
	ClickHouseCPU float64 `json:"clickhouse_cpu_s,omitempty"`
}

// ExportAnchor compares /usage-reports/export with ClickHouse's own
// FORMAT CSVWithNames over its HTTP interface for the same statement
// (query.UsageExportSQL of the same request, values rendered as literals),
// both read by the same HTTP client, runs interleaved.
type ExportAnchor struct {
	ClientID   string     `json:"client_id"`
	Start      string     `json:"start_date"`
	End        string     `json:"end_date"`
	Rows       uint64     `json:"rows"`
	Service    ExportSide `json:"service"`
	ClickHouse ExportSide `json:"clickhouse"`
	// Ratio is the service's rows/s over ClickHouse's.
	Ratio float64 `json:"ratio"`
}

// exportRows is the size the export anchor aims at.
const exportRows = 1_000_000

// exportRange returns the shortest range ending on the client's last day
// that holds at least target usage rows (or all of them, within the
// 366-day limit), and the exact number of rows it holds.
func exportRange(ctx context.Context, conn driver.Conn, c workload.ClientShape, target uint64) (workload.Period, uint64, error) {
	rows, err := conn.Query(ctx, `SELECT activity_date, count() FROM app_usage_reports
WHERE client_id = toUUID(?) AND activity_date <= toDate(?) AND activity_date > toDate(?) - ?
GROUP BY activity_date ORDER BY activity_date DESC`, c.ID, day(c.Last), day(c.Last), query.MaxRangeDays)
	if err != nil {
		return workload.Period{}, 0, fmt.Errorf("cannot count usage rows per day of client %s: %w", c.ID, err)
	}
	defer rows.Close()
	p := workload.Period{Start: c.Last, End: c.Last}
	var total uint64
	for rows.Next() {
		var d time.Time
		var n uint64
		if err := rows.Scan(&d, &n); err != nil {
			return workload.Period{}, 0, err
		}
		if total >= target {
			break
		}
		total += n
		p.Start = d
	}
	if err := rows.Err(); err != nil {
		return workload.Period{}, 0, fmt.Errorf("cannot count usage rows per day of client %s: %w", c.ID, err)
	}
	return p, total, nil
}

// RenderSQL substitutes a statement's named arguments (@name) as ClickHouse
// literals, for the HTTP interface, which on 18.16 has no query
// parameters. Strings are quoted with backslash and quote escaped, string
// slices become arrays of such strings, integers are written in decimal; any
// other type, or a placeholder without an argument, is an error.
func RenderSQL(st query.Statement) (string, error) {
	vals := map[string]string{}
	for _, a := range st.Args {
		nv, ok := a.(driver.NamedValue)
		if !ok {
			return "", fmt.Errorf("argument %v is not named", a)
		}
		lit, err := literal(nv.Value)
		if err != nil {
			return "", fmt.Errorf("argument @%s: %w", nv.Name, err)
		}
		vals[nv.Name] = lit
	}
	var b strings.Builder
	s := st.SQL
	inString := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case inString:
			b.WriteByte(ch)
			if ch == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if ch == '\'' {
				inString = false
			}
		case ch == '\'':
			inString = true
			b.WriteByte(ch)
		case ch == '@' && i+1 < len(s) && isNameByte(s[i+1]):
			j := i + 1
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			lit, ok := vals[s[i+1:j]]
			if !ok {
				return "", fmt.Errorf("placeholder %s has no argument", s[i:j])
			}
			b.WriteString(lit)
			i = j - 1
		default:
			b.WriteByte(ch)
		}
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var quoteReplacer = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return "'" + quoteReplacer.Replace(v) + "'", nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = "'" + quoteReplacer.Replace(s) + "'"
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint8:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	}
	return "", fmt.Errorf("cannot render a %T as a literal", v)
}

// clickHouseCSV posts sql to ClickHouse's HTTP interface and streams the
// answer into a counter.
func (e *env) clickHouseCSV(ctx context.Context, c *http.Client, sql string) response {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.httpURL, strings.NewReader(sql))
	if err != nil {
		return response{err: err}
	}
	var buf bytes.Buffer
	return do(c, req, false, &buf)
}

func (e *env) exportAnchor(ctx context.Context) (*ExportAnchor, error) {
	c := e.clients[0]
	p, rows, err := exportRange(ctx, e.conn, c, exportRows)
	if err != nil {
		return nil, err
	}
	dates := p.Dates()
	path := workload.Path(api.RouteUsageExport, c.ID, dates)
	v, err := url.ParseQuery(string(dates))
	if err != nil {
		return nil, fmt.Errorf("cannot parse the usage export query %s: %w", dates, err)
	}
	ur, err := query.ParseUsageExport(c.ID, v)
	if err != nil {
		return nil, fmt.Errorf("usage export %s: %w", path, err)
	}
	sql, err := RenderSQL(query.UsageExportSQL(ur))
	if err != nil {
		return nil, fmt.Errorf("cannot render the usage export SQL: %w", err)
	}
	sql += "\nFORMAT CSVWithNames"
	a := &ExportAnchor{ClientID: c.ID, Start: day(p.Start), End: day(p.End), Rows: rows,
		Service: ExportSide{Name: "usagelens /usage-reports/export"}, ClickHouse: ExportSide{Name: "ClickHouse HTTP CSVWithNames"}}
	chClient := &http.Client{Transport: newTransport(1)}
	defer chClient.CloseIdleConnections()
	var buf bytes.Buffer
	type side struct {
		out            *ExportSide
		get            func() response
		runs           []time.Duration
		bench, chTimes []float64
	}
	svc := &side{out: &a.Service, get: func() response { return e.svc.get(ctx, path, c.ID, false, &buf) }}
	ch := &side{out: &a.ClickHouse, get: func() response { return e.clickHouseCSV(ctx, chClient, sql) }}
	measure := func(s *side, timed bool) error {
		cpu0, ch0 := cpuTime(), procCPU(e.chPID)
		start := time.Now()
		r := s.get()
		d := time.Since(start)
		cpu, chCPU := cpuTime()-cpu0, procCPU(e.chPID)-ch0
		if f := r.failure(); f != "" {
			return fmt.Errorf("%s of %s..%s: %s", s.out.Name, a.Start, a.End, f)
		}
		s.out.Bytes, s.out.Lines = r.bytes, r.lines
		if timed {
			s.runs = append(s.runs, d)
			s.out.Runs = append(s.out.Runs, round3(d.Seconds()))
			s.bench, s.chTimes = append(s.bench, cpu.Seconds()), append(s.chTimes, chCPU.Seconds())
			e.log("  %s: %.3fs, %d bytes, CPU %.2fs here, %.2fs ClickHouse", s.out.Name, d.Seconds(), r.bytes, cpu.Seconds(), chCPU.Seconds())
		}
		return nil
	}
	for run := 0; run <= e.cfg.AnchorRuns; run++ {
		first, second := svc, ch
		if run%2 == 1 {
			first, second = ch, svc
		}
		if err := measure(first, run > 0); err != nil {
			return nil, err
		}
		if err := measure(second, run > 0); err != nil {
			return nil, err
		}
	}
	// Both files are a header and one line per row, plus the line breaks
	// inside quoted app names, the same in both: equal line counts mean the
	// rendered SQL selected the same rows as the driver-bound one.
	if a.Service.Lines != a.ClickHouse.Lines {
		return nil, fmt.Errorf("the service's export has %d lines, ClickHouse's CSV %d: they did not export the same rows", a.Service.Lines, a.ClickHouse.Lines)
	}
	for _, s := range []*side{svc, ch} {
		m := median(s.runs).Seconds()
		s.out.Seconds = round3(m)
		s.out.RowsPerSecond = round3(float64(rows) / m)
		s.out.MBps = round3(float64(s.out.Bytes) / 1e6 / m)
		s.out.BenchCPU = round3(medianFloat(s.bench))
		if e.chPID > 0 {
			s.out.ClickHouseCPU = round3(medianFloat(s.chTimes))
		}
	}
	a.Ratio = ratio(a.Service.RowsPerSecond, a.ClickHouse.RowsPerSecond)
	return a, nil
}
