package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// rowError is a bad row: FILE:LINE: reason.
type rowError struct {
	file string
	line int
	msg  string
}

func (e *rowError) Error() string { return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg) }

// readCSVFile opens dir/name, checks its header against want and calls row for
// every record with its line number. A missing file is reported as
// os.ErrNotExist so callers can treat it as optional.
// readCSVFile reads name in dir, whose header must be want or want without
// its last optional columns; rows passed to row always have len(want)
// cells, the missing ones empty.
func readCSVFile(dir, name string, want []string, optional int, row func(line int, rec []string) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return &rowError{name, 1, "cannot read header: " + err.Error()}
	}
	if len(header) < len(want)-optional || !slices.Equal(header, want[:min(len(header), len(want))]) {
		return &rowError{name, 1, fmt.Sprintf("header is %q, want %q", header, want)}
	}
	r.FieldsPerRecord = len(header)
	full := make([]string, len(want))
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &rowError{name, pe.Line, pe.Err.Error()}
			}
			return &rowError{name, line, err.Error()}
		}
		clear(full)
		copy(full, rec)
		if err := row(line, full); err != nil {
			return &rowError{name, line, err.Error()}
		}
	}
}

// cells parses the cells of one record, remembering the first failure so a
// row's parsing reads as a list of fields rather than a ladder of ifs.
type cells struct {
	rec    []string
	header []string
	err    error
}

func (c *cells) fail(i int, format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%s: "+format, append([]any{c.header[i]}, args...)...)
	}
}

func (c *cells) uuid(i int) uuid.UUID {
	u, err := parseUUID(c.rec[i])
	if err != nil {
		c.fail(i, "%q is not a UUID", c.rec[i])
	}
	return u
}

func (c *cells) text(i int) string {
	if c.rec[i] == "" {
		c.fail(i, "is empty")
	}
	return c.rec[i]
}

func (c *cells) optText(i int) *string {
	if c.rec[i] == "" {
		return nil
	}
	s := c.rec[i]
	return &s
}

func (c *cells) boolean(i int) uint8 {
	switch c.rec[i] {
	case "true":
		return 1
	case "false":
		return 0
	}
	c.fail(i, "%q is not true or false", c.rec[i])
	return 0
}

func (c *cells) optUint32(i int) *uint32 {
	if c.rec[i] == "" {
		return nil
	}
	v, err := strconv.ParseUint(c.rec[i], 10, 32)
	if err != nil {
		c.fail(i, "%q is not a whole number from 0 to 4294967295", c.rec[i])
		return nil
	}
	n := uint32(v)
	return &n
}

func (c *cells) oneOf(i int, allowed ...string) *string {
	if c.rec[i] == "" {
		return nil
	}
	if !slices.Contains(allowed, c.rec[i]) {
		c.fail(i, "%q is not one of %q", c.rec[i], allowed)
	}
	s := c.rec[i]
	return &s
}

func (c *cells) timezone(i int) string {
	if _, err := time.LoadLocation(c.rec[i]); err != nil || c.rec[i] == "" {
		c.fail(i, "%q is not an IANA time zone", c.rec[i])
	}
	return c.rec[i]
}

// parseUUID accepts only the canonical 36-character form, so that one id is
// never spelled two ways across files.
func parseUUID(s string) (uuid.UUID, error) {
	if len(s) != 36 {
		return uuid.UUID{}, errors.New("not a UUID")
	}
	return uuid.Parse(s)
}
