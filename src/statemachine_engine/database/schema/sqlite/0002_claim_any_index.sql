-- statemachine-engine store, SQLite dialect, version 2.
-- Claims of any job type walk this index in claim order instead of sorting every
-- waiting job (jobs_ready serves claims of one type).

CREATE INDEX jobs_ready_any ON jobs (priority DESC, run_after, id)
    WHERE status IN ('pending', 'failed');
