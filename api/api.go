// Package api is usagelens' HTTP contract, defined once: the routes, the
// parameter names and values, and the JSON shapes of responses and errors.
// The handlers serve it; the benchmark, its net/http comparison and the
// seeder's request log build their requests from it.
package api

import "strings"

// Routes, as fasthttp/router patterns; they are also the route label of
// metrics and logs.
const (
	RouteUtilization       = "/v2/clients/{client_id}/analytics/apps/utilization"
	RouteUtilizationExport = RouteUtilization + "/export"
	RouteUsageExport       = "/v2/clients/{client_id}/analytics/usage-reports/export"
	RouteUsageSeries       = "/v2/clients/{client_id}/analytics/usage"
	RouteAppActivity       = "/v2/clients/{client_id}/analytics/apps/{app_id}/activity"
	RouteUserUsage         = "/v2/clients/{client_id}/analytics/users/usage"
	RouteUserUsageExport   = RouteUserUsage + "/export"
	RouteExports           = "/v2/clients/{client_id}/exports"
	RouteExport            = RouteExports + "/{export_id}"
	RouteExportDownload    = "/v2/exports/download/{token}"
	RouteHealthz           = "/healthz"
	RouteReadyz            = "/readyz"
	RouteMetrics           = "/metrics"
	RouteOpenAPI           = "/openapi.json"
	// RouteUI is the App Metrics page, RouteUIAsset its content-hashed
	// files (package ui); neither is part of the API.
	RouteUI      = "/ui/"
	RouteUIAsset = RouteUI + "{file}"
)

// Path is route with its client id filled in.
func Path(route, clientID string) string {
	return strings.Replace(route, "{client_id}", clientID, 1)
}

// Query parameter names.
const (
	ParamGranularity      = "granularity"
	ParamStartDate        = "start_date"
	ParamEndDate          = "end_date"
	ParamCompareStartDate = "compare_start_date"
	ParamCompareEndDate   = "compare_end_date"
	ParamFilter           = "filter"
	ParamQ                = "q"
	ParamCategoryIDs      = "category_ids"
	ParamVendorIDs        = "vendor_ids"
	ParamDepartmentIDs    = "department_ids"
	ParamApplicationIDs   = "application_ids"
	ParamIsFavorite       = "is_favorite"
	ParamIsApproved       = "is_approved"
	ParamSortBy           = "sort_by"
	ParamSortOrder        = "sort_order"
	ParamPageSize         = "page_size"
	ParamCursor           = "cursor"
	ParamUserIDs          = "user_ids"
	ParamMinHours         = "min_hours"
	ParamMaxHours         = "max_hours"
	ParamBinSize          = "bin_size"
	ParamGroupBy          = "group_by"
	ParamMetrics          = "metrics"
	ParamDisplayAll       = "display_all"
	ParamFormat           = "format"
	ParamBOM              = "bom"
	// Deprecated singular forms, merged into their plurals.
	ParamCategoryID   = "category_id"
	ParamVendorID     = "vendor_id"
	ParamDepartmentID = "department_id"
)

// Values of the enumerated parameters.
var (
	Granularities = []string{"daily", "weekly", "monthly", "quarterly"}
	Filters       = []string{"discovered", "dropped_off"}
	SortOrders    = []string{"asc", "desc"}
	BinSizes      = []string{"day", "week", "month", "quarter"}
	GroupBys      = []string{GroupNone, "app", "user", "department", "category", "vendor"}
	Formats       = []string{"json", FormatCSV, FormatXLSX}
	FileFormats   = []string{FormatCSV, FormatXLSX}
	Compressions  = []string{CompressionNone, CompressionGzip}
)

// File formats of the exports.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
	// XLSXType is the media type of an XLSX workbook; an Accept of it
	// chooses format=xlsx.
	XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// Compressions of an export job's file.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// Statuses of an export job.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCancelled = "cancelled"
	JobExpired   = "expired"
)

// GroupNone is group_by's default: one series for the whole client.
const GroupNone = "none"

// Metrics of the usage series, in their default order.
const (
	MetricActiveTime     = "active_time_ms"
	MetricSessions       = "session_count"
	MetricUniqueUsers    = "unique_users"
	MetricUniqueApps     = "unique_apps"
	MetricAvgSession     = "avg_session_length_ms"
	MetricActiveUserDays = "active_user_days"
)

// SeriesMetrics lists the metrics in the order `metrics` defaults to.
var SeriesMetrics = []string{MetricActiveTime, MetricSessions, MetricUniqueUsers, MetricUniqueApps, MetricAvgSession, MetricActiveUserDays}

// Sort names of the user usage table (sort_by).
const (
	UserSortActiveTime = "active_time"
	UserSortSessions   = "session_count"
	UserSortActiveDays = "active_days"
	UserSortAppsUsed   = "apps_used"
	UserSortLastActive = "last_active_date"
	UserSortName       = "display_name"
)

// UserUsageSorts lists the user usage sort_by values.
var UserUsageSorts = []string{UserSortActiveTime, UserSortSessions, UserSortActiveDays, UserSortAppsUsed, UserSortLastActive, UserSortName}

// SeriesSortName sorts series groups by their name.
const SeriesSortName = "name"

// Sort names of the utilization table (sort_by).
const (
	SortName         = "canonical_name"
	SortUniqueUsers  = "unique_users"
	SortActiveTime   = "active_time"
	SortAvgTime      = "avg_time"
	SortSessionCount = "session_count"
)

// UtilizationSorts lists the sort_by values in the order documents name them.
var UtilizationSorts = []string{SortName, SortUniqueUsers, SortActiveTime, SortAvgTime, SortSessionCount}
