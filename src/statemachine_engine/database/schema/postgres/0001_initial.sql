-- statemachine-engine store, PostgreSQL dialect, version 1.
-- Tables live in the connection's current schema (the first of its search_path).
-- Times are Unix epoch seconds (double precision), as the SQLite dialect keeps them.
-- JSON columns are text, not jsonb: values round-trip exactly as written, and text
-- accepts what jsonb refuses (a \u0000 in an untrusted payload).

CREATE TABLE jobs (
    id             bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id         text    NOT NULL UNIQUE,
    job_type       text    NOT NULL,
    machine_type   text,
    status         text    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'completed', 'failed',
                                     'dead', 'cancelled')),
    priority       integer NOT NULL DEFAULT 0,
    data           text    NOT NULL DEFAULT '{}',
    result         text,
    error          text,
    attempts       integer NOT NULL DEFAULT 0,
    max_attempts   integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_after      double precision NOT NULL,
    lease_owner    text,
    lease_expires  double precision,
    source_job_id  text,
    created_at     double precision NOT NULL,
    started_at     double precision,
    completed_at   double precision,
    updated_at     double precision NOT NULL
);
-- Claims of one type, and of any type, walk these in claim order.
CREATE INDEX jobs_ready ON jobs (job_type, priority DESC, run_after, id)
    WHERE status IN ('pending', 'failed');
CREATE INDEX jobs_ready_any ON jobs (priority DESC, run_after, id)
    WHERE status IN ('pending', 'failed');
-- Expired leases, and the leases a worker renews.
CREATE INDEX jobs_leased ON jobs (lease_expires) WHERE status = 'processing';

CREATE TABLE job_history (
    id          bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      text    NOT NULL,
    status      text    NOT NULL,
    attempt     integer NOT NULL,
    worker      text,
    message     text,
    at          double precision NOT NULL
);
CREATE INDEX job_history_job ON job_history (job_id, id);

CREATE TABLE machine_events (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_machine  text    NOT NULL,
    source_machine  text,
    event_type      text    NOT NULL,
    payload         text    NOT NULL DEFAULT '{}',
    job_id          text,
    status          text    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'processed', 'dropped')),
    created_at      double precision NOT NULL,
    processed_at    double precision
);
CREATE INDEX machine_events_inbox ON machine_events (target_machine, id)
    WHERE status = 'pending';

CREATE TABLE machine_state (
    machine_name    text    PRIMARY KEY,
    config_name     text,
    config_path     text,
    current_state   text    NOT NULL,
    context         text    NOT NULL DEFAULT '{}',
    actions_done    boolean NOT NULL DEFAULT false,
    timers          text    NOT NULL DEFAULT '[]',
    pid             integer,
    host            text,
    status          text    NOT NULL DEFAULT 'running'
                    CHECK (status IN ('running', 'finished', 'stopped')),
    started_at      double precision NOT NULL,
    heartbeat_at    double precision NOT NULL,
    updated_at      double precision NOT NULL
);

CREATE TABLE state_history (
    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_name  text    NOT NULL,
    from_state    text,
    to_state      text    NOT NULL,
    event         text    NOT NULL,
    job_id        text,
    at            double precision NOT NULL
);
CREATE INDEX state_history_machine ON state_history (machine_name, id);

CREATE TABLE realtime_events (
    id            bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    machine_name  text    NOT NULL,
    event_type    text    NOT NULL,
    payload       text    NOT NULL DEFAULT '{}',
    created_at    double precision NOT NULL
);
CREATE INDEX realtime_events_machine ON realtime_events (machine_name, id);

-- Wake-ups. Every change is announced on the one channel `statemachine`, in the same
-- transaction as the change, whoever makes it (the store, a script, psql). The payload
-- is "<schema><TAB><topic>", so that systems in separate schemas of one database do
-- not wake each other. Topics: jobs, machine:<name>, realtime.

CREATE FUNCTION statemachine_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\tjobs');
    RETURN NULL;
END
$$;
-- A job became claimable or finished (claims and lease renewals wake nobody).
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status <> 'processing')
    EXECUTE FUNCTION statemachine_notify_jobs();

CREATE FUNCTION statemachine_notify_inbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\tmachine:' || NEW.target_machine);
    RETURN NULL;
END
$$;
CREATE TRIGGER machine_events_notify AFTER INSERT ON machine_events
    FOR EACH ROW EXECUTE FUNCTION statemachine_notify_inbox();

CREATE FUNCTION statemachine_notify_realtime() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\trealtime');
    RETURN NULL;
END
$$;
CREATE TRIGGER realtime_events_notify AFTER INSERT ON realtime_events
    FOR EACH STATEMENT EXECUTE FUNCTION statemachine_notify_realtime();
