package bench

import (
	"slices"
	"time"
)

// Latency summarises a set of request durations. Quantiles are exact
// (nearest rank over every sample), not estimated from buckets.
type Latency struct {
	P50 Millis `json:"p50_ms"`
	P95 Millis `json:"p95_ms"`
	P99 Millis `json:"p99_ms"`
	Max Millis `json:"max_ms"`
}

// Millis is a duration that marshals as fractional milliseconds.
type Millis float64

func ms(d time.Duration) Millis { return Millis(round3(float64(d) / float64(time.Millisecond))) }

// summarize sorts ds in place and reads its quantiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	return Latency{P50: ms(quantile(ds, 0.50)), P95: ms(quantile(ds, 0.95)), P99: ms(quantile(ds, 0.99)), Max: ms(ds[len(ds)-1])}
}

// quantile is the nearest-rank quantile of sorted ds.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// median of ds, which it sorts.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	if len(ds) == 0 {
		return 0
	}
	if len(ds)%2 == 1 {
		return ds[len(ds)/2]
	}
	return (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
}

// medianFloat of xs, which it sorts.
func medianFloat(xs []float64) float64 {
	slices.Sort(xs)
	if len(xs) == 0 {
		return 0
	}
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// ratio is a/b, 0 when b is 0, rounded to three decimals.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return round3(a / b)
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
