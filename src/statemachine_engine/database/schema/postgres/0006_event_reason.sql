-- statemachine-engine store, PostgreSQL dialect, version 6.
-- Why an event was dropped (no transition took it, its payload cannot be decoded...):
-- shown by list-events and the monitoring API. NULL for events handled, or dropped
-- before this version.

ALTER TABLE machine_events ADD COLUMN reason text;
