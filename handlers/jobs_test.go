package handlers_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usagelens/usagelens/chschema/chtest"
	"github.com/usagelens/usagelens/jobs"
	"github.com/usagelens/usagelens/query"
)

// newJobsAPI is the fixture served with export jobs.
func newJobsAPI(t *testing.T, slow time.Duration, tune func(*jobs.Config)) *jobsAPI {
	t.Helper()
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	return serveJobs(t, conn, t.TempDir(), "test-a", slow, tune)
}

// A job of each export type, and gzip: its file is the streaming export
// of the same parameters byte for byte, and record_count, bytes, sha256
// and date_range describe that file. Record counts and date ranges are
// worked out by hand from the fixture.
func TestJobFileIsTheStreamingExport(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	for _, c := range []struct {
		typ, params, stream, compression string
		records                          uint64
		first, last                      string
	}{
		// February's usage rows: Alpha 5, beta 5, ÉCLAIR 2, New Tool 1,
		// Gamma 1; the first on Feb 1 (beta, Gamma), the last Feb 28.
		{"usage_reports", `{"start_date":"2026-02-01","end_date":"2026-02-28"}`,
			"/analytics/usage-reports/export?start_date=2026-02-01&end_date=2026-02-28", "none", 14, "2026-02-01", "2026-02-28"},
		// Every row, Dec 1 to Mar 1, gzip.
		{"usage_reports", `{"start_date":"2025-12-01","end_date":"2026-03-31"}`,
			"/analytics/usage-reports/export?start_date=2025-12-01&end_date=2026-03-31", "gzip", 21, "2025-12-01", "2026-03-01"},
		// Four users in February: user1 from Feb 1 (beta), user4 until
		// Feb 28 (New Tool).
		{"user_usage", `{"start_date":"2026-02-01","end_date":"2026-02-28"}`,
			"/analytics/users/usage/export?start_date=2026-02-01&end_date=2026-02-28", "none", 4, "2026-02-01", "2026-02-28"},
		// The five apps used in February; each row covers the period.
		{"app_utilization", `{"granularity":"monthly","start_date":"2026-02-01","end_date":"2026-02-28"}`,
			"/analytics/apps/utilization/export?granularity=monthly&start_date=2026-02-01&end_date=2026-02-28", "gzip", 5, "2026-02-01", "2026-02-28"},
		// The same as a workbook of typed cells.
		{"user_usage", `{"start_date":"2026-02-01","end_date":"2026-02-28","format":"xlsx"}`,
			"/analytics/users/usage/export?start_date=2026-02-01&end_date=2026-02-28&format=xlsx", "none", 4, "2026-02-01", "2026-02-28"},
		// Three month bins, the first and last cut to the period.
		{"usage_timeseries", `{"start_date":"2026-01-15","end_date":"2026-03-10","bin_size":"month"}`,
			"/analytics/usage?start_date=2026-01-15&end_date=2026-03-10&bin_size=month&format=csv", "none", 3, "2026-01-15", "2026-03-10"},
	} {
		t.Run(c.typ+"_"+c.compression+map[bool]string{true: "_xlsx"}[strings.Contains(c.params, "xlsx")], func(t *testing.T) {
			a.t = t
			j := a.submit(`{"type":"` + c.typ + `","params":` + c.params + `,"compression":"` + c.compression + `"}`)
			j = a.finished(j.ID)
			if j.Status != "succeeded" || j.DownloadURL == nil {
				t.Fatalf("job: %+v", j)
			}
			stream := a.get("/v2/clients/" + client + c.stream)
			if stream.StatusCode() != 200 {
				t.Fatalf("streaming export: %d %s", stream.StatusCode(), stream.Body())
			}
			want := stream.Body()
			resp := a.download(http.MethodGet, *j.DownloadURL, nil)
			if resp.StatusCode() != 200 {
				t.Fatalf("download: %d %s", resp.StatusCode(), resp.Body())
			}
			file := append([]byte(nil), resp.Body()...)
			sum := sha256.Sum256(file)
			if *j.Bytes != uint64(len(file)) || *j.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("bytes %d sha256 %s, the file has %d bytes and sha256 %x", *j.Bytes, *j.SHA256, len(file), sum)
			}
			if got := string(resp.Header.Peek("Content-Length")); got != strconv.Itoa(len(file)) {
				t.Errorf("Content-Length %s, file of %d bytes", got, len(file))
			}
			if got := string(resp.Header.Peek("ETag")); got != `"`+*j.SHA256+`"` {
				t.Errorf("ETag %s, sha256 %s", got, *j.SHA256)
			}
			if got := string(resp.Header.Peek("Digest")); got != "sha-256="+base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("Digest %s", got)
			}
			if got := string(resp.Header.Peek("Content-Disposition")); got != `attachment; filename="`+j.FileName+`"` {
				t.Errorf("Content-Disposition %s, file_name %s", got, j.FileName)
			}
			if c.compression == "gzip" {
				if !strings.HasSuffix(j.FileName, ".csv.gz") || string(resp.Header.ContentType()) != "application/gzip" {
					t.Errorf("a gzip job's file %s is served as %s", j.FileName, resp.Header.ContentType())
				}
				zr, err := gzip.NewReader(bytes.NewReader(file))
				if err != nil {
					t.Fatal(err)
				}
				if file, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(file, want) {
				t.Errorf("the job's file differs from the streaming export:\njob:    %q\nstream: %q", file, want)
			}
			lines := uint64(bytes.Count(file, []byte("\r\n"))) - 1
			if strings.HasSuffix(j.FileName, ".xlsx") {
				rows, err := workbook(t, file).GetRows("Data")
				if err != nil || string(resp.Header.ContentType()) != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
					t.Fatalf("the workbook: %v, served as %s", err, resp.Header.ContentType())
				}
				lines = uint64(len(rows)) - 1
			}
			if *j.RecordCount != c.records || lines != c.records || j.Progress.RecordsWritten != c.records {
				t.Errorf("record_count %d, records_written %d, the file has %d records; want %d", *j.RecordCount, j.Progress.RecordsWritten, lines, c.records)
			}
			if j.DateRange == nil || j.DateRange.StartDate != c.first || j.DateRange.EndDate != c.last {
				t.Errorf("date_range %+v, want %s to %s", j.DateRange, c.first, c.last)
			}
			if j.StartedAt == nil || j.FinishedAt == nil || j.ExpiresAt == nil || j.Error != nil {
				t.Errorf("times and error of a finished job: %+v", j)
			}
			exp, _ := time.Parse(time.RFC3339, *j.ExpiresAt)
			fin, _ := time.Parse(time.RFC3339, *j.FinishedAt)
			if d := exp.Sub(fin); d < 24*time.Hour || d > 24*time.Hour+time.Second {
				t.Errorf("expires %s after finishing, want the default 24h (up to a whole second)", d)
			}
		})
	}
}

