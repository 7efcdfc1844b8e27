-- Export jobs: each change of a job is a new version of its row, and the
-- latest version wins (read with argMax, so a filter on status never sees
-- an older version). Times are Unix milliseconds, 0 for not yet; text
-- fields are '' for none. version orders states before times (see package
-- jobs), so a cancel or a finish is never undone by a late progress write.
CREATE TABLE IF NOT EXISTS export_jobs (
    client_id UUID,
    job_id UUID,
    version UInt64,
    type String,
    params String,
    compression String,
    status String,
    instance String,
    created_ms UInt64,
    started_ms UInt64,
    finished_ms UInt64,
    updated_ms UInt64,
    expires_ms UInt64,
    records_written UInt64,
    record_count UInt64,
    bytes UInt64,
    sha256 String,
    first_date String,
    last_date String,
    file_name String,
    file_key String,
    error_code String,
    error_message String
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client_id, job_id);
