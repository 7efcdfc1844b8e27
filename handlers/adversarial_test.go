package handlers_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/golang-jwt/jwt/v5"

	"github.com/usagelens/usagelens/chschema/chtest"
)

// hostile is a real server with the production limits, over TCP.
type hostile struct {
	t    *testing.T
	base string
	tok  string
}

func newHostile(t *testing.T) (*hostile, func()) {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	base := serveTCP(t, testServer(conn, time.Minute, nil))
	// A zero in the baseline would let a table that was never loaded, or
	// cannot be read, compare equal before and after.
	before := readFigures(t, conn)
	if before.Rows == 0 || before.ActiveMS == 0 || before.Apps == 0 || before.Memberships == 0 || before.Clients == 0 {
		t.Fatalf("fixture figures %+v: a zero baseline cannot show the data is unchanged", before)
	}
	unchanged := func() {
		t.Helper()
		if after := readFigures(t, conn); after != before {
			t.Fatalf("data changed: %+v -> %+v", before, after)
		}
	}
	return &hostile{t: t, base: base, tok: mint(t, client, time.Hour)}, unchanged
}

// figures sums everything the API could be tricked into changing. FINAL
// counts what the API reads, which a background merge does not change.
type figures struct {
	Rows, ActiveMS, Apps, Memberships, Clients uint64
}

// readFigures fails the test on any query error: a dropped table must not
// read as zero rows.
func readFigures(t *testing.T, conn driver.Conn) figures {
	t.Helper()
	var f figures
	scan := func(sql string, dest ...any) {
		t.Helper()
		if err := conn.QueryRow(context.Background(), sql).Scan(dest...); err != nil {
			t.Fatalf("cannot read %q: %v", sql, err)
		}
	}
	scan("SELECT count(), sum(total_active_ms) FROM app_usage_reports", &f.Rows, &f.ActiveMS)
	scan("SELECT count() FROM apps FINAL", &f.Apps)
	scan("SELECT count() FROM user_departments FINAL", &f.Memberships)
	scan("SELECT count() FROM clients FINAL", &f.Clients)
	return f
}

// do sends a request line as given (no client-side escaping) and returns
// the status and body.
func (h *hostile) do(target, token string) (int, string) {
	h.t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.base, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	auth := ""
	if token != "" {
		auth = "Authorization: Bearer " + token + "\r\n"
	}
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", target, auth)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		h.t.Fatalf("GET %.200s: %v", target, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("GET %.200s: body: %v", target, err)
	}
	checkContract(h.t, target, resp.StatusCode, resp.Header, body)
	return resp.StatusCode, string(body)
}

// expect checks a status and, for errors, the spec's error shape.
func (h *hostile) expect(target, token string, status int) {
	h.t.Helper()
	got, body := h.do(target, token)
	if got != status {
		h.t.Errorf("GET %.200s: %d, want %d: %.300s", target, got, status, body)
		return
	}
	if status >= 400 {
		var e errorJSON
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" || e.Error.RequestID == "" {
			h.t.Errorf("GET %.200s: %d body not in the error shape: %.300s", target, status, body)
		}
	}
}

var injections = []string{
	"' OR 1=1 --", "'; DROP TABLE app_usage_reports; --", `\'); DROP TABLE apps; --`, "{client:String}", "`apps`",
	"1) UNION ALL SELECT * FROM system.tables --", "@client", "?", "\x00", "\xff\xfe", "\t\r\n", "%", "中文",
}