// An export with no rows: a header, record_count 0, date_range null.
func TestJobWithoutRows(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	j := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2030-01-01","end_date":"2030-01-31"}}`).ID)
	if j.Status != "succeeded" || *j.RecordCount != 0 || j.DateRange != nil || j.Compression != "none" {
		t.Fatalf("job: %+v", j)
	}
	body := a.download(http.MethodGet, *j.DownloadURL, nil).Body()
	if bytes.Count(body, []byte("\r\n")) != 1 || !bytes.HasPrefix(body, []byte("activity_date,")) {
		t.Errorf("file %q, want the header alone", body)
	}
}

// Range and HEAD: a part is the same bytes as that part of the whole, the
// last bytes too; a range past the end is 416; HEAD sends the headers.
func TestJobDownloadRangeAndHead(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	j := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2025-12-01","end_date":"2026-03-31"}}`).ID)
	whole := append([]byte(nil), a.download(http.MethodGet, *j.DownloadURL, nil).Body()...)
	n := len(whole)
	for _, c := range []struct {
		header, contentRange string
		part                 []byte
	}{
		{"bytes=10-19", "bytes 10-19/" + strconv.Itoa(n), whole[10:20]},
		{"bytes=100-", "bytes 100-" + strconv.Itoa(n-1) + "/" + strconv.Itoa(n), whole[100:]},
		{"bytes=-5", "bytes " + strconv.Itoa(n-5) + "-" + strconv.Itoa(n-1) + "/" + strconv.Itoa(n), whole[n-5:]},
		{"bytes=0-99999999", "bytes 0-" + strconv.Itoa(n-1) + "/" + strconv.Itoa(n), whole},
	} {
		resp := a.download(http.MethodGet, *j.DownloadURL, map[string]string{"Range": c.header})
		if resp.StatusCode() != http.StatusPartialContent || string(resp.Header.Peek("Content-Range")) != c.contentRange || !bytes.Equal(resp.Body(), c.part) {
			t.Errorf("Range %s: %d, Content-Range %q, %d bytes; want 206, %q, %d bytes", c.header, resp.StatusCode(), resp.Header.Peek("Content-Range"), len(resp.Body()), c.contentRange, len(c.part))
		}
	}
	resp := a.download(http.MethodGet, *j.DownloadURL, map[string]string{"Range": "bytes=0-1,5-6"})
	if resp.StatusCode() != 200 || !bytes.Equal(resp.Body(), whole) {
		t.Errorf("two ranges: %d, %d bytes; want the whole file", resp.StatusCode(), len(resp.Body()))
	}
	resp = a.download(http.MethodGet, *j.DownloadURL, map[string]string{"Range": "bytes=" + strconv.Itoa(n) + "-"})
	if resp.StatusCode() != http.StatusRequestedRangeNotSatisfiable || string(resp.Header.Peek("Content-Range")) != "bytes */"+strconv.Itoa(n) {
		t.Errorf("a range past the end: %d, Content-Range %q", resp.StatusCode(), resp.Header.Peek("Content-Range"))
	}
	checkErrorBody(t, resp.Body(), "range_not_satisfiable")
	resp = a.download(http.MethodHead, *j.DownloadURL, nil)
	if resp.StatusCode() != 200 || string(resp.Header.Peek("Content-Length")) != strconv.Itoa(n) || len(resp.Body()) != 0 ||
		string(resp.Header.Peek("ETag")) != `"`+*j.SHA256+`"` || string(resp.Header.Peek("Accept-Ranges")) != "bytes" {
		t.Errorf("HEAD: %d, Content-Length %s, ETag %s, %d body bytes", resp.StatusCode(), resp.Header.Peek("Content-Length"), resp.Header.Peek("ETag"), len(resp.Body()))
	}
}

