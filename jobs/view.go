package jobs

import (
	"encoding/json"
	"time"

	"github.com/usagelens/usagelens/api"
	"github.com/usagelens/usagelens/query"
)

// timeFormat is RFC 3339 in UTC with milliseconds, the records' precision.
const timeFormat = "2006-01-02T15:04:05.000Z"

func stamp(v uint64) *string {
	if v == 0 {
		return nil
	}
	s := fromMS(v).Format(timeFormat)
	return &s
}

// view is the job as clients see it at now: a download link while its
// file is offered, the file's facts once it was written, the error once
// it failed.
func (m *Manager) view(r query.JobRecord, now time.Time) *api.ExportJob {
	j := &api.ExportJob{ID: r.ID.String(), Type: r.Type, Status: r.Status, Params: map[string]string{}, Compression: r.Compression,
		CreatedAt: *stamp(r.CreatedMS), StartedAt: stamp(r.StartedMS), FinishedAt: stamp(r.FinishedMS),
		Progress: api.ExportProgress{RecordsWritten: r.RecordsWritten}, FileName: r.FileName}
	_ = json.Unmarshal([]byte(r.Params), &j.Params)
	if r.Status == api.JobSucceeded && now.After(fromMS(r.ExpiresMS)) {
		j.Status = api.JobExpired // the sweep has not removed it yet
	}
	switch j.Status {
	case api.JobSucceeded, api.JobExpired:
		count, size, sum := r.RecordCount, r.Bytes, r.SHA256
		j.RecordCount, j.Bytes, j.SHA256, j.ExpiresAt = &count, &size, &sum, stamp(r.ExpiresMS)
		if r.FirstDate != "" {
			j.DateRange = &api.DateRange{StartDate: r.FirstDate, EndDate: r.LastDate}
		}
		if j.Status == api.JobSucceeded {
			u := "/v2/exports/download/" + m.sign(r.ClientID, r.ID, fromMS(r.ExpiresMS))
			j.DownloadURL = &u
		}
	case api.JobFailed:
		j.Error = &api.ExportError{Code: r.ErrorCode, Message: r.ErrorMessage}
	}
	return j
}