func TestHostileParametersGetA4xxAndChangeNothing(t *testing.T) {
	h, unchanged := newHostile(t)
	base := utilPath + "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	params := []string{"granularity", "start_date", "end_date", "compare_start_date", "compare_end_date", "filter",
		"category_ids", "vendor_ids", "department_ids", "category_id", "is_favorite", "is_approved", "sort_by", "sort_order", "page_size", "cursor"}
	for _, evil := range injections {
		for _, p := range params {
			target := base + "&" + p + "=" + url.QueryEscape(evil)
			if p == "granularity" || p == "start_date" || p == "end_date" {
				target = utilPath + "?" + strings.Join(replaceParam([]string{"granularity=monthly", "start_date=2026-02-01", "end_date=2026-02-28"}, p, evil), "&")
			}
			want := 400
			if evil == "\t\r\n" && strings.HasSuffix(p, "_ids") || p == "category_id" && evil == "\t\r\n" {
				want = 200 // a list of only blanks is an empty list: no filter
			}
			h.expect(target, h.tok, want)
		}
		// A name search for the string is only a search; NUL and invalid
		// UTF-8 are refused as text.
		wantQ := 200
		if evil == "\x00" || evil == "\xff\xfe" {
			wantQ = 400
		}
		h.expect(base+"&q="+url.QueryEscape(evil), h.tok, wantQ)
		h.expect(exportPath+"?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28&sort_by="+url.QueryEscape(evil), h.tok, 400)
		wantApps := 400
		if evil == "\t\r\n" {
			wantApps = 200
		}
		h.expect(usageExportPath+"?start_date=2026-02-01&end_date=2026-02-28&application_ids="+url.QueryEscape(evil), h.tok, wantApps)
		h.expect("/v2/clients/"+url.PathEscape(evil)+"/analytics/apps/utilization?granularity=monthly", h.tok, 404)
	}
	unchanged()
}

func replaceParam(params []string, name, value string) []string {
	out := make([]string, len(params))
	for i, p := range params {
		out[i] = p
		if strings.HasPrefix(p, name+"=") {
			out[i] = name + "=" + url.QueryEscape(value)
		}
	}
	return out
}

func TestHostileShapesAndSizes(t *testing.T) {
	h, unchanged := newHostile(t)
	base := utilPath + "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	h.expect(base+"&q="+strings.Repeat("a", 100<<10), h.tok, 431)
	h.expect(base+"&page_size=99999999999999999999999", h.tok, 400)
	h.expect(base+"&page_size=-5", h.tok, 400)
	h.expect(base+"&page_size=1&page_size=2", h.tok, 400)
	h.expect(base+"&sort_by=unique_users&sort_by=active_time", h.tok, 400)
	h.expect(utilPath+"?granularity=monthly&start_date=1999-12-31&end_date=2000-01-30", h.tok, 400)
	h.expect(utilPath+"?granularity=monthly&start_date=2100-01-01&end_date=2100-01-31", h.tok, 400)
	h.expect(utilPath+"?granularity=monthly&start_date=1970-01-01&end_date=1970-01-31", h.tok, 400)
	h.expect(utilPath+"?granularity=monthly&start_date=2000-01-01&end_date=2000-01-31", h.tok, 200)
	h.expect(utilPath+"?granularity=monthly&start_date=2099-12-01&end_date=2099-12-31", h.tok, 200)
	h.expect(base+"&q=%00%00", h.tok, 400)
	h.expect(base+"&q=%ff", h.tok, 400)
	h.expect(base+"&cursor="+strings.Repeat("A", 4000), h.tok, 400)
	h.expect(base+"&category_ids="+strings.Repeat(cat1+",", 300), h.tok, 200)
	unchanged()
}

func TestHostileTokens(t *testing.T) {
	h, _ := newHostile(t)
	target := utilPath + "?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28"
	claims := jwt.MapClaims{"iss": "usagelens", "sub": client, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	sign := func(m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"iss":"usagelens","sub":%q,"exp":%d}`, client, time.Now().Add(time.Hour).Unix()))) + "."
	expired, err := mintWith(client, time.Now().Add(-3*time.Hour))
	if err != nil {
		t.Fatal(err) // an empty token would pass the 401 check without testing expiry
	}
	forged := sign(jwt.SigningMethodHS256, []byte("another-key-another-key-another-key!!"))
	h.expect(target, "", 401)
	h.expect(target, forged, 401)
	h.expect(target, sign(jwt.SigningMethodHS512, testKey), 401)
	h.expect(target, none, 401)
	h.expect(target, expired, 401)
	h.expect(target, h.tok+"x", 401)
	h.expect(target, strings.Repeat("a.", 3000), 401)
	h.expect(target, mint(t, otherClient, time.Hour), 403)
	h.expect(target, h.tok, 200)
}
