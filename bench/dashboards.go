package bench

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

// newAnchors runs the anchors of the dashboard work (issue 13): cache
// hits, rollups against the minimal raw-row SQL, and wrk. They follow the
// replay, so the main service's cache holds what the replay left in it.
func (e *env) newAnchors(ctx context.Context, rep *Report) error {
	var err error
	if e.cfg.CacheHit {
		if e.main.cache == nil {
			e.log("== cache anchor skipped: the service has no response cache (--cache-bytes 0)")
		} else {
			e.log("== anchor: cache hits against the same request uncached")
			if rep.Cache, err = e.cacheAnchor(ctx); err != nil {
				return err
			}
		}
	}
	if e.cfg.RollupSQL {
		if !e.cfg.Rollups {
			e.log("== rollups anchor skipped: --rollups=false")
		} else {
			e.log("== anchor: the service through the rollups against the minimal raw-row SQL")
			if rep.Rollup, err = e.rollupAnchor(ctx); err != nil {
				return err
			}
		}
	}
	if e.cfg.Wrk {
		e.log("== anchor: wrk against the busiest client's landing view")
		if rep.Wrk, err = e.wrkAnchor(ctx); err != nil {
			return err
		}
	}
	return nil
}

// dashboardCases are the requests the new anchors measure: the busiest
// client's landing view (this month against the last, by active time) and
// its twelve months.
func (e *env) dashboardCases() []workload.Request {
	v := workload.DefaultViews(&e.clients[0])
	v[0].Kind, v[3].Kind = "month vs previous", "twelve months"
	return []workload.Request{v[0], v[3]}
}

// cacheHitRequests is how many sequential hits the cache anchor times per
// request.
const cacheHitRequests = 2000

// CacheCase is one request answered from the response cache and uncached.
type CacheCase struct {
	Label string `json:"label"`
	Path  string `json:"path"`
	// Hits are sequential requests of Path to the main service, every one
	// answered X-Cache: hit.
	Hits int     `json:"hits"`
	Hit  Latency `json:"hit"`
	// Uncached is the median of the same request to the in-process
	// service without a cache (same store settings, Cache nil).
	Uncached Millis  `json:"uncached_p50_ms"`
	SpeedUp  float64 `json:"speed_up"`
}

// CacheAnchor is the response cache's latency against no cache.
type CacheAnchor struct {
	Service  string      `json:"service"`
	Uncached string      `json:"uncached_service"`
	Cases    []CacheCase `json:"cases"`
}

func (e *env) cacheAnchor(ctx context.Context) (*CacheAnchor, error) {
	a := &CacheAnchor{Service: e.main.desc, Uncached: e.uncached.desc}
	var buf bytes.Buffer
	for _, r := range e.dashboardCases() {
		c := CacheCase{Label: r.Kind, Path: r.Path, Hits: cacheHitRequests}
		// The first request fills the cache if the replay did not.
		if _, resp := e.svc.timedGet(ctx, r.Path, r.ClientID, false, &buf); resp.failure() != "" {
			return nil, fmt.Errorf("service %s: %s", r.Path, resp.failure())
		}
		hits := make([]time.Duration, 0, cacheHitRequests)
		for range cacheHitRequests {
			d, resp := e.svc.timedGet(ctx, r.Path, r.ClientID, false, &buf)
			if f := resp.failure(); f != "" {
				return nil, fmt.Errorf("service %s: %s", r.Path, f)
			}
			if resp.cache != "hit" {
				return nil, fmt.Errorf("service %s: X-Cache %q on a repeated request, want hit", r.Path, resp.cache)
			}
			hits = append(hits, d)
		}
		c.Hit = summarize(hits)
		var unc []time.Duration
		for run := 0; run <= e.cfg.AnchorRuns; run++ {
			d, resp := e.uncached.client.timedGet(ctx, r.Path, r.ClientID, false, &buf)
			if f := resp.failure(); f != "" {
				return nil, fmt.Errorf("uncached service %s: %s", r.Path, f)
			}
			if run > 0 {
				unc = append(unc, d)
			}
		}
		c.Uncached = ms(median(unc))
		c.SpeedUp = ratio(float64(c.Uncached), float64(c.Hit.P50))
		e.log("  %s: %d hits p50 %.3f ms p99 %.3f ms; uncached %.1f ms: %.0fx", c.Label, c.Hits, c.Hit.P50, c.Hit.P99, c.Uncached, c.SpeedUp)
		a.Cases = append(a.Cases, c)
	}
	return a, nil
}