func checkErrorBody(t *testing.T, body []byte, code string) {
	t.Helper()
	e := decodeError(t, body)
	if e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("error %s, want code %s: %s", e.Error.Code, code, body)
	}
}

func decodeError(t *testing.T, body []byte) errorJSON {
	t.Helper()
	var e errorJSON
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("not the error shape: %v in %s", err, body)
	}
	return e
}

// A link is its own permission, for its job only, until it expires: a
// changed byte, another job's id under this job's signature, or a link
// signed with another key is 403; past its expiry 410; once the file is
// deleted 410.
func TestJobLinksAreSigned(t *testing.T) {
	a := newJobsAPI(t, 0, func(c *jobs.Config) { c.Retention = 3 * time.Second })
	one := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2026-02-01","end_date":"2026-02-28"}}`).ID)
	two := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2026-01-01","end_date":"2026-01-31"}}`).ID)
	if resp := a.download(http.MethodGet, *one.DownloadURL, nil); resp.StatusCode() != 200 {
		t.Fatalf("a link without a bearer token: %d %s", resp.StatusCode(), resp.Body())
	}
	token := strings.TrimPrefix(*one.DownloadURL, "/v2/exports/download/")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatalf("the link's token is not base64url: %v", err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 1
	otherRaw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(*two.DownloadURL, "/v2/exports/download/"))
	spliced := append([]byte(nil), raw...)
	copy(spliced[17:33], otherRaw[17:33]) // job two's id under job one's signature
	for name, link := range map[string]string{
		"a changed byte":            base64.RawURLEncoding.EncodeToString(flipped),
		"another job's id":          base64.RawURLEncoding.EncodeToString(spliced),
		"a truncated link":          token[:len(token)-4],
		"not base64":                "%21%21%21",
		"the link of another key":   signWith([]byte("another-deployment-key-0123456789"), raw),
		"one character changed":     swapChar(token),
		"the signature of a second": base64.RawURLEncoding.EncodeToString(append(raw[:41:41], otherRaw[41:]...)),
	} {
		resp := a.download(http.MethodGet, "/v2/exports/download/"+link, nil)
		if resp.StatusCode() != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, resp.StatusCode(), resp.Body())
			continue
		}
		checkErrorBody(t, resp.Body(), "forbidden")
	}
	// Deleting a finished job removes its file: its link is then gone.
	if resp := a.do(http.MethodDelete, exportsPath+"/"+two.ID, ""); resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("DELETE a finished job: %d %s", resp.StatusCode(), resp.Body())
	}
	if resp := a.download(http.MethodGet, *two.DownloadURL, nil); resp.StatusCode() != http.StatusGone {
		t.Errorf("the link of a deleted job: %d %s, want 410", resp.StatusCode(), resp.Body())
	}
	if j := a.job(two.ID); j.Status != "expired" || j.DownloadURL != nil || *j.RecordCount != 4 {
		t.Errorf("a deleted job: %+v", j)
	}
	// Past its expiry, the link answers 410 and the job is expired.
	exp, _ := time.Parse(time.RFC3339, *one.ExpiresAt)
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	resp := a.download(http.MethodGet, *one.DownloadURL, nil)
	if resp.StatusCode() != http.StatusGone {
		t.Fatalf("an expired link: %d %s, want 410", resp.StatusCode(), resp.Body())
	}
	checkErrorBody(t, resp.Body(), "gone")
	if j := a.job(one.ID); j.Status != "expired" || j.DownloadURL != nil {
		t.Errorf("an expired job: %+v", j)
	}
}

