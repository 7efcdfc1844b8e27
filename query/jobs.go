package query

import (
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
)

// JobRecord is one version of an export job's row.
type JobRecord struct {
	ClientID, ID                                   uuid.UUID
	Version                                        uint64
	Type, Params, Compression, Status, Instance    string
	CreatedMS, StartedMS, FinishedMS, UpdatedMS    uint64
	ExpiresMS, RecordsWritten, RecordCount, Bytes  uint64
	SHA256, FirstDate, LastDate, FileName, FileKey string
	ErrorCode, ErrorMessage                        string
}

// jobColumns is export_jobs' column table: the insert and every read use
// it, in this order.
var jobColumns = []struct {
	name  string
	field func(*JobRecord) any
}{
	{"client_id", func(j *JobRecord) any { return &j.ClientID }},
	{"job_id", func(j *JobRecord) any { return &j.ID }},
	{"version", func(j *JobRecord) any { return &j.Version }},
	{"type", func(j *JobRecord) any { return &j.Type }},
	{"params", func(j *JobRecord) any { return &j.Params }},
	{"compression", func(j *JobRecord) any { return &j.Compression }},
	{"status", func(j *JobRecord) any { return &j.Status }},
	{"instance", func(j *JobRecord) any { return &j.Instance }},
	{"created_ms", func(j *JobRecord) any { return &j.CreatedMS }},
	{"started_ms", func(j *JobRecord) any { return &j.StartedMS }},
	{"finished_ms", func(j *JobRecord) any { return &j.FinishedMS }},
	{"updated_ms", func(j *JobRecord) any { return &j.UpdatedMS }},
	{"expires_ms", func(j *JobRecord) any { return &j.ExpiresMS }},
	{"records_written", func(j *JobRecord) any { return &j.RecordsWritten }},
	{"record_count", func(j *JobRecord) any { return &j.RecordCount }},
	{"bytes", func(j *JobRecord) any { return &j.Bytes }},
	{"sha256", func(j *JobRecord) any { return &j.SHA256 }},
	{"first_date", func(j *JobRecord) any { return &j.FirstDate }},
	{"last_date", func(j *JobRecord) any { return &j.LastDate }},
	{"file_name", func(j *JobRecord) any { return &j.FileName }},
	{"file_key", func(j *JobRecord) any { return &j.FileKey }},
	{"error_code", func(j *JobRecord) any { return &j.ErrorCode }},
	{"error_message", func(j *JobRecord) any { return &j.ErrorMessage }},
}

// Dest is what a read's rows.Scan fills.
func (j *JobRecord) Dest() []any {
	out := make([]any, len(jobColumns))
	for i, c := range jobColumns {
		out[i] = c.field(j)
	}
	return out
}

// Values are the record's columns for the insert, in its order.
func (j *JobRecord) Values() []any {
	out := j.Dest()
	for i, p := range out {
		switch v := p.(type) {
		case *uuid.UUID:
			out[i] = *v
		case *uint64:
			out[i] = *v
		case *string:
			out[i] = *v
		}
	}
	return out
}

// JobInsertSQL is the batch insert of job versions.
func JobInsertSQL() string {
	names := make([]string, len(jobColumns))
	for i, c := range jobColumns {
		names[i] = c.name
	}
	return "INSERT INTO export_jobs (" + strings.Join(names, ", ") + ")"
}

// jobSelect reads each job's latest version: argMax by version, so a
// condition on a changing column (having) sees only the latest.
func jobSelect(where, having, order string, args []any) Statement {
	cols := []string{"client_id", "job_id"}
	for _, c := range jobColumns[2:] {
		if c.name == "version" {
			cols = append(cols, "max(version)")
			continue
		}
		cols = append(cols, "argMax("+c.name+", version)")
	}
	sql := "SELECT " + strings.Join(cols, ", ") + " FROM export_jobs"
	if where != "" {
		sql += " WHERE " + where
	}
	sql += " GROUP BY client_id, job_id"
	if having != "" {
		sql += " HAVING " + having
	}
	if order != "" {
		sql += " " + order
	}
	return Statement{SQL: sql, Args: args}
}

// JobSQL reads one job of a client.
func JobSQL(clientID, jobID string) Statement {
	return jobSelect("client_id = toUUID(@client) AND job_id = toUUID(@job)", "", "",
		[]any{clickhouse.Named("client", clientID), clickhouse.Named("job", jobID)})
}

// JobsFingerprint marks the cursors of the job list.
const JobsFingerprint = "exports"

// JobsSQL reads a page of a client's jobs, newest first, after the job
// the cursor names; one row more than limit says whether a page follows.
func JobsSQL(clientID string, after *Cursor, limit int) Statement {
	args := []any{clickhouse.Named("client", clientID)}
	having := ""
	if after != nil {
		ms, _ := strconv.ParseUint(after.Key, 10, 64)
		having = "argMax(created_ms, version) < @after_ms OR (argMax(created_ms, version) = @after_ms AND toString(job_id) < @after_id)"
		args = append(args, clickhouse.Named("after_ms", ms), clickhouse.Named("after_id", after.ID))
	}
	return jobSelect("client_id = toUUID(@client)", having,
		"ORDER BY argMax(created_ms, version) DESC, toString(job_id) DESC LIMIT "+strconv.Itoa(limit+1), args)
}

// JobsInSQL reads every client's jobs whose status is one of statuses.
func JobsInSQL(statuses []string) Statement {
	return jobSelect("", "has(@statuses, argMax(status, version))", "ORDER BY argMax(created_ms, version), toString(job_id)",
		[]any{clickhouse.Named("statuses", statuses)})
}

// KillJobSQL cancels a job's queries wherever they run: its query ids
// hold "-job-<id>-" (the job's id is its queries' request id).
func KillJobSQL(jobID string) Statement {
	return Statement{SQL: "KILL QUERY WHERE query_id LIKE @pattern ASYNC", Args: []any{clickhouse.Named("pattern", "%-job-"+jobID+"-%")}}
}
