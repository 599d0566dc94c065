-- statemachine-engine store, PostgreSQL dialect, version 12.
-- Tracing (docs/observability.md): a job and an event keep the W3C traceparent of the
-- span that added or sent them (NULL: none was active, or a row from before this
-- version), so the span of the job's claim or of the event's handling continues that
-- trace, in another process too.

ALTER TABLE jobs ADD COLUMN traceparent TEXT;
ALTER TABLE machine_events ADD COLUMN traceparent TEXT;
