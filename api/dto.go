package api

import "strconv"

// Vendor is the catalog vendor of an app.
type Vendor struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Category is a catalog category.
type Category struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CatalogApp is the catalog part of the App DTO.
type CatalogApp struct {
	ID            string     `json:"id"`
	CanonicalName string     `json:"canonical_name"`
	Logo          *string    `json:"logo"`
	Type          string     `json:"type"`
	Vendor        Vendor     `json:"vendor"`
	Categories    []Category `json:"categories"`
}

// App is the spec's App DTO.
type App struct {
	ID           string     `json:"id"`
	CatalogApp   CatalogApp `json:"catalog_app"`
	IsFavorite   bool       `json:"is_favorite"`
	IsApproved   bool       `json:"is_approved"`
	LicenseCount *uint32    `json:"license_count"`
}

// Metric is the spec's MetricWithDeltaDto.
type Metric struct {
	Value        *uint64  `json:"value"`
	ChangePct    *float64 `json:"change_pct"`
	CompareValue *uint64  `json:"compare_value"`
}

// AppUtilization is one row of the utilization table.
type AppUtilization struct {
	App             App     `json:"app"`
	UniqueUsers     Metric  `json:"unique_users"`
	ActiveTimeMS    Metric  `json:"active_time_ms"`
	AvgTimeMSPerDay Metric  `json:"avg_time_ms_per_day"`
	SessionCount    Metric  `json:"session_count"`
	UsageLevel      *string `json:"usage_level"`
	RiskLevel       *string `json:"risk_level"`
}

// Period echoes the periods a response covers.
type Period struct {
	StartDate        string  `json:"start_date"`
	EndDate          string  `json:"end_date"`
	CompareStartDate *string `json:"compare_start_date"`
	CompareEndDate   *string `json:"compare_end_date"`
}

// UtilizationPage is the JSON answer of RouteUtilization.
type UtilizationPage struct {
	Period     Period           `json:"period"`
	Data       []AppUtilization `json:"data"`
	TotalCount uint64           `json:"total_count"`
	NextCursor *string          `json:"next_cursor"`
	// DataAsOf is when the client's data last changed (RFC 3339, UTC),
	// null when no load recorded it.
	DataAsOf *string `json:"data_as_of"`
}

// ErrorBody is every error answer: {"error":{code, message, details,
// request_id}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
}

// DateRange is a period without a comparison.
type DateRange struct {
	StartDate string `json:"start_date"`
	EndDate   string `json:"end_date"`
}

// SeriesGroup names the group a series belongs to.
type SeriesGroup struct {
	Type string  `json:"type"`
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

// SeriesValues are the requested metrics' values, in request order; a nil
// value is null (an average without sessions).
type SeriesValues struct {
	Metrics []string
	Values  []*uint64
}

// appendFields writes the values as JSON object members.
func (v SeriesValues) appendFields(b []byte) []byte {
	for i, m := range v.Metrics {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, m...)
		b = append(b, `":`...)
		if v.Values[i] == nil {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendUint(b, *v.Values[i], 10)
		}
	}
	return b
}

// MarshalJSON writes {"metric": value, ...}.
func (v SeriesValues) MarshalJSON() ([]byte, error) {
	return append(v.appendFields([]byte{'{'}), '}'), nil
}

// SeriesBin is one time bin: its days and the metrics in it.
type SeriesBin struct {
	StartDate, EndDate string
	SeriesValues
}

// MarshalJSON writes {"start_date", "end_date", "metric": value, ...}.
func (b SeriesBin) MarshalJSON() ([]byte, error) {
	out := []byte(`{"start_date":"` + b.StartDate + `","end_date":"` + b.EndDate + `"`)
	if len(b.Metrics) > 0 {
		out = b.appendFields(append(out, ','))
	}
	return append(out, '}'), nil
}

// SeriesEntry is one group's series.
type SeriesEntry struct {
	Group *SeriesGroup `json:"group"`
	Total SeriesValues `json:"total"`
	Bins  []SeriesBin  `json:"bins"`
}

