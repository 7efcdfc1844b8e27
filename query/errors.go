// Package query turns validated request parameters into parameterised
// ClickHouse SQL and typed rows: parameter parsing, one builder and one
// column table per endpoint, cursors, the metric maths and the CSV cells.
package query

import "github.com/usagelens/usagelens/errs"

// ParamError is invalid client input: an errs.Error of kind
// InvalidParameter whose message names the parameter and the value.
type ParamError = errs.Error

func paramErr(param string, value any, msg string) *ParamError {
	return errs.Param(param, value, msg)
}

// rangeErr is a period that does not fit: both of its ends named.
func rangeErr(msg string, details map[string]any) *ParamError {
	return &errs.Error{Kind: errs.InvalidParameter, Message: msg, Details: details}
}
