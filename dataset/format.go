// Package dataset holds the dataset directory, usagelens' interchange format:
// the files and columns the README describes ("Data formats"), the seed generator that writes them and
// the loader that puts them into ClickHouse.
package dataset

// File names inside a dataset directory.
const (
	ClientsFile     = "clients.csv"
	AppsFile        = "apps.csv"
	DepartmentsFile = "user_departments.csv"
	UsersFile       = "users.csv"
	UsageFile       = "usage.csv"
	UsageGzipFile   = "usage.csv.gz"
	RequestsFile    = "requests.txt"
)

// Header rows, in file order. Lists inside a cell are separated by ListSep,
// booleans are "true"/"false" and an empty cell is null.
var (
	// ClientsHeader's last column, privacy, may be left out (older files):
	// identified.
	ClientsHeader     = []string{"client_id", "name", "timezone", "privacy"}
	AppsHeader        = []string{"client_id", "app_id", "catalog_app_id", "canonical_name", "logo", "type", "vendor_id", "vendor_name", "vendor_url", "category_ids", "category_names", "is_favorite", "is_approved", "license_count", "risk_level"}
	DepartmentsHeader = []string{"client_id", "user_id", "department_id"}
	UsersHeader       = []string{"client_id", "user_id", "display_name", "email"}
	UsageHeader       = []string{"client_id", "activity_date", "application_id", "user_id", "total_active_ms", "total_session_count"}
)

// Privacy modes of a client (clients.csv's privacy column).
const (
	PrivacyIdentified   = "identified"
	PrivacyPseudonymous = "pseudonymous"
)

// ListSep separates the items of a list cell (category_ids, category_names).
const ListSep = ";"

// DateLayout is the layout of every date cell.
const DateLayout = "2006-01-02"