// RollupCase is one request timed four ways, sequentially and interleaved.
type RollupCase struct {
	Label string `json:"label"`
	Path  string `json:"path"`
	// Service is the uncached service answering from the rollups.
	Service Millis `json:"service_p50_ms"`
	// RollupSQL is the service's statement (query.Rollups) through
	// clickhouse-go; ServiceRawSQL the service's statement over usage
	// rows (query.Raw), with its apps join and sort.
	RollupSQL     Millis `json:"rollup_sql_p50_ms"`
	ServiceRawSQL Millis `json:"service_raw_sql_p50_ms"`
	// Minimal is the minimal raw-row SQL for the same answer (minimalSQL
	// and minimalClientUsersSQL, one after the other).
	Minimal Millis `json:"minimal_raw_p50_ms"`
	// Ratio is Service / Minimal, the target; RatioSQL RollupSQL / Minimal.
	Ratio    float64 `json:"ratio"`
	RatioSQL float64 `json:"ratio_sql"`
	// Apps is how many apps have usage; Checked how many the service's page
	// showed, each equal to the minimal SQL's figures.
	Apps    int `json:"apps"`
	Checked int `json:"apps_checked"`
}

// RollupAnchor is the rollups' speed against the usage rows.
type RollupAnchor struct {
	Runs    int          `json:"runs"`
	Cases   []RollupCase `json:"cases"`
	Minimal string       `json:"minimal_sql"`
}

func (e *env) rollupAnchor(ctx context.Context) (*RollupAnchor, error) {
	a := &RollupAnchor{Runs: e.cfg.AnchorRuns}
	for _, r := range e.dashboardCases() {
		ur, err := parseUtilization(r.Path, r.ClientID)
		if err != nil {
			return nil, err
		}
		if a.Minimal == "" {
			a.Minimal = minimalSQL(ur).SQL + ";\n" + minimalClientUsersSQL(ur).SQL
		}
		c, err := e.rollupCase(ctx, r, ur)
		if err != nil {
			return nil, err
		}
		e.log("  %s: service %.1f ms, rollup SQL %.1f ms, service raw SQL %.1f ms, minimal raw SQL %.1f ms: %.3fx; %d of %d apps checked",
			c.Label, c.Service, c.RollupSQL, c.ServiceRawSQL, c.Minimal, c.Ratio, c.Checked, c.Apps)
		a.Cases = append(a.Cases, c)
	}
	return a, nil
}

// rollupCase times r's four ways in rotating order after one untimed
// round, then checks the service's answer against the minimal SQL's and
// fails on the first difference.
func (e *env) rollupCase(ctx context.Context, r workload.Request, ur *query.Utilization) (RollupCase, error) {
	c := RollupCase{Label: r.Kind, Path: r.Path}
	var buf bytes.Buffer
	var answer minimalAnswer
	ways := []struct {
		name string
		run  func() error
		durs []time.Duration
	}{
		{name: "service", run: func() error {
			_, resp := e.uncached.client.timedGet(ctx, r.Path, r.ClientID, false, &buf)
			if f := resp.failure(); f != "" {
				return fmt.Errorf("uncached service %s: %s", r.Path, f)
			}
			return nil
		}},
		{name: "rollup SQL", run: func() error { _, err := runRaw(ctx, e.raw, query.UtilizationSQL(ur, query.Rollups)); return err }},
		{name: "service raw SQL", run: func() error { _, err := runRaw(ctx, e.raw, query.UtilizationSQL(ur, query.Raw)); return err }},
		{name: "minimal SQL", run: func() error {
			var err error
			answer, err = runMinimal(ctx, e.raw, ur)
			return err
		}},
	}
	for run := 0; run <= e.cfg.AnchorRuns; run++ {
		for i := range ways {
			w := &ways[(i+run)%len(ways)]
			start := time.Now()
			if err := w.run(); err != nil {
				return c, fmt.Errorf("%s of %s: %w", w.name, r.Path, err)
			}
			if run > 0 {
				w.durs = append(w.durs, time.Since(start))
			}
		}
	}
	c.Service, c.RollupSQL, c.ServiceRawSQL, c.Minimal = ms(median(ways[0].durs)), ms(median(ways[1].durs)), ms(median(ways[2].durs)), ms(median(ways[3].durs))
	c.Ratio, c.RatioSQL = ratio(float64(c.Service), float64(c.Minimal)), ratio(float64(c.RollupSQL), float64(c.Minimal))
	c.Apps = len(answer.apps)
	n, err := answer.checkAgainst(ur, buf.Bytes())
	if err != nil {
		return c, fmt.Errorf("the service's answer to %s differs from the minimal raw-row SQL's: %w", r.Path, err)
	}
	c.Checked = n
	return c, nil
}
