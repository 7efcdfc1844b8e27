package store

import (
	"context"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/errs"
	"github.com/usagelens/usagelens/query"
)

// Activity answers App Activity: the app's utilization row (its App and
// totals) and its series; not found when the client has no such app.
func (s *Store) Activity(ctx context.Context, a *query.Activity, period api.Period, asOf *string) (*api.AppActivity, error) {
	rows, err := s.Utilization(ctx, a.Util)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, &errs.Error{Kind: errs.NotFound, Message: "app not found", Details: map[string]any{"app_id": a.Util.AppID}}
	}
	row := *rows.Row()
	if err := rows.Close(); err != nil {
		return nil, err
	}
	series, err := s.Series(ctx, a.Series)
	if err != nil {
		return nil, err
	}
	defer series.Close()
	var scan *query.SeriesScan
	if series.Next() {
		scan = series.scan
	}
	if err := series.Err(); err != nil {
		return nil, err
	}
	out := &api.AppActivity{App: row.App, Period: period, Granularity: a.Util.Granularity,
		Data: query.ActivityBins(a.Series, scan), Totals: query.ActivityTotals(&row), DataAsOf: asOf}
	return out, series.Close()
}
