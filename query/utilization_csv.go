package query

import (
	"strings"

	"github.com/usagelens/usagelens/api"
)

// utilizationCSVColumn is one column of the utilization export: its header
// and how a row's cell is written.
type utilizationCSVColumn struct {
	header string
	cell   func(Cells, *api.AppUtilization)
}

var utilizationCSV = func() []utilizationCSVColumn {
	cols := []utilizationCSVColumn{
		{"app_id", func(w Cells, r *api.AppUtilization) { w.Text(r.App.ID) }},
		{"catalog_app_id", func(w Cells, r *api.AppUtilization) { w.Text(r.App.CatalogApp.ID) }},
		{"app_name", func(w Cells, r *api.AppUtilization) { w.Text(r.App.CatalogApp.CanonicalName) }},
		{"vendor_name", func(w Cells, r *api.AppUtilization) { w.Text(r.App.CatalogApp.Vendor.Name) }},
		{"category_names", func(w Cells, r *api.AppUtilization) { w.Text(categoryNames(r.App.CatalogApp.Categories)) }},
		{"is_favorite", func(w Cells, r *api.AppUtilization) { w.Bool(r.App.IsFavorite) }},
		{"is_approved", func(w Cells, r *api.AppUtilization) { w.Bool(r.App.IsApproved) }},
		{"license_count", func(w Cells, r *api.AppUtilization) {
			if r.App.LicenseCount == nil {
				w.Empty()
				return
			}
			w.Uint(uint64(*r.App.LicenseCount))
		}},
	}
	metrics := []struct {
		name string
		of   func(*api.AppUtilization) *api.Metric
	}{
		{"unique_users", func(r *api.AppUtilization) *api.Metric { return &r.UniqueUsers }},
		{"active_time", func(r *api.AppUtilization) *api.Metric { return &r.ActiveTimeMS }},
		{"avg_time_ms_per_day", func(r *api.AppUtilization) *api.Metric { return &r.AvgTimeMSPerDay }},
		{"session_count", func(r *api.AppUtilization) *api.Metric { return &r.SessionCount }},
	}
	for _, m := range metrics {
		value := m.name
		if m.name == "active_time" {
			value = "active_time_ms" // the spec's header: the value carries its unit, its deltas do not
		}
		of := m.of
		cols = append(cols,
			utilizationCSVColumn{value, func(w Cells, r *api.AppUtilization) { w.OptUint(of(r).Value) }},
			utilizationCSVColumn{m.name + "_change_pct", func(w Cells, r *api.AppUtilization) { w.OptFloat(of(r).ChangePct) }},
			utilizationCSVColumn{m.name + "_compare_value", func(w Cells, r *api.AppUtilization) { w.OptUint(of(r).CompareValue) }})
	}
	return append(cols,
		utilizationCSVColumn{"usage_level", func(w Cells, r *api.AppUtilization) { w.OptText(r.UsageLevel) }},
		utilizationCSVColumn{"risk_level", func(w Cells, r *api.AppUtilization) { w.OptText(r.RiskLevel) }})
}()

// categoryNames is the export's one cell of an app's categories.
func categoryNames(cats []api.Category) string {
	names := make([]string, len(cats))
	for i, c := range cats {
		names[i] = c.Name
	}
	return strings.Join(names, "; ")
}

// UtilizationCSVHeader appends the export's header record.
func UtilizationCSVHeader(w Cells) {
	w.Start()
	for _, c := range utilizationCSV {
		w.Text(c.header)
	}
	w.End()
}

// UtilizationCSV appends one row of the export.
func UtilizationCSV(w Cells, r *api.AppUtilization) {
	w.Start()
	for i := range utilizationCSV {
		utilizationCSV[i].cell(w, r)
	}
	w.End()
}
