// Package observabilitytest reads a Prometheus registry in tests: sample
// counts of histogram series and gauge values by label set.
package observabilitytest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Series returns the series of metric name whose labels include labels.
func Series(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) []*dto.Metric {
	tb.Helper()
	mfs, err := g.Gather()
	if err != nil {
		tb.Fatalf("cannot gather metrics: %v", err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				out = append(out, m)
			}
		}
	}
	return out
}

// HistogramCount sums the observations of the histogram series of name
// whose labels include labels.
func HistogramCount(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) uint64 {
	tb.Helper()
	var n uint64
	for _, m := range Series(tb, g, name, labels) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

// HistogramSum sums the observed values of the histogram series of name
// whose labels include labels.
func HistogramSum(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	var s float64
	for _, m := range Series(tb, g, name, labels) {
		s += m.GetHistogram().GetSampleSum()
	}
	return s
}

// Gauge returns the value of the one gauge series of name with labels; the
// test fails when there is not exactly one.
func Gauge(tb testing.TB, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	tb.Helper()
	ms := Series(tb, g, name, labels)
	if len(ms) != 1 {
		tb.Fatalf("%d series of %s%v, want 1", len(ms), name, labels)
	}
	return ms[0].GetGauge().GetValue()
}

func matches(m *dto.Metric, want map[string]string) bool {
	found := 0
	for _, lp := range m.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(want)
}
