package exports

import (
	"net/url"
	"slices"
	"strings"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
)

// Format is how an export's rows are encoded.
type Format struct {
	// XLSX writes a workbook of typed cells; else CSV.
	XLSX bool
	// BOM starts a CSV with the UTF-8 byte order mark, for spreadsheets
	// that open a double-clicked CSV as Windows-1252 without it.
	BOM bool
}

// Ext is the file name's extension.
func (f Format) Ext() string {
	if f.XLSX {
		return ".xlsx"
	}
	return ".csv"
}

// ContentType is the file's media type.
func (f Format) ContentType() string {
	if f.XLSX {
		return api.XLSXType
	}
	return "text/csv; charset=utf-8"
}

// ContentTypeOf is the media type of a file by its name.
func ContentTypeOf(name string) string {
	switch {
	case strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".xlsx"):
		return api.XLSXType
	}
	return "text/csv; charset=utf-8"
}

// WantsFile says whether a request of the usage series asks for a file
// rather than JSON pages: format=csv or xlsx, or an Accept of XLSX.
func WantsFile(v url.Values, accept string) bool {
	return slices.Contains(api.FileFormats, v.Get(api.ParamFormat)) || (v.Get(api.ParamFormat) == "" && acceptsXLSX(accept))
}

// acceptsXLSX says whether an Accept header names the XLSX type with a
// quality above zero.
func acceptsXLSX(accept string) bool {
	for _, r := range strings.Split(accept, ",") {
		media, params, _ := strings.Cut(r, ";")
		if strings.TrimSpace(media) != api.XLSXType {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, _ := strings.Cut(strings.TrimSpace(p), "="); k == "q" && strings.Trim(v, "0.") == "" {
				return false // q=0: not acceptable
			}
		}
		return true
	}
	return false
}

// Parse validates an export's parameters: its own, as its route takes
// them, and format (csv, the default, or xlsx; an Accept of XLSX chooses
// it too) and bom (true or false, CSV only).
func Parse(t Type, clientID string, v url.Values, pseudonymKey []byte, accept string) (Request, Format, error) {
	var f Format
	format := v.Get(api.ParamFormat)
	switch {
	case len(v[api.ParamFormat]) > 1:
		return nil, f, formatErr(api.ParamFormat, strings.Join(v[api.ParamFormat], ","), "format is given more than once")
	case format == "" && acceptsXLSX(accept), format == api.FormatXLSX:
		f.XLSX = true
	case format != "" && format != api.FormatCSV:
		return nil, f, formatErr(api.ParamFormat, format, "format must be csv or xlsx")
	}
	if vals, ok := v[api.ParamBOM]; ok {
		switch {
		case len(vals) != 1 || (vals[0] != "true" && vals[0] != "false"):
			return nil, f, formatErr(api.ParamBOM, strings.Join(vals, ","), "bom must be true or false")
		case vals[0] == "true" && f.XLSX:
			return nil, f, formatErr(api.ParamBOM, vals[0], "bom is for CSV: an XLSX workbook needs none")
		}
		f.BOM = vals[0] == "true"
	}
	rest := url.Values{}
	for k, vals := range v {
		if k != api.ParamFormat && k != api.ParamBOM {
			rest[k] = vals
		}
	}
	req, err := t.Parse(clientID, rest, pseudonymKey)
	return req, f, err
}

func formatErr(name, value, msg string) error {
	return &errs.Error{Kind: errs.InvalidParameter, Message: msg, Details: map[string]any{name: value}}
}
