package query

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestCSVCellsAreQuotedAndNeutralised(t *testing.T) {
	f := func(cell, want string) {
		t.Helper()
		var w CSVRow
		w.Start()
		w.Text(cell)
		if got := string(w.buf); got != want {
			t.Errorf("text(%q) = %s, want %s", cell, got, want)
		}
	}
	f("Slack", "Slack")
	f("Salesforce, Inc.", `"Salesforce, Inc."`)
	f(`Say "hi"`, `"Say ""hi"""`)
	f("two\nlines", "\"two\nlines\"")
	f("=HYPERLINK(\"x\")", `"'=HYPERLINK(""x"")"`)
	f("=SUM(A1)", "'=SUM(A1)")
	f("+1", "'+1")
	f("-cmd", "'-cmd")
	f("@x", "'@x")
	f("\tx", "'\tx")
	f("\rx", "\"'\rx\"")
	f("Zoë Notes", "Zoë Notes")
	f("", "")
}

func TestCSVNumbersAreNeverTouched(t *testing.T) {
	var w CSVRow
	w.Start()
	neg, pos, whole := -3.1, 5.2, 12.0
	w.OptFloat(&neg)
	w.OptFloat(&pos)
	w.OptFloat(&whole)
	w.OptFloat(nil)
	w.Uint(0)
	w.Bool(true)
	w.ID(uuid.MustParse("F1A2B3C4-D5E6-7890-ABCD-EF1234567890"))
	w.End()
	if got, want := string(w.buf), "-3.1,5.2,12,,0,true,f1a2b3c4-d5e6-7890-abcd-ef1234567890\r\n"; got != want {
		t.Fatalf("row = %q, want %q", got, want)
	}
}

func TestCSVRowAllocatesNothing(t *testing.T) {
	w := CSVRow{buf: make([]byte, 0, 1<<16)}
	id := uuid.New()
	allocs := testing.AllocsPerRun(1000, func() {
		w.buf = w.buf[:0]
		w.Start()
		w.ID(id)
		w.Text("Salesforce, Inc.")
		w.Uint(123456)
		w.End()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per row, want 0", allocs)
	}
}

// TestUsageRowAllocatesNothing: the usage export's row encoder, names
// looked up, allocates nothing per row.
func TestUsageRowAllocatesNothing(t *testing.T) {
	app, user := uuid.New(), uuid.New()
	u := NewUsageScan(&UsageNames{Apps: map[uuid.UUID]Cached{app: Cell("Slack, Inc.")}, Departments: map[uuid.UUID]Cached{user: Cell("d1;d2")}})
	u.row = UsageRow{Date: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), AppID: app, UserID: user, ActiveMS: 12, Sessions: 3}
	w := NewCSVRow(1 << 16)
	u.CSV(w)
	if got, want := string(w.Bytes()), "2026-02-03,"+app.String()+",\"Slack, Inc.\","+user.String()+",d1;d2,12,3\r\n"; got != want {
		t.Fatalf("row = %q, want %q", got, want)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		w.Reset()
		u.CSV(w)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per row, want 0", allocs)
	}
}
