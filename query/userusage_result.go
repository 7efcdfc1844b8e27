package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/privacy"
)

// userRaw is one scanned user row before names and pseudonyms.
type userRaw struct {
	id                 string
	name, email        *string
	depts, topIDs      []string
	ms, sessions, days uint64
	apps               uint64
	first, last        time.Time
	topMS              []uint64
	sortKey            string
	after              uint8
}

// UserView is how a client's users are shown: their app names for
// top_apps, and, for a pseudonymous client, the key of its pseudonyms.
type UserView struct {
	AppNames map[string]string
	// PseudonymKey is nil for an identified client.
	PseudonymKey []byte
	ClientID     uuid.UUID
}

// UserID is how user id appears in this client's outputs.
func (v *UserView) UserID(id string) string {
	if v == nil || v.PseudonymKey == nil {
		return id
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	return v.UserUUID(u).String()
}

// UserUUID is UserID of a parsed id.
func (v *UserView) UserUUID(id uuid.UUID) uuid.UUID {
	if v == nil || v.PseudonymKey == nil {
		return id
	}
	return privacy.Pseudonym(v.PseudonymKey, v.ClientID, id)
}

// Pseudonymous says whether names and emails are hidden.
func (v *UserView) Pseudonymous() bool { return v != nil && v.PseudonymKey != nil }

// UserScan scans user rows into one reused destination.
type UserScan struct {
	view *UserView
	w    userRaw
	dest []any
	out  UserRow
}

// UserRow is a user usage row with what paging needs.
type UserRow struct {
	api.UserUsage
	rawID            string
	sortKey          string
	afterCursorFirst bool
}

// NewUserScan prepares scanning the rows of UserUsageSQL.
func NewUserScan(view *UserView) *UserScan {
	u := &UserScan{view: view}
	u.dest = make([]any, len(userColumns))
	for i, c := range userColumns {
		u.dest[i] = c.dest(&u.w)
	}
	return u
}

// Dest is what rows.Scan fills.
func (u *UserScan) Dest() []any { return u.dest }

// Row is the scanned row as the client may see it, valid until the next
// scan.
func (u *UserScan) Row() *UserRow {
	w, v := &u.w, u.view
	ref := api.UserRef{ID: v.UserID(w.id), DisplayName: w.name, Email: w.email, DepartmentIDs: w.depts}
	if v.Pseudonymous() {
		ref.DisplayName, ref.Email = nil, nil
	}
	if ref.DepartmentIDs == nil {
		ref.DepartmentIDs = []string{}
	}
	top := make([]api.TopApp, len(w.topIDs))
	for i, id := range w.topIDs {
		top[i] = api.TopApp{AppID: id, Name: v.AppNames[id], ActiveTimeMS: w.topMS[i]}
	}
	u.out = UserRow{UserUsage: api.UserUsage{User: ref, ActiveTimeMS: w.ms, SessionCount: w.sessions, ActiveDays: w.days, AppsUsed: w.apps,
		FirstActiveDate: day(w.first), LastActiveDate: day(w.last), TopApps: top},
		rawID: w.id, sortKey: w.sortKey, afterCursorFirst: w.after == 1}
	return &u.out
}

// UserPager assembles a JSON page of a paged UserUsageSQL.
type UserPager struct {
	keyset[api.UserUsage]
	req *UserUsage
}

// NewUserPager starts a page of r.
func NewUserPager(r *UserUsage) *UserPager {
	return &UserPager{newKeyset[api.UserUsage](r.PageSize, r.limit(), fingerprint(r.resultKey()), r.cursorKey), r}
}

// Add takes the next row.
func (p *UserPager) Add(row *UserRow) {
	p.add(row.UserUsage, row.sortKey, row.rawID, row.afterCursorFirst)
}

// Page is the answer, given the server's rows_before_limit.
func (p *UserPager) Page(rowsBeforeLimit uint64, asOf *string) *api.UserUsagePage {
	r := p.req
	return &api.UserUsagePage{Period: api.DateRange{StartDate: day(r.Period.Start), EndDate: day(r.Period.End)},
		Data: p.rows, TotalCount: p.total(rowsBeforeLimit), NextCursor: p.next, DataAsOf: asOf}
}

// userCSVHeader is the user usage export's header.
var userCSVHeader = []string{"user_id", "display_name", "email", "department_ids", "active_time_ms", "active_hours", "session_count",
	"active_days", "apps_used", "first_active_date", "last_active_date", "top_app_names"}

// UserCSVHeader writes the export's header.
func UserCSVHeader(w Cells) { w.Header(userCSVHeader) }

// UserCSV writes one row of the export.
func UserCSV(w Cells, r *api.UserUsage) {
	w.Start()
	w.Text(r.User.ID)
	w.OptText(r.User.DisplayName)
	w.OptText(r.User.Email)
	w.Text(strings.Join(r.User.DepartmentIDs, ";"))
	w.Uint(r.ActiveTimeMS)
	w.Decimal(centiHours(r.ActiveTimeMS))
	w.Uint(r.SessionCount)
	w.Uint(r.ActiveDays)
	w.Uint(r.AppsUsed)
	w.Day(r.FirstActiveDate)
	w.Day(r.LastActiveDate)
	names := make([]string, len(r.TopApps))
	for i, a := range r.TopApps {
		names[i] = a.Name
	}
	w.Text(strings.Join(names, ";"))
	w.End()
}

// centiHours is ms in hours with two decimals, rounded half up, exactly.
func centiHours(ms uint64) string {
	c := (ms + msPerHour/200) / (msPerHour / 100)
	return fmt.Sprintf("%d.%02d", c/100, c%100)
}