// signWith signs a link's body with key, as another deployment would:
// HMAC-SHA256 over the version, ids and expiry.
func signWith(key, raw []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(raw[:41])
	return base64.RawURLEncoding.EncodeToString(mac.Sum(raw[:41:41]))
}

// swapChar changes the token's tenth character to another base64url one.
func swapChar(s string) string {
	c := byte('A')
	if s[10] == 'A' {
		c = 'B'
	}
	return s[:10] + string(c) + s[11:]
}

// Another client sees nothing of a client's jobs: its own routes answer
// 404 for them, and a token of one client is 403 on the other's routes.
func TestJobsOfAnotherClient(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	j := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2026-02-01","end_date":"2026-02-28"}}`).ID)
	other := mint(t, otherClient, time.Hour)
	otherPath := "/v2/clients/" + otherClient + "/exports"
	for _, c := range []struct{ method, path, tok string }{
		{http.MethodGet, otherPath + "/" + j.ID, other},
		{http.MethodDelete, otherPath + "/" + j.ID, other},
		{http.MethodGet, exportsPath + "/c0000000-0000-4000-8000-00000000ffff", a.token},
		{http.MethodGet, exportsPath + "/not-a-uuid", a.token},
	} {
		resp := a.do(c.method, c.path, "", c.tok)
		if resp.StatusCode() != http.StatusNotFound {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.path, resp.StatusCode(), resp.Body())
		}
	}
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, exportsPath + "/" + j.ID}, {http.MethodDelete, exportsPath + "/" + j.ID}, {http.MethodGet, exportsPath},
	} {
		resp := a.do(c.method, c.path, "", other)
		if resp.StatusCode() != http.StatusForbidden {
			t.Errorf("%s %s with another client's token: %d %s, want 403", c.method, c.path, resp.StatusCode(), resp.Body())
		}
	}
	if resp := a.do(http.MethodPost, exportsPath, `{"type":"usage_reports","params":{"start_date":"2026-02-01","end_date":"2026-02-28"}}`, other); resp.StatusCode() != http.StatusForbidden {
		t.Errorf("POST with another client's token: %d, want 403", resp.StatusCode())
	}
	if resp := a.do(http.MethodGet, exportsPath, "", ""); resp.StatusCode() != http.StatusUnauthorized {
		t.Errorf("GET the list without a token: %d, want 401", resp.StatusCode())
	}
	resp := a.do(http.MethodGet, otherPath, "", other)
	if p := decodeJobPage(t, resp.Body()); resp.StatusCode() != 200 || len(p.Data) != 0 {
		t.Errorf("the other client's list: %d %s, want it empty", resp.StatusCode(), resp.Body())
	}
	if j := a.job(j.ID); j.Status != "succeeded" {
		t.Errorf("after the other client's DELETE: %s", j.Status)
	}
}

type jobPageJSON struct {
	Data       []jobJSON `json:"data"`
	NextCursor *string   `json:"next_cursor"`
}

func decodeJobPage(t *testing.T, body []byte) jobPageJSON {
	t.Helper()
	var p jobPageJSON
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return p
}

