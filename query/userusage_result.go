package query

import (
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
	if v.PseudonymKey == nil {
		return id
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return ""
	}
	return privacy.Pseudonym(v.PseudonymKey, v.ClientID, u).String()
}

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
	if v.PseudonymKey != nil {
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
