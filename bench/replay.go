package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/workload"
)

// KindStats is the replay's result for one request kind.
type KindStats struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	// Errors are 5xx answers, transport failures and broken bodies.
	Errors int `json:"errors"`
	// Rejected are 4xx answers: the request itself was invalid.
	Rejected   int     `json:"rejected_4xx"`
	Throughput float64 `json:"throughput_rps"`
	Latency
	MBps            float64  `json:"mb_per_s,omitempty"`
	Bytes           int64    `json:"bytes"`
	ErrorSamples    []string `json:"error_samples,omitempty"`
	RejectedSamples []string `json:"rejected_samples,omitempty"`
}

// Replay is the replay phase's result.
type Replay struct {
	Source string `json:"source"`
	// Service says how the service replayed against was built; Variant
	// names a replay variant ("" for the main replay).
	Service string `json:"service"`
	Variant string `json:"variant,omitempty"`
	// Cache is what the service's response cache counted during the
	// replay; absent without a cache.
	Cache       *CacheDelta `json:"cache,omitempty"`
	Requests    int         `json:"distinct_requests"`
	Concurrency int         `json:"concurrency"`
	Seconds     float64     `json:"seconds"`
	Kinds       []KindStats `json:"kinds"`
	Total       KindStats   `json:"total"`
	// CPU is the CPU time the replay took per request.
	CPU *ReplayCPU `json:"cpu_us_per_request,omitempty"`

	durations []time.Duration // every request's, sorted
}

// ReplayCPU is CPU time per replayed request, in microseconds: this
// process (service and client) and each private clickhouse-server, node 1
// first (none with a DSN). procCPU counts in 10 ms ticks. Queries are
// the queries each node ran per request (the bench's own reads of the
// counter included), on a DSN's cluster too.
type ReplayCPU struct {
	Bench      float64   `json:"bench"`
	ClickHouse []float64 `json:"clickhouse,omitempty"`
	Queries    []float64 `json:"clickhouse_queries,omitempty"`
}

// kindAcc accumulates one worker's samples of one kind.
type kindAcc struct {
	durs     []time.Duration
	errors   int
	rejected int
	bytes    int64
	samples  []string // of errors
	rsamples []string // of rejections
}

type workerAcc map[string]*kindAcc

func (w workerAcc) add(kind, path string, d time.Duration, r response) bool {
	a := w[kind]
	if a == nil {
		a = &kindAcc{}
		w[kind] = a
	}
	a.durs = append(a.durs, d)
	a.bytes += r.bytes
	if f := r.failure(); f != "" {
		samples := &a.samples
		if r.err == nil && r.status >= 400 && r.status < 500 {
			a.rejected++
			samples = &a.rsamples
		} else {
			a.errors++
		}
		if len(*samples) < 3 {
			*samples = append(*samples, truncate(f, 300)+" <- GET "+path)
		}
		return false
	}
	return true
}

// maxWalkPages bounds a page walk, so a huge client cannot hold a worker
// for the whole run.
const maxWalkPages = 40

// replay runs conc workers over reqs, round robin from a shared position,
// until dur has passed; requests still in flight then are cancelled and not
// counted. Progress goes to progress every few seconds.
func replay(ctx context.Context, c *apiClient, reqs []workload.Request, conc int, dur time.Duration, progress io.Writer) Replay {
	return replayN(ctx, c, reqs, conc, dur, 0, progress)
}

// replayN is replay that also stops after limit requests (0: no limit),
// so that two servers can be given exactly the same work.
func replayN(ctx context.Context, c *apiClient, reqs []workload.Request, conc int, dur time.Duration, limit int64, progress io.Writer) Replay {
	rctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var next, done, failed atomic.Int64
	accs := make([]workerAcc, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		accs[w] = workerAcc{}
		wg.Add(1)
		go func(acc workerAcc) {
			defer wg.Done()
			var buf bytes.Buffer
			for rctx.Err() == nil {
				i := next.Add(1) - 1
				if limit > 0 && i >= limit {
					return
				}
				r := reqs[int(i)%len(reqs)]
				path := r.Path
				for page := 0; page < maxWalkPages; page++ {
					d, resp := c.timedGet(rctx, path, r.ClientID, r.Walk, &buf)
					if resp.err != nil && rctx.Err() != nil {
						return // cut off by the end of the run: not a result
					}
					ok := acc.add(r.Kind, path, d, resp)
					done.Add(1)
					if !ok {
						failed.Add(1)
					}
					if !r.Walk || !ok || resp.next == nil || rctx.Err() != nil {
						break
					}
					path = withCursor(r.Path, *resp.next)
				}
			}
		}(accs[w])
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		last, lastAt := int64(0), start
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				n := done.Load()
				fmt.Fprintf(progress, "replay %3.0fs/%.0fs: %d requests, %d errors, %.1f req/s now\n",
					now.Sub(start).Seconds(), dur.Seconds(), n, failed.Load(), float64(n-last)/now.Sub(lastAt).Seconds())
				last, lastAt = n, now
			}
		}
	}()
	wg.Wait()
	close(stop)
	elapsed := time.Since(start)
	return summarizeReplay(accs, elapsed, conc, distinct(reqs))
}

func summarizeReplay(accs []workerAcc, elapsed time.Duration, conc, distinct int) Replay {
	merged := map[string]*kindAcc{}
	all := &kindAcc{}
	for _, w := range accs {
		for k, a := range w {
			m := merged[k]
			if m == nil {
				m = &kindAcc{}
				merged[k] = m
			}
			for _, acc := range []*kindAcc{m, all} {
				acc.durs = append(acc.durs, a.durs...)
				acc.errors += a.errors
				acc.rejected += a.rejected
				acc.bytes += a.bytes
				acc.samples = appendUpTo(acc.samples, a.samples, 3)
				acc.rsamples = appendUpTo(acc.rsamples, a.rsamples, 3)
			}
		}
	}
	stats := func(kind string, a *kindAcc) KindStats {
		n := len(a.durs)
		return KindStats{Kind: kind, Count: n, Errors: a.errors, Rejected: a.rejected, Throughput: round3(float64(n) / elapsed.Seconds()),
			Latency: summarize(a.durs), Bytes: a.bytes, MBps: round3(float64(a.bytes) / 1e6 / elapsed.Seconds()), ErrorSamples: a.samples, RejectedSamples: a.rsamples}
	}
	rep := Replay{Requests: distinct, Concurrency: conc, Seconds: round3(elapsed.Seconds())}
	kinds := make([]string, 0, len(merged))
	for k := range merged {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		rep.Kinds = append(rep.Kinds, stats(k, merged[k]))
	}
	rep.Total = stats("all", all)
	rep.durations = all.durs
	return rep
}

// withCursor returns path with its cursor parameter set to cursor.
func withCursor(path, cursor string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set(api.ParamCursor, cursor)
	u.RawQuery = q.Encode()
	return u.String()
}

func appendUpTo(dst, src []string, n int) []string {
	for _, s := range src {
		if len(dst) >= n {
			break
		}
		dst = append(dst, s)
	}
	return dst
}

// distinct counts the different requests of reqs: a drawn mix repeats them.
func distinct(reqs []workload.Request) int {
	seen := map[[2]string]bool{}
	for _, r := range reqs {
		seen[[2]string{r.ClientID, r.Path}] = true
	}
	return len(seen)
}
