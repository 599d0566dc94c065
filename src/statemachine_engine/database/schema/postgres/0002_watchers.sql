-- statemachine-engine store, PostgreSQL dialect, version 2: wake-ups only when awaited.
--
-- A NOTIFY costs every listening session of the database a transaction: the server
-- signals them all, whatever their channel. Every machine process listens (for its
-- inbox), so a NOTIFY per finished job made each job cost one transaction per machine
-- running, and throughput fell as workers were added. Now the topics `jobs` and
-- `realtime` are announced only while some process waits for them: a waiting process
-- registers its LISTEN session here (and removes it a little after its last wait).
-- Inbox wake-ups (machine:<name>) are always sent: every machine follows its inbox.
--
-- No wake-up is missed: a writer takes the shared lock below before it reads this
-- table, in a statement of its own, so the read sees every registration committed
-- before; a registration takes the lock exclusively, so it commits only after every
-- writer that read the table without it. The waiter checks the store after registering.

CREATE TABLE statemachine_watchers (
    topic  text    NOT NULL,  -- jobs | realtime
    pid    integer NOT NULL,  -- pg_backend_pid() of the waiting process's LISTEN session
    since  double precision NOT NULL,
    PRIMARY KEY (topic, pid)
);

CREATE OR REPLACE FUNCTION statemachine_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(TG_TABLE_SCHEMA || ':watchers', 0));
    IF EXISTS (SELECT 1 FROM statemachine_watchers WHERE topic = 'jobs') THEN
        PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\tjobs');
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION statemachine_notify_realtime() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(TG_TABLE_SCHEMA || ':watchers', 0));
    IF EXISTS (SELECT 1 FROM statemachine_watchers WHERE topic = 'realtime') THEN
        PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\trealtime');
    END IF;
    RETURN NULL;
END
$$;

-- The functions read statemachine_watchers of their own schema, whatever the search_path
-- of the session that writes (a script, psql).
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION statemachine_notify_jobs() SET search_path = %I',
                   current_schema());
    EXECUTE format('ALTER FUNCTION statemachine_notify_realtime() SET search_path = %I',
                   current_schema());
END
$$;
