-- statemachine-engine store, SQLite dialect, version 8.
-- Delayed events: an event with a due time (epoch seconds, the sender's clock) waits in
-- its inbox until then (NULL: deliverable at once). The partial index finds an inbox's
-- delayed events and the earliest due time without touching ordinary events.

ALTER TABLE machine_events ADD COLUMN due_at REAL;
CREATE INDEX machine_events_due ON machine_events (target_machine, due_at)
    WHERE status = 'pending' AND due_at IS NOT NULL;
