// Package exports is the one table of the service's CSV exports: how each
// reads its parameters, names its file, starts its query and writes its
// rows. The streaming routes and the export jobs both run them from here,
// so a job's file is the streaming export's body, byte for byte.
package exports

import (
	"context"
	"net/url"
	"slices"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/store"
)

// Type is one export.
type Type struct {
	// Name is the export's job type.
	Name string
	// Kind labels its queries and metrics.
	Kind string
	// Parse validates the parameters, as its GET route takes them.
	Parse func(clientID string, v url.Values, pseudonymKey []byte) (Request, error)
}

// Request is a validated export.
type Request interface {
	// FileName is the file's name, without its extension.
	FileName() string
	// Open starts the query: errors ClickHouse reports before the first row
	// come back here, before anything is written.
	Open(ctx context.Context, st *store.Store) (*Run, error)
}

// Run is a started export: Fill writes the header and every row, then
// closes the query; Close lets go of it when Fill never ran.
type Run struct {
	Fill  func(*Out) error
	Close func()
}

// Job type names.
const (
	UsageReports    = "usage_reports"
	AppUtilization  = "app_utilization"
	UserUsage       = "user_usage"
	UsageTimeseries = "usage_timeseries"
)

// Types lists every export, in the order documents name them.
var Types = []Type{
	{Name: UsageReports, Kind: "usage_export", Parse: parseUsage},
	{Name: AppUtilization, Kind: "export", Parse: parseUtilization},
	{Name: UserUsage, Kind: "users_export", Parse: parseUsers},
	{Name: UsageTimeseries, Kind: "series_export", Parse: parseSeries},
}

// Lookup is the export named name.
func Lookup(name string) (Type, bool) {
	i := slices.IndexFunc(Types, func(t Type) bool { return t.Name == name })
	if i < 0 {
		return Type{}, false
	}
	return Types[i], true
}

// Names lists the job types.
func Names() []string {
	out := make([]string, len(Types))
	for i, t := range Types {
		out[i] = t.Name
	}
	return out
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func fileName(prefix string, p query.Period) string {
	return prefix + "-" + day(p.Start) + "-to-" + day(p.End)
}

type usage struct{ r *query.UsageExport }

func parseUsage(clientID string, v url.Values, _ []byte) (Request, error) {
	r, err := query.ParseUsageExport(clientID, v)
	if err != nil {
		return nil, err
	}
	return usage{r}, nil
}

func (u usage) FileName() string { return fileName("usage-reports", u.r.Period) }

func (u usage) Open(ctx context.Context, st *store.Store) (*Run, error) {
	rows, err := st.Usage(ctx, u.r)
	if err != nil {
		return nil, err
	}
	return &Run{Close: func() { rows.Close() }, Fill: func(out *Out) error {
		defer rows.Close()
		rows.Header(out.Row)
		var last time.Time
		for rows.Next() {
			if err := rows.Scan(); err != nil {
				return err
			}
			if d := rows.Date(); !d.Equal(last) { // rows come by day
				last = d
				out.Saw(day(d), day(d))
			}
			rows.CSV(out.Row)
			if err := out.RowsDone(1); err != nil {
				return err
			}
		}
		return rows.Err()
	}}, nil
}

// Utilization is the app utilization export; its route sends Deprecation
// headers for the aliases it names.
type Utilization struct{ R *query.Utilization }

func parseUtilization(clientID string, v url.Values, _ []byte) (Request, error) {
	r, err := query.ParseUtilization(clientID, v, query.Unpaged)
	if err != nil {
		return nil, err
	}
	return Utilization{r}, nil
}

func (u Utilization) FileName() string { return fileName("app-utilization", u.R.Period) }

// Open starts the query. Its rows each cover the whole period, so the
// period is the file's date range when it has rows.
func (u Utilization) Open(ctx context.Context, st *store.Store) (*Run, error) {
	rows, err := st.Utilization(ctx, u.R)
	if err != nil {
		return nil, err
	}
	start, end := day(u.R.Period.Start), day(u.R.Period.End)
	return &Run{Close: func() { rows.Close() }, Fill: func(out *Out) error {
		defer rows.Close()
		query.UtilizationCSVHeader(out.Row)
		for rows.Next() {
			query.UtilizationCSV(out.Row, rows.Row())
			out.Saw(start, end)
			if err := out.RowsDone(1); err != nil {
				return err
			}
		}
		return rows.Err()
	}}, nil
}

type users struct{ r *query.UserUsage }

func parseUsers(clientID string, v url.Values, key []byte) (Request, error) {
	r, err := query.ParseUserUsage(clientID, v, query.Unpaged, key)
	if err != nil {
		return nil, err
	}
	return users{r}, nil
}

func (u users) FileName() string { return fileName("user-usage", u.r.Period) }

func (u users) Open(ctx context.Context, st *store.Store) (*Run, error) {
	view, err := st.UserView(ctx, u.r.ClientID)
	if err != nil {
		return nil, err
	}
	rows, err := st.Users(ctx, u.r, view)
	if err != nil {
		return nil, err
	}
	return &Run{Close: func() { rows.Close() }, Fill: func(out *Out) error {
		defer rows.Close()
		query.UserCSVHeader(out.Row)
		for rows.Next() {
			row := &rows.Row().UserUsage
			out.Saw(row.FirstActiveDate, row.LastActiveDate)
			query.UserCSV(out.Row, row)
			if err := out.RowsDone(1); err != nil {
				return err
			}
		}
		return rows.Err()
	}}, nil
}

type series struct{ r *query.Series }

// parseSeries reads the usage series as a file (Parse took its format).
func parseSeries(clientID string, v url.Values, key []byte) (Request, error) {
	v = cloneWith(v, api.ParamFormat, api.FormatCSV)
	r, err := query.ParseSeries(clientID, v, key)
	if err != nil {
		return nil, err
	}
	return series{r}, nil
}

func (u series) FileName() string { return fileName("usage-"+u.r.BinSize, u.r.Period) }

func (u series) Open(ctx context.Context, st *store.Store) (*Run, error) {
	rows, err := st.Series(ctx, u.r)
	if err != nil {
		return nil, err
	}
	return &Run{Close: func() { rows.Close() }, Fill: func(out *Out) error {
		defer rows.Close()
		query.SeriesHeader(out.Row, u.r)
		for rows.Next() {
			row := rows.Row()
			if n := len(row.Bins); n > 0 {
				out.Saw(row.Bins[0].StartDate, row.Bins[n-1].EndDate)
			}
			query.SeriesCSV(out.Row, row)
			if err := out.RowsDone(len(row.Bins)); err != nil {
				return err
			}
		}
		return rows.Err()
	}}, nil
}

func cloneWith(v url.Values, name, value string) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = vals
	}
	out.Set(name, value)
	return out
}
