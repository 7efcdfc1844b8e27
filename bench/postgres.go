package bench

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
	"github.com/usagelens/usagelens/workload"
)

// pgFiles are bench/pg: the schema, the load script and the reference query.
//
//go:embed pg/setup.sh pg/stop.sh pg/schema.sql pg/utilization.sql
var pgFiles embed.FS

// PGQuery is one period's utilization page timed three ways.
type PGQuery struct {
	Label    string `json:"label"`
	Start    string `json:"start_date"`
	End      string `json:"end_date"`
	Path     string `json:"service_path"`
	Postgres Millis `json:"postgres_p50_ms"`
	Service  Millis `json:"service_p50_ms"`
	Raw      Millis `json:"raw_clickhouse_p50_ms"`
	// SpeedUp is PostgreSQL's median over the service's; SpeedUpRaw over
	// the bare ClickHouse statement's.
	SpeedUp    float64 `json:"speed_up"`
	SpeedUpRaw float64 `json:"speed_up_raw"`
	// Agree counts the apps on both first pages whose users, active time,
	// sessions and daily average are equal; Compared is how many apps both
	// pages hold.
	Agree      int      `json:"agree"`
	Compared   int      `json:"compared"`
	Mismatches []string `json:"mismatches,omitempty"`
}

// PostgresAnchor is the speed-up over the relational design of the spec's
// "DB source" table, loaded with the same dataset.
type PostgresAnchor struct {
	Version           string  `json:"version"`
	Runs              int     `json:"runs"`
	Rows              uint64  `json:"rows"`
	LoadSeconds       float64 `json:"setup_and_load_s,omitempty"`
	LoadRowsPerSecond float64 `json:"load_rows_per_s,omitempty"`
	OneMonth          PGQuery `json:"one_month"`
	TwelveMonths      PGQuery `json:"twelve_months"`
	Query             string  `json:"query"`
}

func (e *env) postgresAnchor(ctx context.Context) (*PostgresAnchor, error) {
	qtext, err := pgFiles.ReadFile("pg/utilization.sql")
	if err != nil {
		return nil, err
	}
	a := &PostgresAnchor{Runs: e.cfg.AnchorRuns, Query: string(qtext)}
	dsn := e.cfg.PostgresDSN
	if dsn == "" {
		if dsn, err = e.startPostgres(ctx, a); err != nil {
			return nil, err
		}
	}
	pg, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to PostgreSQL at %s: %w", dsn, err)
	}
	defer pg.Close(context.Background())
	if err := pg.QueryRow(ctx, "SHOW server_version").Scan(&a.Version); err != nil {
		return nil, fmt.Errorf("cannot read the PostgreSQL version: %w", err)
	}
	if err := pg.QueryRow(ctx, "SELECT count(*) FROM app_usage_reports").Scan(&a.Rows); err != nil {
		return nil, fmt.Errorf("cannot count PostgreSQL's usage rows: %w", err)
	}
	if a.LoadSeconds > 0 {
		a.LoadRowsPerSecond = round3(float64(a.Rows) / a.LoadSeconds)
	}
	c := e.clients[0]
	for _, q := range []struct {
		label string
		p     workload.Period
		out   *PGQuery
	}{{"1 month", c.LastMonth, &a.OneMonth}, {"12 months", c.TwelveMo, &a.TwelveMonths}} {
		r, err := e.pgCompare(ctx, pg, string(qtext), c.ID, q.p)
		if err != nil {
			return nil, err
		}
		r.Label = q.label
		*q.out = r
		e.log("  %s: PostgreSQL %.1f ms, service %.1f ms, raw ClickHouse %.1f ms: %.1fx; %d/%d apps agree",
			q.label, r.Postgres, r.Service, r.Raw, r.SpeedUp, r.Agree, r.Compared)
	}
	return a, nil
}

// startPostgres runs bench/pg/setup.sh for a private cluster under the work
// directory, and stops it when the run ends.
func (e *env) startPostgres(ctx context.Context, a *PostgresAnchor) (string, error) {
	scripts := filepath.Join(e.work, "pg-scripts")
	sub, _ := fs.Sub(pgFiles, "pg")
	if err := os.CopyFS(scripts, sub); err != nil {
		return "", fmt.Errorf("cannot write the PostgreSQL scripts to %s: %w", scripts, err)
	}
	// The server runs as the postgres user when we are root: it must be
	// able to reach its data directory.
	if err := os.Chmod(e.work, 0o755); err != nil {
		return "", err
	}
	pgdata := filepath.Join(e.work, "pgdata")
	port, err := freePort()
	if err != nil {
		return "", err
	}
	first, last := e.clients[0].First, e.clients[0].Last
	for _, c := range e.clients {
		first, last = minTime(first, c.First), maxTime(last, c.Last)
	}
	month := func(t time.Time) string {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(scripts, "setup.sh"), e.data, pgdata, strconv.Itoa(port), month(first), month(last))
	cmd.Stdout, cmd.Stderr = e.cfg.Progress, e.cfg.Progress
	e.defer_(func() {
		if _, err := os.Stat(filepath.Join(pgdata, "postmaster.pid")); err == nil {
			e.log("stopping the private PostgreSQL")
			stop := exec.Command("bash", filepath.Join(scripts, "stop.sh"), pgdata)
			stop.Stdout, stop.Stderr = e.cfg.Progress, e.cfg.Progress
			_ = stop.Run()
		}
	})
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("bench/pg/setup.sh failed (%w); its output is above, the server log is %s", err, filepath.Join(pgdata, "server.log"))
	}
	el := time.Since(start)
	a.LoadSeconds = round3(el.Seconds())
	return "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/usagelens?sslmode=disable", nil
}

