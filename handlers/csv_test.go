package handlers

import (
	"testing"

	"github.com/google/uuid"
)

func TestCSVCellsAreQuotedAndNeutralised(t *testing.T) {
	f := func(cell, want string) {
		t.Helper()
		var w csvRow
		w.start()
		w.text(cell)
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
	var w csvRow
	w.start()
	neg, pos, whole := -3.1, 5.2, 12.0
	w.optFloat(&neg)
	w.optFloat(&pos)
	w.optFloat(&whole)
	w.optFloat(nil)
	w.uint(0)
	w.boolean(true)
	w.id(uuid.MustParse("F1A2B3C4-D5E6-7890-ABCD-EF1234567890"))
	w.end()
	if got, want := string(w.buf), "-3.1,5.2,12,,0,true,f1a2b3c4-d5e6-7890-abcd-ef1234567890\r\n"; got != want {
		t.Fatalf("row = %q, want %q", got, want)
	}
}

func TestCSVRowAllocatesNothing(t *testing.T) {
	w := csvRow{buf: make([]byte, 0, 1<<16)}
	id := uuid.New()
	allocs := testing.AllocsPerRun(1000, func() {
		w.buf = w.buf[:0]
		w.start()
		w.id(id)
		w.text("Salesforce, Inc.")
		w.uint(123456)
		w.end()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per row, want 0", allocs)
	}
}
