package bench_test

import (
	"testing"

	"github.com/usagelens/usagelens/bench"
)

// wrkOutput is wrk 4.1's report of a run with errors, in its format.
const wrkOutput = `Running 20s test @ http://127.0.0.1:40123/api/v1/clients/c/applications/utilization?granularity=monthly
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   635.91us    0.89ms  12.92ms   93.69%
    Req/Sec     8.47k   630.12    10.03k    71.00%
  Latency Distribution
     50%  468.00us
     75%  621.00us
     90%    0.93ms
     99%    1.20s
  337464 requests in 20.00s, 1.23GB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:  16871.51
Transfer/sec:     62.80MB
`

func TestParseWrk(t *testing.T) {
	got, err := bench.ParseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := bench.WrkStats{Requests: 337464, Seconds: 20, RequestsPerSecond: 16871.51, P50: 0.468, P75: 0.621, P90: 0.93, P99: 1200,
		Non2xx: 12, SocketErrors: 7}
	if got != want {
		t.Errorf("ParseWrk =\n%+v\nwant\n%+v", got, want)
	}
}

// TestParseWrkClean reads a run without errors: wrk leaves both error
// lines out.
func TestParseWrkClean(t *testing.T) {
	out := `  1 threads and 1 connections
  Latency Distribution
     50%  200.00us
     75%  250.00us
     90%  300.00us
     99%  500.00us
  90000 requests in 20.01s, 300.00MB read
Requests/sec:   4497.75
`
	got, err := bench.ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Requests != 90000 || got.Seconds != 20.01 || got.P99 != 0.5 || got.Non2xx != 0 || got.SocketErrors != 0 {
		t.Errorf("ParseWrk = %+v", got)
	}
}

func TestParseWrkFailures(t *testing.T) {
	f := func(out string) {
		t.Helper()
		if got, err := bench.ParseWrk(out); err == nil {
			t.Errorf("ParseWrk(%q) = %+v, want an error", out, got)
		}
	}
	f("")
	f("unable to connect to 127.0.0.1:1 Connection refused\n")
	// Without --latency there is no distribution.
	f("  10 requests in 1.00s, 1.00KB read\nRequests/sec:     10.00\n")
	f("  10 requests in 1.00x, 1.00KB read\nRequests/sec:     10.00\n     50%  1.00us\n     75%  1.00us\n     90%  1.00us\n     99%  1.00us\n")
}
