-- statemachine-engine store, SQLite dialect, version 13.
-- For the job explorer and the failures view (docs/ui.md): the jobs a worker handled
-- (its history rows), the failed and dead jobs by when they last changed, and the error
-- events by time (of every machine, or of one during a job's attempt). The last two
-- are partial: claims and completions do not pay for them, and error events are few.

CREATE INDEX job_history_worker ON job_history (worker, job_id) WHERE worker IS NOT NULL;
CREATE INDEX jobs_failing ON jobs (updated_at) WHERE status IN ('failed', 'dead');
CREATE INDEX realtime_events_errors ON realtime_events (created_at)
    WHERE event_type = 'error';