// SeriesPage is the JSON answer of RouteUsageSeries.
type SeriesPage struct {
	Period     DateRange     `json:"period"`
	BinSize    string        `json:"bin_size"`
	GroupBy    string        `json:"group_by"`
	Metrics    []string      `json:"metrics"`
	Data       []SeriesEntry `json:"data"`
	TotalCount uint64        `json:"total_count"`
	NextCursor *string       `json:"next_cursor"`
	DataAsOf   *string       `json:"data_as_of"`
}

// ActivityBin is one bin of an app's activity.
type ActivityBin struct {
	StartDate       string  `json:"start_date"`
	EndDate         string  `json:"end_date"`
	UniqueUsers     uint64  `json:"unique_users"`
	ActiveTimeMS    uint64  `json:"active_time_ms"`
	SessionCount    uint64  `json:"session_count"`
	AvgTimeMSPerDay *uint64 `json:"avg_time_ms_per_day"`
}

// ActivityTotals are the period's figures, as App Utilization's row.
type ActivityTotals struct {
	UniqueUsers     Metric `json:"unique_users"`
	ActiveTimeMS    Metric `json:"active_time_ms"`
	AvgTimeMSPerDay Metric `json:"avg_time_ms_per_day"`
	SessionCount    Metric `json:"session_count"`
}

// AppActivity is the JSON answer of RouteAppActivity.
type AppActivity struct {
	App         App            `json:"app"`
	Period      Period         `json:"period"`
	Granularity string         `json:"granularity"`
	Data        []ActivityBin  `json:"data"`
	Totals      ActivityTotals `json:"totals"`
	DataAsOf    *string        `json:"data_as_of"`
}

// UserRef is who a user usage row is about; in pseudonymous mode the id is
// the pseudonym and the name and email are null.
type UserRef struct {
	ID            string   `json:"id"`
	DisplayName   *string  `json:"display_name"`
	Email         *string  `json:"email"`
	DepartmentIDs []string `json:"department_ids"`
}

// TopApp is one of a user's most used apps.
type TopApp struct {
	AppID        string `json:"app_id"`
	Name         string `json:"name"`
	ActiveTimeMS uint64 `json:"active_time_ms"`
}

// UserUsage is one row of the user usage table.
type UserUsage struct {
	User            UserRef  `json:"user"`
	ActiveTimeMS    uint64   `json:"active_time_ms"`
	SessionCount    uint64   `json:"session_count"`
	ActiveDays      uint64   `json:"active_days"`
	AppsUsed        uint64   `json:"apps_used"`
	FirstActiveDate string   `json:"first_active_date"`
	LastActiveDate  string   `json:"last_active_date"`
	TopApps         []TopApp `json:"top_apps"`
}

// UserUsagePage is the JSON answer of RouteUserUsage.
type UserUsagePage struct {
	Period     DateRange   `json:"period"`
	Data       []UserUsage `json:"data"`
	TotalCount uint64      `json:"total_count"`
	NextCursor *string     `json:"next_cursor"`
	DataAsOf   *string     `json:"data_as_of"`
}

// ExportRequest is the body of POST RouteExports.
type ExportRequest struct {
	Type        string            `json:"type"`
	Params      map[string]string `json:"params"`
	Compression string            `json:"compression"`
}

// ExportProgress is how far a running export job got.
type ExportProgress struct {
	RecordsWritten uint64 `json:"records_written"`
}

// ExportError says why an export job failed.
type ExportError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ExportJob is an export job, as RouteExport answers it.
type ExportJob struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Status      string            `json:"status"`
	Params      map[string]string `json:"params"`
	Compression string            `json:"compression"`
	CreatedAt   string            `json:"created_at"`
	StartedAt   *string           `json:"started_at"`
	FinishedAt  *string           `json:"finished_at"`
	Progress    ExportProgress    `json:"progress"`
	RecordCount *uint64           `json:"record_count"`
	Bytes       *uint64           `json:"bytes"`
	SHA256      *string           `json:"sha256"`
	DateRange   *DateRange        `json:"date_range"`
	FileName    string            `json:"file_name"`
	DownloadURL *string           `json:"download_url"`
	ExpiresAt   *string           `json:"expires_at"`
	Error       *ExportError      `json:"error"`
}

// ExportJobPage is the JSON answer of GET RouteExports.
type ExportJobPage struct {
	Data       []ExportJob `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}
