// requests.txt is the request log that usagelens bench replays against the seeded data.

package dataset

import (
	"bufio"
	"fmt"
	"slices"

	"github.com/usagelens/usagelens/workload"
)

func writeSeedRequests(dir string, clients []*seedClient, seed uint64) error {
	o, err := createSeedFile(dir, RequestsFile)
	if err != nil {
		return err
	}
	data := workload.Period{Start: seedPeriodStart, End: seedPeriodEnd}
	bw := bufio.NewWriter(o.f)
	for _, line := range workload.SeedLog(newRNG(seed, streamRequests), data, requestClients(clients)) {
		bw.WriteString(line)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", RequestsFile, dir, err)
	}
	return o.commit()
}

// requestClients describes the clients as the request log needs them.
func requestClients(clients []*seedClient) []workload.SeedClient {
	out := make([]workload.SeedClient, len(clients))
	for i, c := range clients {
		apps := make([]workload.SeedApp, len(c.apps))
		for j, a := range c.apps {
			apps[j] = workload.SeedApp{Name: a.cat.name, VendorID: a.cat.vendor.id}
			for _, k := range a.cat.cats {
				apps[j].CategoryIDs = append(apps[j].CategoryIDs, k.id)
			}
		}
		out[i] = workload.SeedClient{ID: c.id, Apps: apps, DepartmentIDs: staffedDepartments(c)}
	}
	return out
}

// staffedDepartments returns the departments that have members, in index
// order: the dataset knows a department only through user_departments.csv.
func staffedDepartments(c *seedClient) []string {
	var staffed []int
	for _, u := range c.users {
		for _, d := range u.depts {
			if !slices.Contains(staffed, d) {
				staffed = append(staffed, d)
			}
		}
	}
	slices.Sort(staffed)
	ids := make([]string, len(staffed))
	for i, d := range staffed {
		ids[i] = c.depts[d]
	}
	return ids
}
