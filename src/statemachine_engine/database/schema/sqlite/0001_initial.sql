-- statemachine-engine store, SQLite dialect, version 1.
-- Times are Unix epoch seconds (REAL). JSON columns hold UTF-8 JSON text.

CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    job_id         TEXT    NOT NULL UNIQUE,
    job_type       TEXT    NOT NULL,
    machine_type   TEXT,
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'completed', 'failed',
                                     'dead', 'cancelled')),
    priority       INTEGER NOT NULL DEFAULT 0,
    data           TEXT    NOT NULL DEFAULT '{}',
    result         TEXT,
    error          TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    max_attempts   INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after      REAL    NOT NULL,
    lease_owner    TEXT,
    lease_expires  REAL,
    source_job_id  TEXT,
    created_at     REAL    NOT NULL,
    started_at     REAL,
    completed_at   REAL,
    updated_at     REAL    NOT NULL
);
-- Claims: the most urgent ready job of a type.
CREATE INDEX jobs_ready ON jobs (job_type, priority DESC, run_after, id)
    WHERE status IN ('pending', 'failed');
-- Expired leases.
CREATE INDEX jobs_leased ON jobs (lease_expires) WHERE status = 'processing';
-- No index on status alone: every claim and completion would pay for it, and listings
-- read newest first (by id) until they have enough rows.

-- Every change of a job's status, for `statemachine-db history`.
CREATE TABLE job_history (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    worker      TEXT,
    message     TEXT,
    at          REAL    NOT NULL
);
CREATE INDEX job_history_job ON job_history (job_id, id);

-- Each machine's inbox: events wait here until the machine consumes them.
CREATE TABLE machine_events (
    id              INTEGER PRIMARY KEY,
    target_machine  TEXT    NOT NULL,
    source_machine  TEXT,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL DEFAULT '{}',
    job_id          TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processed', 'dropped')),
    created_at      REAL    NOT NULL,
    processed_at    REAL
);
CREATE INDEX machine_events_inbox ON machine_events (target_machine, id)
    WHERE status = 'pending';

-- The durable state of each machine instance.
CREATE TABLE machine_state (
    machine_name    TEXT    PRIMARY KEY,
    config_name     TEXT,
    config_path     TEXT,
    current_state   TEXT    NOT NULL,
    context         TEXT    NOT NULL DEFAULT '{}',
    -- 1 once the current state's entry actions have finished.
    actions_done    INTEGER NOT NULL DEFAULT 0,
    -- JSON [[event, deadline_epoch], ...]: armed timeout timers.
    timers          TEXT    NOT NULL DEFAULT '[]',
    pid             INTEGER,
    host            TEXT,
    status          TEXT    NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'finished', 'stopped')),
    started_at      REAL    NOT NULL,
    heartbeat_at    REAL    NOT NULL,
    updated_at      REAL    NOT NULL
);

-- Every transition, for `statemachine-db transition-history`.
CREATE TABLE state_history (
    id            INTEGER PRIMARY KEY,
    machine_name  TEXT    NOT NULL,
    from_state    TEXT,
    to_state      TEXT    NOT NULL,
    event         TEXT    NOT NULL,
    job_id        TEXT,
    at            REAL    NOT NULL
);
CREATE INDEX state_history_machine ON state_history (machine_name, id);

-- Realtime events (state changes, activity log...), kept so monitors can replay.
CREATE TABLE realtime_events (
    id            INTEGER PRIMARY KEY,
    machine_name  TEXT    NOT NULL,
    event_type    TEXT    NOT NULL,
    payload       TEXT    NOT NULL DEFAULT '{}',
    created_at    REAL    NOT NULL
);
CREATE INDEX realtime_events_machine ON realtime_events (machine_name, id);
