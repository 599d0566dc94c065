-- statemachine-engine store, PostgreSQL dialect, version 9.
-- For /metrics (docs/observability.md): each claim's history row keeps when its job
-- became due (the later of created_at and run_after), so the wait from due to claim
-- stays known after a retry moves run_after (NULL: a row that is not a claim, or a claim
-- made before this version). The partial index counts each inbox's dropped events
-- without reading the events kept.

ALTER TABLE job_history ADD COLUMN ready_at double precision;
CREATE INDEX machine_events_dropped ON machine_events (target_machine)
    WHERE status = 'dropped';