// Bad bodies are 400 (413 past 64 KiB) before any job exists.
func TestJobBadBodies(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	feb := `"start_date":"2026-02-01","end_date":"2026-02-28"`
	for _, c := range []struct {
		name, body, code, param string
	}{
		{"not JSON", `type=usage_reports`, "invalid_request", ""},
		{"two objects", `{"type":"usage_reports","params":{` + feb + `}} {}`, "invalid_request", ""},
		{"an array", `[]`, "invalid_request", ""},
		{"empty", ``, "invalid_request", ""},
		{"no type", `{"params":{` + feb + `}}`, "invalid_parameter", "type"},
		{"unknown type", `{"type":"everything","params":{` + feb + `}}`, "invalid_parameter", "type"},
		{"unknown field", `{"type":"usage_reports","params":{` + feb + `},"format":"csv"}`, "invalid_request", ""},
		{"unknown compression", `{"type":"usage_reports","params":{` + feb + `},"compression":"zip"}`, "invalid_parameter", "compression"},
		{"a number param", `{"type":"usage_reports","params":{"start_date":20260201,"end_date":"2026-02-28"}}`, "invalid_parameter", "params"},
		{"params not an object", `{"type":"usage_reports","params":"start_date=2026-02-01"}`, "invalid_parameter", "params"},
		{"no dates", `{"type":"usage_reports","params":{}}`, "invalid_parameter", "start_date"},
		{"end before start", `{"type":"usage_reports","params":{"start_date":"2026-02-28","end_date":"2026-02-01"}}`, "invalid_parameter", "end_date"},
		{"unknown param", `{"type":"usage_reports","params":{` + feb + `,"colour":"red"}}`, "invalid_parameter", "colour"},
		{"a bad id", `{"type":"app_utilization","params":{"granularity":"monthly",` + feb + `,"category_ids":"x'; DROP TABLE apps"}}`, "invalid_parameter", "category_ids"},
		{"a page size", `{"type":"user_usage","params":{` + feb + `,"page_size":"10"}}`, "invalid_parameter", "page_size"},
		{"series as JSON", `{"type":"usage_timeseries","params":{` + feb + `,"format":"json"}}`, "invalid_parameter", "format"},
	} {
		resp := a.do(http.MethodPost, exportsPath, c.body)
		if resp.StatusCode() != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", c.name, resp.StatusCode(), resp.Body())
			continue
		}
		e := decodeError(t, resp.Body())
		if _, named := e.Error.Details[c.param]; e.Error.Code != c.code || (c.param != "" && !named) {
			t.Errorf("%s: %s, want code %s on parameter %q", c.name, resp.Body(), c.code, c.param)
		}
	}
	if p := decodeJobPage(t, a.do(http.MethodGet, exportsPath, "").Body()); len(p.Data) != 0 {
		t.Errorf("bad bodies made jobs: %+v", p.Data)
	}
	// Over the limit, through the real HTTP server and its limits.
	base := serveTCP(t, a.srv)
	big := `{"type":"usage_reports","params":{` + feb + `,"q":"` + strings.Repeat("x", 70<<10) + `"}}`
	req, _ := http.NewRequest(http.MethodPost, base+exportsPath, strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 64 KiB: %d %s, want 413", resp.StatusCode, body)
	} else {
		checkErrorBody(t, body, "request_too_large")
	}
	if p := decodeJobPage(t, a.do(http.MethodGet, exportsPath, "").Body()); len(p.Data) != 0 {
		t.Errorf("a body too large made a job: %+v", p.Data)
	}
}

// The list: newest first, paged by page_size and cursor; a bad cursor or
// parameter is 400.
func TestJobList(t *testing.T) {
	a := newJobsAPI(t, 0, nil)
	var ids []string
	for _, month := range []string{"2025-12", "2026-01", "2026-02"} {
		j := a.submit(`{"type":"usage_reports","params":{"start_date":"` + month + `-01","end_date":"` + month + `-28"}}`)
		ids = append([]string{j.ID}, ids...) // newest first
		a.finished(j.ID)
		time.Sleep(5 * time.Millisecond) // distinct created_at
	}
	var walked []string
	cursor := ""
	for pages := 0; ; pages++ {
		resp := a.do(http.MethodGet, exportsPath+"?page_size=2"+cursor, "")
		p := decodeJobPage(t, resp.Body())
		for _, j := range p.Data {
			walked = append(walked, j.ID)
		}
		if p.NextCursor == nil || pages > 3 {
			break
		}
		cursor = "&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if strings.Join(walked, ",") != strings.Join(ids, ",") {
		t.Errorf("walked %v, want %v", walked, ids)
	}
	for _, q := range []string{"?cursor=nonsense", "?page_size=0", "?page_size=201", "?status=queued"} {
		if resp := a.do(http.MethodGet, exportsPath+q, ""); resp.StatusCode() != http.StatusBadRequest {
			t.Errorf("GET %s: %d %s, want 400", q, resp.StatusCode(), resp.Body())
		}
	}
}

