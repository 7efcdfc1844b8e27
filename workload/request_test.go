package workload_test

import (
	"testing"

	"github.com/usagelens/usagelens/workload"
)

func TestClassify(t *testing.T) {
	f := func(path, want string) {
		t.Helper()
		if got, client := workload.Classify(path); got != want || client != "c1" {
			t.Errorf("Classify(%s) = %s, %s; want %s, c1", path, got, client, want)
		}
	}
	base := "/v2/clients/c1/analytics/apps/utilization"
	f(base+"?granularity=daily", workload.KindUtilization)
	f(base+"?compare_start_date=2026-01-01&compare_end_date=2026-01-31", workload.KindUtilizationCompare)
	f(base+"?compare_start_date=2026-01-01&q=x", workload.KindUtilizationFiltered)
	f(base+"?q=x&department_ids=d", workload.KindUtilizationDepartments)
	f(base+"?department_ids=d&cursor=abc", workload.KindUtilizationPage)
	f(base+"/export?granularity=daily", workload.KindUtilizationExport)
	f("/v2/clients/c1/analytics/usage-reports/export?start_date=2026-01-01", workload.KindUsageExport)
	f("/v2/clients/c1/analytics/usage?start_date=2026-01-01&group_by=app", workload.KindSeries)
	f("/v2/clients/c1/analytics/usage?start_date=2026-01-01&format=csv", workload.KindSeriesCSV)
	f("/v2/clients/c1/analytics/apps/a1/activity?granularity=weekly", workload.KindActivity)
	f("/v2/clients/c1/other", workload.KindOther)
}
