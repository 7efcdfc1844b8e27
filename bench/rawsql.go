package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

// SQLCase is one utilization request timed through the service and as its
// bare SQL.
type SQLCase struct {
	Label   string  `json:"label"`
	Path    string  `json:"path"`
	Service Millis  `json:"service_p50_ms"`
	Raw     Millis  `json:"raw_p50_ms"`
	Ratio   float64 `json:"ratio"`
	Rows    int     `json:"raw_rows"`
}

// RawSQLAnchor compares the utilization endpoint with the exact statement
// it runs (query.UtilizationSQL of the same parsed request) sent straight
// through clickhouse-go, both timed sequentially from the first byte sent to
// the last byte read, interleaved so drift hits both alike.
type RawSQLAnchor struct {
	Runs       int       `json:"runs"`
	Cases      []SQLCase `json:"cases"`
	ServiceSum Millis    `json:"service_sum_ms"`
	RawSum     Millis    `json:"raw_sum_ms"`
	// Ratio is ServiceSum / RawSum: the overhead weighted by query cost.
	Ratio          float64 `json:"ratio"`
	MedianRatio    float64 `json:"median_ratio"`
	MedianOverhead Millis  `json:"median_overhead_ms"`
}

// maxSQLCases bounds the distinct requests the anchor times.
const maxSQLCases = 16

// utilizationCases picks distinct first-page utilization requests of the
// busiest client from the replayed traffic, taking each kind in turn so
// that plain, compared, filtered and department-scoped requests, and the
// dashboard's page walks and twelve-month view, are all represented.
func utilizationCases(reqs []workload.Request, busiest string) []workload.Request {
	byKind := map[string][]workload.Request{}
	var kinds []string
	seen := map[string]bool{}
	for _, r := range reqs {
		kind, _ := workload.Classify(r.Path)
		if r.ClientID != busiest || seen[r.Path] || !strings.HasPrefix(kind, workload.KindUtilization) || kind == workload.KindUtilizationExport || kind == workload.KindUtilizationPage {
			continue
		}
		seen[r.Path] = true
		if r.Walk {
			kind = workload.KindPageWalk
		}
		r.Kind, r.Walk = kind, false
		if _, ok := byKind[kind]; !ok {
			kinds = append(kinds, kind)
		}
		byKind[kind] = append(byKind[kind], r)
	}
	slices.Sort(kinds)
	// The longest period of plain requests (the twelve-month view) goes
	// first: it is the costliest query a dashboard makes.
	if plain := byKind[workload.KindUtilization]; len(plain) > 1 {
		longest := 0
		for i := range plain {
			if rangeDays(plain[i].Path) > rangeDays(plain[longest].Path) {
				longest = i
			}
		}
		plain[0], plain[longest] = plain[longest], plain[0]
	}
	var out []workload.Request
	for len(out) < maxSQLCases {
		took := false
		for _, k := range kinds {
			if len(byKind[k]) > 0 && len(out) < maxSQLCases {
				out = append(out, byKind[k][0])
				byKind[k] = byKind[k][1:]
				took = true
			}
		}
		if !took {
			break
		}
	}
	return out
}

// rangeDays is the length of a request's start_date..end_date, 0 if unknown.
func rangeDays(path string) int {
	u, err := url.Parse(path)
	if err != nil {
		return 0
	}
	start, err1 := time.Parse(time.DateOnly, u.Query().Get(api.ParamStartDate))
	end, err2 := time.Parse(time.DateOnly, u.Query().Get(api.ParamEndDate))
	if err1 != nil || err2 != nil {
		return 0
	}
	return workload.Period{Start: start, End: end}.Days()
}

// parseUtilization parses a request path as the handler does.
func parseUtilization(path, clientID string) (*query.Utilization, error) {
	u, err := url.Parse(path)
	if err != nil {
		return nil, fmt.Errorf("cannot parse %s: %w", path, err)
	}
	id, err := uuid.Parse(clientID)
	if err != nil {
		return nil, fmt.Errorf("%s: client id %q is not a UUID", path, clientID)
	}
	r, err := query.ParseUtilization(id.String(), u.Query(), query.Paged)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// runRaw sends st and reads every row into typed destinations, the least a
// client of the driver must do, and returns the row count.
func runRaw(ctx context.Context, conn driver.Conn, st query.Statement) (int, error) {
	rows, err := conn.Query(ctx, st.SQL, st.Args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	dest := make([]any, len(types))
	for i, t := range types {
		dest[i] = reflect.New(t.ScanType()).Interface()
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func (e *env) rawSQLAnchor(ctx context.Context, reqs []workload.Request) (*RawSQLAnchor, error) {
	cases := utilizationCases(reqs, e.clients[0].ID)
	a := &RawSQLAnchor{Runs: e.cfg.AnchorRuns}
	var buf bytes.Buffer
	var ratios []float64
	var overheads []time.Duration
	for i, r := range cases {
		ur, err := parseUtilization(r.Path, r.ClientID)
		if err != nil {
			return nil, err
		}
		st := query.UtilizationSQL(ur, query.SourceFor(ur, e.cfg.Rollups))
		var svc, raw []time.Duration
		rowsRead := 0
		service := func(timed bool) error {
			d, resp := e.uncached.client.timedGet(ctx, r.Path, r.ClientID, false, &buf)
			if f := resp.failure(); f != "" {
				return fmt.Errorf("service %s: %s", r.Path, f)
			}
			if timed {
				svc = append(svc, d)
			}
			return nil
		}
		direct := func(timed bool) error {
			start := time.Now()
			n, err := runRaw(ctx, e.raw, st)
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("raw utilization SQL of %s: %w", r.Path, err)
			}
			rowsRead = n
			if timed {
				raw = append(raw, d)
			}
			return nil
		}
		// One untimed round warms caches for both.
		for run := 0; run <= e.cfg.AnchorRuns; run++ {
			timed := run > 0
			first, second := service, direct
			if run%2 == 1 {
				first, second = direct, service
			}
			if err := first(timed); err != nil {
				return nil, err
			}
			if err := second(timed); err != nil {
				return nil, err
			}
		}
		medSvc, medRaw := median(svc), median(raw)
		c := SQLCase{Label: fmt.Sprintf("%02d %s", i+1, r.Kind), Path: r.Path, Service: ms(medSvc), Raw: ms(medRaw),
			Ratio: ratio(float64(medSvc), float64(medRaw)), Rows: rowsRead}
		a.Cases = append(a.Cases, c)
		a.ServiceSum += c.Service
		a.RawSum += c.Raw
		ratios = append(ratios, c.Ratio)
		overheads = append(overheads, medSvc-medRaw)
		e.log("  %s: service %.2f ms, raw %.2f ms (%.3fx)", c.Label, c.Service, c.Raw, c.Ratio)
	}
	a.Ratio = ratio(float64(a.ServiceSum), float64(a.RawSum))
	a.MedianRatio = round3(medianFloat(ratios))
	a.MedianOverhead = ms(median(overheads))
	return a, nil
}