// The per-client limit counts queued and running jobs: past it, 429 with
// Retry-After; another client is not held back by it.
func TestJobPerClientLimit(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	loadBig(t, conn, 20) // 7 300 rows in 2025
	a := serveJobs(t, conn, t.TempDir(), "test-a", 200*time.Millisecond, func(c *jobs.Config) { c.PerClient = 2; c.Workers = 1 })
	big := `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`
	bigTok := mint(t, bigClient, time.Hour)
	bigPath := "/v2/clients/" + bigClient + "/exports"
	var first []string
	for range 2 {
		resp := a.do(http.MethodPost, bigPath, big, bigTok)
		if resp.StatusCode() != http.StatusAccepted {
			t.Fatalf("POST within the limit: %d %s", resp.StatusCode(), resp.Body())
		}
		first = append(first, decodeJob(t, resp.Body()).ID)
	}
	resp := a.do(http.MethodPost, bigPath, big, bigTok)
	if resp.StatusCode() != http.StatusTooManyRequests || string(resp.Header.Peek("Retry-After")) == "" {
		t.Fatalf("POST past the limit: %d Retry-After %q %s", resp.StatusCode(), resp.Header.Peek("Retry-After"), resp.Body())
	}
	checkErrorBody(t, resp.Body(), "too_many_requests")
	// The fixture's client has its own count.
	a.submit(`{"type":"usage_reports","params":{"start_date":"2026-02-01","end_date":"2026-02-28"}}`)
	for _, id := range first {
		a.do(http.MethodDelete, bigPath+"/"+id, "", bigTok)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp = a.do(http.MethodPost, bigPath, `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-01-01"}}`, bigTok)
		if resp.StatusCode() == http.StatusAccepted || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp.StatusCode() != http.StatusAccepted {
		t.Errorf("POST once the jobs were cancelled: %d %s", resp.StatusCode(), resp.Body())
	}
}

// Cancelling a running job stops its ClickHouse query (it leaves
// system.processes), leaves it cancelled, and leaves no file; progress was
// reported while it ran.
func TestJobCancelStopsTheQuery(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadBig(t, conn, 8000) // 2 920 000 rows in 2025: more than the driver and the sockets hold
	dir := t.TempDir()
	a := serveJobs(t, conn, dir, "test-a", 100*time.Millisecond, nil)
	a.token = mint(t, bigClient, time.Hour)
	path := "/v2/clients/" + bigClient + "/exports"
	resp := a.do(http.MethodPost, path, `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`)
	if resp.StatusCode() != http.StatusAccepted {
		t.Fatalf("POST: %d %s", resp.StatusCode(), resp.Body())
	}
	id := decodeJob(t, resp.Body()).ID
	j := a.awaitAt(path, id, "reporting progress", func(j jobJSON) bool { return j.Status == "running" && j.Progress.RecordsWritten > 0 })
	if j.Progress.RecordsWritten >= 2920000 {
		t.Fatalf("the job finished before it could be cancelled: %+v", j)
	}
	if n := jobQueries(t, a, id); n == 0 {
		t.Fatalf("no query of job %s in system.processes while it runs", id)
	}
	if resp := a.do(http.MethodDelete, path+"/"+id, ""); resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode(), resp.Body())
	}
	deadline := time.Now().Add(10 * time.Second)
	for jobQueries(t, a, id) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("job %s's query still runs 10 s after the cancel", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.stop() // the worker has ended: nothing more is written
	j = a.getAt(path, id)
	if j.Status != "cancelled" || j.DownloadURL != nil || j.FinishedAt == nil || j.Error != nil {
		t.Errorf("a cancelled job: %+v", j)
	}
	if files := filesUnder(t, dir); len(files) != 0 {
		t.Errorf("a cancelled job left files: %v", files)
	}
	if resp := a.do(http.MethodDelete, path+"/"+id, ""); resp.StatusCode() != http.StatusNoContent {
		t.Errorf("DELETE of a cancelled job again: %d", resp.StatusCode())
	}
}

