package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/valyala/fasthttp"

	"github.com/usagelens/usagelens/dataset"
	"github.com/usagelens/usagelens/exportstore"
	"github.com/usagelens/usagelens/handlers"
	"github.com/usagelens/usagelens/jobs"
)

// testLinkKey signs the tests' download links.
var testLinkKey = []byte("download-links-of-the-tests-0123456789")

// jobsAPI is the API with export jobs, over a real ClickHouse and a real
// export directory.
type jobsAPI struct {
	*api
	srv  *handlers.Server
	mgr  *jobs.Manager
	dir  string
	stop func() // stops the workers and waits for them
}

// serveJobs serves the API over conn with a job manager of instance over
// the export directory dir; tune adjusts the manager's configuration and
// slow, when set, makes every write to a file wait that long.
func serveJobs(t *testing.T, conn driver.Conn, dir, instance string, slow time.Duration, tune func(*jobs.Config)) *jobsAPI {
	t.Helper()
	files, err := exportstore.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := testServer(conn, time.Minute, nil)
	cfg := jobs.Config{Store: srv.Store, Files: slowFiles{files, slow}, LinkKey: testLinkKey, Instance: instance, Workers: 2, PerClient: 4,
		Timeout: time.Minute, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&cfg)
	}
	mgr := jobs.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := mgr.Recover(ctx); err != nil {
		t.Fatalf("Recover: %v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); mgr.Run(ctx) }()
	srv.Jobs = mgr
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	a := &api{t: t, conn: conn, client: serveInMemory(t, &fasthttp.Server{Handler: srv.Handler(), MaxRequestBodySize: handlers.DefaultLimits(time.Minute).MaxBodyBytes}),
		token: mint(t, client, time.Hour)}
	return &jobsAPI{api: a, srv: srv, mgr: mgr, dir: dir, stop: stop}
}

// slowFiles is the real export directory, with each write delayed so a
// job stays running long enough to be watched, cancelled or cut off.
type slowFiles struct {
	exportstore.Files
	delay time.Duration
}

func (s slowFiles) Create(key string) (exportstore.Writer, error) {
	w, err := s.Files.Create(key)
	return slowWriter{w, s.delay}, err
}

type slowWriter struct {
	exportstore.Writer
	delay time.Duration
}

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(w.delay)
	return w.Writer.Write(p)
}

// do sends method path with body and the client's token (or tok), and
// checks the answer against the OpenAPI document.
func (a *jobsAPI) do(method, path, body string, tok ...string) *fasthttp.Response {
	a.t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://usagelens" + path)
	bearer := a.token
	if len(tok) > 0 {
		bearer = tok[0]
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.SetContentType("application/json")
		req.SetBodyString(body)
	}
	resp := &fasthttp.Response{}
	if err := a.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	checkFastHTTPOf(a.t, method, path, resp)
	return resp
}

