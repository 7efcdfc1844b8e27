// Package query turns validated request parameters into parameterised
// ClickHouse SQL and typed rows: parameter parsing, one builder and one
// column table per endpoint, cursors, the metric maths and the CSV cells.
package query

import "github.com/usagelens/usagelens/errs"

// paramErr is invalid client input: the message names the parameter, the
// details hold the value given.
func paramErr(param string, value any, msg string) *errs.Error {
	return errs.Param(param, value, msg)
}

// rangeErr is a period that does not fit: both of its ends named.
func rangeErr(msg string, details map[string]any) *errs.Error {
	return &errs.Error{Kind: errs.InvalidParameter, Message: msg, Details: details}
}
