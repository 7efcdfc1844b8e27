package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/usagelens/usagelens/workload"
)

// readClients describes every client with usage, the busiest first.
func readClients(ctx context.Context, conn driver.Conn) ([]workload.ClientShape, error) {
	rows, err := conn.Query(ctx, `SELECT toString(client_id), count() AS n, min(activity_date), max(activity_date), uniqExact(user_id), uniqExact(application_id)
FROM app_usage_reports GROUP BY client_id ORDER BY n DESC, client_id`)
	if err != nil {
		return nil, fmt.Errorf("cannot list clients with usage: %w", err)
	}
	var cs []workload.ClientShape
	for rows.Next() {
		var c workload.ClientShape
		if err := rows.Scan(&c.ID, &c.Rows, &c.First, &c.Last, &c.Users, &c.Apps); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot scan client row: %w", err)
		}
		cs = append(cs, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot list clients with usage: %w", err)
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("app_usage_reports holds no rows: load a dataset first")
	}
	for i := range cs {
		if err := describeClient(ctx, conn, &cs[i]); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

// describeClient finds ids the filters can use (the vendor and a category of
// the client's most used apps, a word of an app name, the largest
// departments) and the periods of the mix, ending with the data's last month.
func describeClient(ctx context.Context, conn driver.Conn, c *workload.ClientShape) error {
	rows, err := conn.Query(ctx, `SELECT toString(app_id), toString(vendor_id), arrayMap(x -> toString(x), category_ids), canonical_name
FROM apps FINAL
WHERE client_id = toUUID(?) AND app_id IN (
    SELECT application_id FROM app_usage_reports WHERE client_id = toUUID(?) GROUP BY application_id ORDER BY count() DESC LIMIT 5)
ORDER BY app_id`, c.ID, c.ID)
	if err != nil {
		return fmt.Errorf("cannot read apps of client %s: %w", c.ID, err)
	}
	for rows.Next() {
		var app, vendor, name string
		var cats []string
		if err := rows.Scan(&app, &vendor, &cats, &name); err != nil {
			rows.Close()
			return fmt.Errorf("cannot scan app of client %s: %w", c.ID, err)
		}
		if c.VendorID == "" {
			c.AppID, c.VendorID = app, vendor
		}
		if c.CategoryID == "" && len(cats) > 0 {
			c.CategoryID = cats[0]
		}
		if w := strings.Fields(name); c.Term == "" && len(w) > 0 {
			c.Term = strings.ToLower(w[0])
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read apps of client %s: %w", c.ID, err)
	}
	drows, err := conn.Query(ctx, `SELECT toString(department_id) FROM user_departments FINAL WHERE client_id = toUUID(?)
GROUP BY department_id ORDER BY count() DESC, department_id LIMIT 2`, c.ID)
	if err != nil {
		return fmt.Errorf("cannot read departments of client %s: %w", c.ID, err)
	}
	for drows.Next() {
		var d string
		if err := drows.Scan(&d); err != nil {
			drows.Close()
			return err
		}
		c.DepartmentIDs = append(c.DepartmentIDs, d)
	}
	drows.Close()
	if err := drows.Err(); err != nil {
		return fmt.Errorf("cannot read departments of client %s: %w", c.ID, err)
	}
	month := time.Date(c.Last.Year(), c.Last.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := month.AddDate(0, 1, -1)
	c.LastMonth = workload.Period{Start: month, End: end}
	c.Prev = workload.Period{Start: month.AddDate(0, -1, 0), End: month.AddDate(0, 0, -1)}
	c.Quarter = workload.Period{Start: month.AddDate(0, -2, 0), End: end}
	c.TwelveMo = workload.Period{Start: month.AddDate(0, -11, 0), End: end}
	return nil
}