type metricValue struct {
	Value *uint64 `json:"value"`
}

type appFigures struct{ users, ms, sessions, avg uint64 }

// pgCompare times the reference query, the service's first page for the
// same period and sort, and the service's bare SQL, interleaved, and checks
// that PostgreSQL and the service agree on the apps both pages show.
func (e *env) pgCompare(ctx context.Context, pg *pgx.Conn, qtext, clientID string, p workload.Period) (PGQuery, error) {
	r := PGQuery{Start: day(p.Start), End: day(p.End)}
	r.Path = workload.Path(api.RouteUtilization, clientID, p.Query("daily"))
	ur, err := parseUtilization(r.Path, clientID)
	if err != nil {
		return r, err
	}
	var pgRuns, svcRuns, rawRuns []time.Duration
	pgRows := map[string]appFigures{}
	var page []byte
	var buf bytes.Buffer
	for run := 0; run <= e.cfg.AnchorRuns; run++ {
		start := time.Now()
		rows, err := pg.Query(ctx, qtext, clientID, day(p.Start), day(p.End))
		if err != nil {
			return r, fmt.Errorf("PostgreSQL utilization query: %w", err)
		}
		for rows.Next() {
			var id, name string
			var f appFigures
			var days, total int64
			if err := rows.Scan(&id, &name, &f.users, &f.ms, &f.sessions, &days, &total); err != nil {
				rows.Close()
				return r, fmt.Errorf("cannot scan a PostgreSQL row: %w", err)
			}
			if days > 0 {
				f.avg = f.ms / uint64(days)
			}
			pgRows[id] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r, fmt.Errorf("PostgreSQL utilization query: %w", err)
		}
		dPG := time.Since(start)

		dSvc, resp := e.uncached.client.timedGet(ctx, r.Path, clientID, false, &buf)
		if f := resp.failure(); f != "" {
			return r, fmt.Errorf("service %s: %s", r.Path, f)
		}
		page = append(page[:0], buf.Bytes()...)

		start = time.Now()
		if _, err := runRaw(ctx, e.raw, query.UtilizationSQL(ur, query.SourceFor(ur, e.cfg.Rollups))); err != nil {
			return r, fmt.Errorf("raw utilization SQL: %w", err)
		}
		dRaw := time.Since(start)
		if run > 0 {
			pgRuns, svcRuns, rawRuns = append(pgRuns, dPG), append(svcRuns, dSvc), append(rawRuns, dRaw)
		}
	}
	r.Postgres, r.Service, r.Raw = ms(median(pgRuns)), ms(median(svcRuns)), ms(median(rawRuns))
	r.SpeedUp, r.SpeedUpRaw = ratio(float64(r.Postgres), float64(r.Service)), ratio(float64(r.Postgres), float64(r.Raw))
	var body struct {
		Data []struct {
			App struct {
				ID string `json:"id"`
			} `json:"app"`
			UniqueUsers     metricValue `json:"unique_users"`
			ActiveTimeMS    metricValue `json:"active_time_ms"`
			AvgTimeMSPerDay metricValue `json:"avg_time_ms_per_day"`
			SessionCount    metricValue `json:"session_count"`
		} `json:"data"`
	}
	if err := json.Unmarshal(page, &body); err != nil {
		return r, fmt.Errorf("cannot decode the service's page of %s: %w", r.Path, err)
	}
	val := func(p *uint64) uint64 {
		if p == nil {
			return 0
		}
		return *p
	}
	for _, row := range body.Data {
		want, ok := pgRows[row.App.ID]
		if !ok {
			continue
		}
		r.Compared++
		got := appFigures{val(row.UniqueUsers.Value), val(row.ActiveTimeMS.Value), val(row.SessionCount.Value), val(row.AvgTimeMSPerDay.Value)}
		if got == want {
			r.Agree++
		} else if len(r.Mismatches) < 5 {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("app %s: service %+v, PostgreSQL %+v", row.App.ID, got, want))
		}
	}
	return r, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
