package dataset

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func writeSeedCatalog(dir string, clients []*seedClient, st *SeedStats) error {
	err := writeSeedCSV(dir, ClientsFile, ClientsHeader, func(emit func(...string)) {
		for _, c := range clients {
			emit(c.id, c.name, c.tz, PrivacyIdentified)
		}
	})
	if err != nil {
		return err
	}
	err = writeSeedCSV(dir, AppsFile, AppsHeader, func(emit func(...string)) {
		for _, c := range clients {
			for _, a := range c.apps {
				emit(seedAppRecord(c, &a)...)
			}
		}
	})
	if err != nil {
		return err
	}
	err = writeSeedCSV(dir, UsersFile, UsersHeader, func(emit func(...string)) {
		for _, c := range clients {
			for i, u := range c.users {
				if name, email, ok := seedPerson(i); ok {
					emit(c.id, u.id, name, email)
				}
			}
		}
	})
	if err != nil {
		return err
	}
	return writeSeedCSV(dir, DepartmentsFile, DepartmentsHeader, func(emit func(...string)) {
		for _, c := range clients {
			for _, u := range c.users {
				for _, d := range u.depts {
					emit(c.id, u.id, c.depts[d])
					st.DepartmentRows++
				}
			}
		}
	})
}

// Names of the seeded people: realistic and awkward ones (accents, other
// scripts, a quote, a comma, a leading =), combined by index so the users
// file needs no draw from the generator and leaves the rest of the data as
// it was.
var (
	seedFirstNames = []string{"Zoë", "=Chen", "O'Brien", "Søren", "Ana María", "Łukasz", "Ngozi", "Hiroshi", "José"}
	seedLastNames  = []string{"Müller", "Dupont, Jr.", "山田", `"Bud" Smith`, "Núñez", "Ødegaard", "Wiśniewski", "Okafor", "Çelik", "Ivanova"}
)

// seedPerson is the name and email of a client's i-th user; every 7th
// user has no users.csv row (name and email null). The two lists' lengths
// are coprime, so the names repeat only every 90 users.
func seedPerson(i int) (name, email string, ok bool) {
	if i%7 == 6 {
		return "", "", false
	}
	first, last := seedFirstNames[i%len(seedFirstNames)], seedLastNames[i%len(seedLastNames)]
	return first + " " + last, fmt.Sprintf("user%d@example.com", i), true
}

func seedAppRecord(c *seedClient, a *seedApp) []string {
	ids := make([]string, len(a.cat.cats))
	names := make([]string, len(a.cat.cats))
	for i, k := range a.cat.cats {
		ids[i], names[i] = k.id, k.name
	}
	license := ""
	if a.license >= 0 {
		license = strconv.Itoa(a.license)
	}
	v := a.cat.vendor
	return []string{
		c.id, a.id, a.cat.id, a.cat.name, a.cat.logo, a.cat.kind, v.id, v.name, v.url,
		strings.Join(ids, ListSep), strings.Join(names, ListSep),
		strconv.FormatBool(a.favorite), strconv.FormatBool(a.approved), license, a.risk,
	}
}

// seedFile is one dataset file written under a temporary name.
type seedFile struct {
	f         *os.File
	dir, name string
}

func createSeedFile(dir, name string) (*seedFile, error) {
	f, err := os.Create(filepath.Join(dir, name+".partial"))
	if err != nil {
		return nil, fmt.Errorf("cannot create %s in %s: %w", name, dir, err)
	}
	return &seedFile{f: f, dir: dir, name: name}, nil
}

// commit closes the file and renames it into place.
func (o *seedFile) commit() error {
	if err := o.f.Close(); err != nil {
		_ = os.Remove(o.f.Name())
		return fmt.Errorf("cannot write %s in %s: %w", o.name, o.dir, err)
	}
	if err := os.Rename(o.f.Name(), filepath.Join(o.dir, o.name)); err != nil {
		return fmt.Errorf("cannot rename %s in %s: %w", o.name, o.dir, err)
	}
	return nil
}

// abort drops a file that failed part-way.
func (o *seedFile) abort() {
	_ = o.f.Close()
	_ = os.Remove(o.f.Name())
}

// writeSeedCSV writes header and the records fill emits to dir/name.
func writeSeedCSV(dir, name string, header []string, fill func(emit func(...string))) error {
	o, err := createSeedFile(dir, name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(o.f, 256<<10)
	cw := csv.NewWriter(bw) // reuses bw: it is already big enough
	// csv.Writer errors are sticky; cw.Error reports the first after Flush.
	_ = cw.Write(header)
	fill(func(rec ...string) { _ = cw.Write(rec) })
	cw.Flush()
	if err := cw.Error(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	if err := bw.Flush(); err != nil {
		o.abort()
		return fmt.Errorf("cannot write %s in %s: %w", name, dir, err)
	}
	return o.commit()
}