// jobJSON is a job as the API answers it.
type jobJSON struct {
	ID          string            `json:"id"`
	Type        string            `json:"type"`
	Status      string            `json:"status"`
	Params      map[string]string `json:"params"`
	Compression string            `json:"compression"`
	CreatedAt   string            `json:"created_at"`
	StartedAt   *string           `json:"started_at"`
	FinishedAt  *string           `json:"finished_at"`
	Progress    struct {
		RecordsWritten uint64 `json:"records_written"`
	} `json:"progress"`
	RecordCount *uint64 `json:"record_count"`
	Bytes       *uint64 `json:"bytes"`
	SHA256      *string `json:"sha256"`
	DateRange   *struct {
		StartDate string `json:"start_date"`
		EndDate   string `json:"end_date"`
	} `json:"date_range"`
	FileName    string  `json:"file_name"`
	DownloadURL *string `json:"download_url"`
	ExpiresAt   *string `json:"expires_at"`
	Error       *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

const exportsPath = "/v2/clients/" + client + "/exports"

// submit posts a job and fails the test unless it is accepted.
func (a *jobsAPI) submit(body string) jobJSON {
	a.t.Helper()
	resp := a.do(http.MethodPost, exportsPath, body)
	if resp.StatusCode() != http.StatusAccepted {
		a.t.Fatalf("POST %s: %d %s", body, resp.StatusCode(), resp.Body())
	}
	j := decodeJob(a.t, resp.Body())
	if loc := string(resp.Header.Peek("Location")); loc != exportsPath+"/"+j.ID {
		a.t.Errorf("Location %q, want %q", loc, exportsPath+"/"+j.ID)
	}
	if j.Status != "queued" || j.DownloadURL != nil || j.RecordCount != nil {
		a.t.Errorf("a new job: %+v", j)
	}
	return j
}

func decodeJob(t *testing.T, body []byte) jobJSON {
	t.Helper()
	var j jobJSON
	if err := json.Unmarshal(body, &j); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return j
}

// job reads a job and fails the test unless it is found.
func (a *jobsAPI) job(id string) jobJSON {
	a.t.Helper()
	resp := a.do(http.MethodGet, exportsPath+"/"+id, "")
	if resp.StatusCode() != http.StatusOK {
		a.t.Fatalf("GET job %s: %d %s", id, resp.StatusCode(), resp.Body())
	}
	return decodeJob(a.t, resp.Body())
}

// await polls a job until until says yes, for at most 30 s.
func (a *jobsAPI) await(id string, what string, until func(jobJSON) bool) jobJSON {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := a.job(id)
		if until(j) {
			return j
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("job %s never %s: %+v", id, what, j)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finished polls a job until it leaves queued and running.
func (a *jobsAPI) finished(id string) jobJSON {
	a.t.Helper()
	return a.await(id, "finished", func(j jobJSON) bool { return j.Status != "queued" && j.Status != "running" })
}

// download GETs a link without a bearer token, with extra headers.
func (a *jobsAPI) download(method, link string, headers map[string]string) *fasthttp.Response {
	a.t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://usagelens" + link)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp := &fasthttp.Response{}
	if method == http.MethodHead {
		resp.SkipBody = true
	}
	if err := a.client.DoTimeout(req, resp, 30*time.Second); err != nil {
		a.t.Fatalf("%s %s: %v", method, link, err)
	}
	checkFastHTTPOf(a.t, method, link, resp)
	return resp
}

// Clients of the big dataset, whose exports take long enough to watch.
const (
	bigClient = "c0000000-0000-4000-8000-0000000000b1"
	bigApp    = "a0000000-0000-4000-8000-0000000000b1"
)

// loadBig loads a client with one app that one user uses perDay times on
// each day of 2025 (rows inserted straight into the usage table: a load
// of millions of rows would take most of a minute), and once on
// 2024-12-31 through a real load of its dimensions.
func loadBig(t *testing.T, conn driver.Conn, perDay int) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		dataset.ClientsFile: "client_id,name,timezone\n" + bigClient + ",Big Co,UTC\n",
		dataset.AppsFile: strings.Join(dataset.AppsHeader, ",") + "\n" + bigClient + "," + bigApp +
			",ca000000-0000-4000-8000-0000000000b1,Big App,,desktop," + vendor1 + ",Vendor One,https://one.example,,,false,false,,low\n",
		dataset.DepartmentsFile: "client_id,user_id,department_id\n",
		dataset.UsageFile:       strings.Join(dataset.UsageHeader, ",") + "\n" + bigClient + ",2024-12-31," + bigApp + "," + user1 + ",1000,1\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := dataset.Load(context.Background(), conn, dir, nil); err != nil {
		t.Fatalf("cannot load the big client: %v", err)
	}
	err := conn.Exec(context.Background(), fmt.Sprintf("INSERT INTO app_usage_reports SELECT toUUID('%s'), toDate('2025-01-01') + intDiv(number, %d), toUUID('%s'), toUUID('%s'), 1000, 1 FROM numbers(%d)",
		bigClient, perDay, bigApp, user1, perDay*365))
	if err != nil {
		t.Fatalf("cannot insert the big client's usage: %v", err)
	}
}

// filesUnder lists the files of an export directory, temporary ones too.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