// jobQueries counts the job's queries the server is running.
func jobQueries(t *testing.T, a *jobsAPI, id string) uint64 {
	t.Helper()
	var n uint64
	if err := a.conn.QueryRow(context.Background(), "SELECT count() FROM system.processes WHERE query_id LIKE ?", "%-job-"+id+"-%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (a *jobsAPI) getAt(path, id string) jobJSON {
	a.t.Helper()
	resp := a.do(http.MethodGet, path+"/"+id, "")
	if resp.StatusCode() != 200 {
		a.t.Fatalf("GET %s/%s: %d %s", path, id, resp.StatusCode(), resp.Body())
	}
	return decodeJob(a.t, resp.Body())
}

func (a *jobsAPI) awaitAt(path, id, what string, until func(jobJSON) bool) jobJSON {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := a.getAt(path, id)
		if until(j) {
			return j
		}
		if time.Now().After(deadline) || (j.Status != "queued" && j.Status != "running") {
			a.t.Fatalf("job %s never %s: %+v", id, what, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A service that dies mid-job (its ClickHouse connection gone, so it
// records nothing more) and starts again under the same instance name
// fails the job as interrupted; nothing stays running, and no partial
// file is left or offered. A job it left queued runs after the restart.
func TestJobRestartMidJob(t *testing.T) {
	dsn := chtest.NewDB(t)
	conn := chtest.Open(t, dsn)
	loadBig(t, conn, 300) // 109 500 rows in 2025
	dir := t.TempDir()
	dying := chtest.Open(t, dsn)
	first := serveJobs(t, dying, dir, "test-a", 100*time.Millisecond, func(c *jobs.Config) { c.Workers = 1 })
	first.token = mint(t, bigClient, time.Hour)
	path := "/v2/clients/" + bigClient + "/exports"
	year := `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`
	running := decodeJob(t, first.do(http.MethodPost, path, year).Body()).ID
	queued := decodeJob(t, first.do(http.MethodPost, path, `{"type":"usage_reports","params":{"start_date":"2025-03-01","end_date":"2025-03-01"}}`).Body()).ID
	first.awaitAt(path, running, "reporting progress", func(j jobJSON) bool { return j.Progress.RecordsWritten > 0 })
	dying.Close() // the process is gone: no more records from it
	first.stop()

	second := serveJobs(t, conn, dir, "test-a", 0, nil)
	second.token = first.token
	j := second.getAt(path, running)
	if j.Status != "failed" || j.Error == nil || j.Error.Code != "unavailable" || !strings.Contains(j.Error.Message, "submit it again") || j.DownloadURL != nil {
		t.Errorf("the job running at the restart: %+v (error %+v)", j, j.Error)
	}
	q := second.awaitAt(path, queued, "finished", func(j jobJSON) bool { return j.Status == "succeeded" })
	if *q.RecordCount != 300 {
		t.Errorf("the queued job after the restart: %d records, want 300 (one day's)", *q.RecordCount)
	}
	files := filesUnder(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], "-"+q.FileName) {
		t.Errorf("files after the restart: %v, want the queued job's alone", files)
	}
}

// A DELETE sent to another instance than the one running the job: that
// instance records the cancel and kills the query by its id; the running
// instance sees the cancel at its next progress write and stops.
func TestJobCancelFromAnotherInstance(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadBig(t, conn, 8000)
	dir := t.TempDir()
	runner := serveJobs(t, conn, dir, "test-a", 100*time.Millisecond, nil)
	other := serveJobs(t, conn, dir, "test-b", 0, nil)
	runner.token = mint(t, bigClient, time.Hour)
	other.token = runner.token
	path := "/v2/clients/" + bigClient + "/exports"
	id := decodeJob(t, runner.do(http.MethodPost, path, `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`).Body()).ID
	runner.awaitAt(path, id, "reporting progress", func(j jobJSON) bool { return j.Progress.RecordsWritten > 0 })
	if resp := other.do(http.MethodDelete, path+"/"+id, ""); resp.StatusCode() != http.StatusNoContent {
		t.Fatalf("DELETE on the other instance: %d %s", resp.StatusCode(), resp.Body())
	}
	deadline := time.Now().Add(10 * time.Second)
	for jobQueries(t, runner, id) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("job %s's query still runs 10 s after another instance cancelled it", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	runner.stop()
	if j := other.getAt(path, id); j.Status != "cancelled" || j.Error != nil {
		t.Errorf("a job cancelled from another instance: %+v", j)
	}
	if files := filesUnder(t, dir); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}

// A queued job cancelled before a worker took it never runs.
func TestJobCancelWhileQueued(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	loadBig(t, conn, 300)
	a := serveJobs(t, conn, t.TempDir(), "test-a", 100*time.Millisecond, func(c *jobs.Config) { c.Workers, c.PerClient = 1, 2 })
	a.token = mint(t, bigClient, time.Hour)
	path := "/v2/clients/" + bigClient + "/exports"
	year := `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`
	busy := decodeJob(t, a.do(http.MethodPost, path, year).Body()).ID
	waiting := decodeJob(t, a.do(http.MethodPost, path, year).Body()).ID
	a.awaitAt(path, busy, "running", func(j jobJSON) bool { return j.Status == "running" })
	if j := a.getAt(path, waiting); j.Status != "queued" {
		t.Fatalf("the second job with one worker busy: %s", j.Status)
	}
	a.do(http.MethodDelete, path+"/"+waiting, "")
	// The cancelled job no longer counts against the limit of two.
	if resp := a.do(http.MethodPost, path, year); resp.StatusCode() != http.StatusAccepted {
		t.Errorf("POST after cancelling a queued job: %d %s", resp.StatusCode(), resp.Body())
	}
	a.do(http.MethodDelete, path+"/"+busy, "")
	a.stop()
	if j := a.getAt(path, waiting); j.Status != "cancelled" || j.StartedAt != nil {
		t.Errorf("a job cancelled while queued: %+v", j)
	}
}

// A job that would pass the export store's bound fails with storage_full
// and leaves nothing; one past the export timeout fails with timeout; a
// service that stops records its running job as interrupted.
func TestJobFailures(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	loadBig(t, conn, 300)
	year := `{"type":"usage_reports","params":{"start_date":"2025-01-01","end_date":"2025-12-31"}}`
	path := "/v2/clients/" + bigClient + "/exports"
	for _, c := range []struct {
		name, code string
		slow       time.Duration
		tune       func(*jobs.Config)
	}{
		{"the store's bound", "storage_full", 0, func(c *jobs.Config) { c.MaxBytes = 1000 }},
		{"the export timeout", "timeout", 100 * time.Millisecond, func(c *jobs.Config) { c.Timeout = 300 * time.Millisecond }},
	} {
		dir := t.TempDir()
		a := serveJobs(t, conn, dir, "test-a", c.slow, c.tune)
		a.token = mint(t, bigClient, time.Hour)
		j := a.finishedAt(path, decodeJob(t, a.do(http.MethodPost, path, year).Body()).ID)
		if j.Status != "failed" || j.Error == nil || j.Error.Code != c.code || j.Error.Message == "" || j.DownloadURL != nil || j.RecordCount != nil {
			t.Errorf("%s: %+v, error %+v; want failed with %s", c.name, j, j.Error, c.code)
		}
		if c.code == "timeout" && j.Progress.RecordsWritten == 0 {
			t.Errorf("%s: records_written 0 after writing for the whole timeout", c.name)
		}
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("%s: files left %v", c.name, files)
		}
		a.stop()
	}
	a := serveJobs(t, conn, t.TempDir(), "test-a", 100*time.Millisecond, nil)
	a.token = mint(t, bigClient, time.Hour)
	id := decodeJob(t, a.do(http.MethodPost, path, year).Body()).ID
	a.awaitAt(path, id, "running", func(j jobJSON) bool { return j.Status == "running" })
	a.stop()
	if j := a.getAt(path, id); j.Status != "failed" || j.Error == nil || j.Error.Code != "unavailable" {
		t.Errorf("a job running when the service stopped: %+v, error %+v", j, j.Error)
	}
}

func (a *jobsAPI) finishedAt(path, id string) jobJSON {
	a.t.Helper()
	return a.awaitAt(path, id, "finished", func(j jobJSON) bool { return j.Status != "queued" && j.Status != "running" })
}

// The sweep removes a file once its job expires and records the job
// expired, and fails a job whose instance stopped reporting progress.
func TestJobSweep(t *testing.T) {
	conn := chtest.Open(t, chtest.NewDB(t))
	loadFixture(t, conn)
	dir := t.TempDir()
	a := serveJobs(t, conn, dir, "test-a", 0, func(c *jobs.Config) {
		c.Retention, c.Sweep, c.StaleAfter = time.Second, 100*time.Millisecond, time.Second
	})
	j := a.finished(a.submit(`{"type":"usage_reports","params":{"start_date":"2026-02-01","end_date":"2026-02-28"}}`).ID)
	if files := filesUnder(t, dir); len(files) != 1 {
		t.Fatalf("files of a finished job: %v", files)
	}
	// A job another instance left running two minutes ago.
	st := a.srv.Store
	orphan := query.JobRecord{ClientID: uuid.MustParse(client), ID: uuid.New(), Version: 1 << 56, Type: "usage_reports", Params: `{}`, Compression: "none",
		Status: "running", Instance: "gone", FileName: "usage-reports-2026-02-01-to-2026-02-28.csv", CreatedMS: uint64(time.Now().Add(-2 * time.Minute).UnixMilli())}
	orphan.UpdatedMS = orphan.CreatedMS
	if err := st.SaveJob(context.Background(), &orphan); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := st.Job(context.Background(), client, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == "expired" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job is %s 10 s after it expired", rec.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if files := filesUnder(t, dir); len(files) != 0 {
		t.Errorf("files after the expiry: %v", files)
	}
	if o := a.job(orphan.ID.String()); o.Status != "failed" || o.Error == nil || o.Error.Code != "unavailable" {
		t.Errorf("a job its instance left running: %+v", o)
	}
}
