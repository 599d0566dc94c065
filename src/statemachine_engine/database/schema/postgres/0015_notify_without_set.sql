-- statemachine-engine store, PostgreSQL dialect, version 15.
-- The wake-up triggers of version 2 read statemachine_watchers of their own schema
-- through a `SET search_path` on the function. A function with a SET clause is called
-- through fmgr_security_definer, which saves, sets and restores the setting at every
-- call: the trigger took 10.5 % of the server's time for a worker's statements, 7.6 %
-- without it (about 6 us a job; docs/performance.md, "On PostgreSQL"). The table is now named
-- with its schema in the function's text instead, written once here: the same table
-- whatever the search_path of the session that writes (a script, psql), without the
-- setting changed at every call.

DO $migration$
BEGIN
    EXECUTE format($sql$
CREATE OR REPLACE FUNCTION statemachine_notify_jobs() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(TG_TABLE_SCHEMA || ':watchers', 0));
    IF EXISTS (SELECT 1 FROM %1$I.statemachine_watchers WHERE topic = 'jobs') THEN
        PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\tjobs');
    END IF;
    RETURN NULL;
END
$body$$sql$, current_schema());
    EXECUTE format($sql$
CREATE OR REPLACE FUNCTION statemachine_notify_realtime() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(TG_TABLE_SCHEMA || ':watchers', 0));
    IF EXISTS (SELECT 1 FROM %1$I.statemachine_watchers WHERE topic = 'realtime') THEN
        PERFORM pg_notify('statemachine', TG_TABLE_SCHEMA || E'\trealtime');
    END IF;
    RETURN NULL;
END
$body$$sql$, current_schema());
END
$migration$;

ALTER FUNCTION statemachine_notify_jobs() RESET ALL;
ALTER FUNCTION statemachine_notify_realtime() RESET ALL;
