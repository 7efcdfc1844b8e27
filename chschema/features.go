package chschema

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/template"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Features are the newer-server-only schema options a server accepts.
// ClickHouse 18.16 (Debian's package, our CI) has none of them; current
// releases have all.
type Features struct {
	Major, Minor int
	// Modern: LowCardinality without a setting, and column CODECs.
	Modern bool
}

// Detect asks the server for its version.
func Detect(ctx context.Context, conn driver.Conn) (Features, error) {
	var v string
	if err := conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return Features{}, fmt.Errorf("cannot read server version: %w", err)
	}
	return ParseVersion(v)
}

// ParseVersion reads a version string such as "18.16.1" or "24.8.4.13".
func ParseVersion(v string) (Features, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return Features{}, fmt.Errorf("cannot parse server version %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Features{}, fmt.Errorf("cannot parse server version %q", v)
	}
	// 20.1 is a conservative floor: both options were stable well before it.
	return Features{Major: major, Minor: minor, Modern: major >= 20}, nil
}

// funcs are the template functions migrations use for optional options.
func (f Features) funcs() template.FuncMap {
	return template.FuncMap{
		"lc": func(t string) string {
			if f.Modern {
				return "LowCardinality(" + t + ")"
			}
			return t
		},
		"codec": func(spec string) string {
			if f.Modern {
				return "CODEC(" + spec + ")"
			}
			return ""
		},
	}
}
