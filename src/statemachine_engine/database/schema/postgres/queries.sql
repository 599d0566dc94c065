-- Named queries for the PostgreSQL store. Parameters are named: %(name)s; a list is bound
-- as an array, or as JSON text where a query reads it with jsonb_array_elements. Each runs
-- as one statement in autocommit mode, so it is one transaction and one round trip; steps
-- that must commit together (a change and its history row) are data-modifying WITH
-- clauses of that statement. A machine's waiting steps (save_steps) may join the next
-- write's statement or pipeline (_postgres_merge.py). Wake-ups are NOTIFYs sent by
-- triggers (0001_initial.sql, 0002_watchers.sql).

-- name: migration_lock
-- Held until the migrating transaction ends: processes starting together wait here,
-- then find the schema up to date.
SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || ':statemachine-migrate', 0));

-- name: version_table
CREATE TABLE IF NOT EXISTS statemachine_schema (
    version     integer NOT NULL,
    applied_at  double precision NOT NULL
);

-- name: schema_version
SELECT coalesce(max(version), 0) AS version,
       to_regclass('jobs') IS NOT NULL AS has_jobs
FROM statemachine_schema;

-- name: set_schema_version
INSERT INTO statemachine_schema (version, applied_at) VALUES (%(version)s, %(now)s);

-- name: insert_job
WITH job AS (
    INSERT INTO jobs (job_id, job_type, machine_type, status, priority, data, max_attempts,
                      run_after, source_job_id, traceparent, created_at, updated_at)
    VALUES (%(job_id)s, %(job_type)s, %(machine_type)s, 'pending', %(priority)s, %(data)s,
            %(max_attempts)s, %(run_after)s, %(source_job_id)s, %(traceparent)s, %(now)s,
            %(now)s)
    ON CONFLICT (job_id) DO NOTHING
    RETURNING *
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, message, at)
    SELECT job_id, 'pending', 0, 'added', %(now)s FROM job
)
SELECT * FROM job;

-- name: insert_job.committed
-- Probes (`<name>.committed`, run after a connection was lost with the statement sent,
-- with its parameters): what the statement wrote if it committed, in the shape it
-- returns; nothing if it did not. Each finds its rows by the time they were stamped
-- with, `now`, which no other statement shares.
SELECT * FROM jobs WHERE job_id = %(job_id)s AND created_at = %(now)s;

-- name: insert_jobs
-- Several jobs in one statement, in order: `jobs` is [[job_id, job_type, machine_type,
-- priority, data, max_attempts, run_after, source_job_id], ...] as text. An id already in
-- the queue, or earlier in the list, is skipped; the ids added are returned.
WITH job AS (
    INSERT INTO jobs (job_id, job_type, machine_type, status, priority, data, max_attempts,
                      run_after, source_job_id, created_at, updated_at)
    SELECT new.job_id, new.job_type, new.machine_type, 'pending', new.priority::integer,
           new.data, new.max_attempts::integer, new.run_after::double precision,
           new.source_job_id, %(now)s, %(now)s
    FROM unnest((%(jobs)s::text[])[:][1:1], (%(jobs)s::text[])[:][2:2],
                (%(jobs)s::text[])[:][3:3], (%(jobs)s::text[])[:][4:4],
                (%(jobs)s::text[])[:][5:5], (%(jobs)s::text[])[:][6:6],
                (%(jobs)s::text[])[:][7:7], (%(jobs)s::text[])[:][8:8])
             WITH ORDINALITY AS new(job_id, job_type, machine_type, priority, data,
                                    max_attempts, run_after, source_job_id, n)
    ORDER BY new.n
    ON CONFLICT (job_id) DO NOTHING
    RETURNING job_id
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, message, at)
    SELECT job_id, 'pending', 0, 'added', %(now)s FROM job
)
SELECT job_id FROM job;

-- name: insert_jobs.committed
SELECT job_id FROM jobs
WHERE job_id = ANY((%(jobs)s::text[])[:][1:1]) AND created_at = %(now)s
ORDER BY id;

-- fragment: expire_leases
-- Expired leases go back to the queue (or die) first. A job freed by this statement's
-- expiry is claimable from the next one on (one snapshot): `expired` says how many there
-- were. At most 100 a statement, oldest first, read in index order: jobs_leased keeps an
-- entry for every job claimed since the last VACUUM, and a bitmap scan (what the planner
-- takes without the order and limit) looks at each of them and at its table row at every
-- claim, where an index scan marks the dead entries it meets, and skips them from then
-- on (with 100,000 jobs completed since: 4.1 -> 1.2 ms a claim of 8; docs/performance.md).
expired AS (
    UPDATE jobs
    SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
        error = 'lease expired (worker ' || coalesce(lease_owner, '?') || ' stopped)',
        completed_at = CASE WHEN attempts >= max_attempts THEN %(now)s END,
        lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
    WHERE id IN (SELECT id FROM jobs
                 WHERE status = 'processing' AND lease_expires < %(now)s
                 ORDER BY lease_expires LIMIT 100
                 FOR UPDATE SKIP LOCKED)
    RETURNING job_id, status, attempts
), expired_logged AS (
    INSERT INTO job_history (job_id, status, attempt, message, at)
    SELECT job_id, status, attempts, 'lease expired', %(now)s FROM expired
)

-- fragment: claimed_set
SET status = 'processing', attempts = attempts + 1, lease_owner = %(worker)s,
    lease_expires = %(now)s + %(lease)s, started_at = %(now)s, updated_at = %(now)s

-- fragment: claimed_and_logged
claimed_logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, at, ready_at)
    SELECT job_id, 'processing', attempts, %(worker)s, %(now)s, GREATEST(created_at, run_after)
    FROM claimed
)
SELECT (SELECT count(*) FROM expired) AS expired, claimed.*
FROM (SELECT 1) AS one LEFT JOIN claimed ON true;

-- name: claim_job
-- The claim takes the most urgent ready job (of `job_type`, or of any type) that no other
-- claim holds (SKIP LOCKED: claims never wait on each other).
WITH {{expire_leases}}, claimed AS (
    UPDATE jobs
    {{claimed_set}}
    WHERE id = (
        {{ready_jobs}}
        ORDER BY priority DESC, run_after, id
        LIMIT 1
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
), {{claimed_and_logged}}

-- name: claim_jobs
-- The most urgent ready job, and up to `ahead` more for the worker to run next; a job on
-- its last attempt is never claimed ahead (a worker that dies before starting it must
-- not use that attempt up). One walk of the ready index takes the `ahead` + 1 most urgent
-- (the claim before walked it twice: for the first job, then for the others, past the
-- same dead entries of jobs claimed since the last VACUUM); a job on its last attempt
-- among them that is not the first stays in the queue, and the batch is that much
-- shorter.
WITH {{expire_leases}}, candidates AS (
    {{ready_jobs}}
    ORDER BY priority DESC, run_after, id
    LIMIT %(ahead)s + 1
    FOR UPDATE SKIP LOCKED
), first_job AS (
    SELECT id FROM jobs WHERE id IN (SELECT id FROM candidates)
    ORDER BY priority DESC, run_after, id
    LIMIT 1
), claimed AS (
    UPDATE jobs
    {{claimed_set}}
    WHERE id IN (SELECT id FROM candidates)
      AND (attempts + 1 < max_attempts OR id IN (SELECT id FROM first_job))
    RETURNING *
), {{claimed_and_logged}}

-- name: claim_job.committed
SELECT 0 AS expired, * FROM jobs
WHERE status = 'processing' AND lease_owner = %(worker)s AND started_at = %(now)s;

-- name: claim_jobs.committed
SELECT 0 AS expired, * FROM jobs
WHERE status = 'processing' AND lease_owner = %(worker)s AND started_at = %(now)s
ORDER BY priority DESC, run_after, id;

-- fragment: ready_jobs
SELECT id FROM jobs
WHERE status IN ('pending', 'failed') AND run_after <= %(now)s
  AND job_type = %(job_type)s  -- if: job_type
  AND (%(machine_type)s::text IS NULL OR machine_type IS NULL
       OR machine_type = %(machine_type)s::text)

-- name: renew_leases
-- Every lease of the worker, or only those of `job_ids` (a machine renews the jobs it
-- holds: one claimed by an earlier run of it that died is left to expire).
UPDATE jobs SET lease_expires = %(now)s + %(lease)s, updated_at = %(now)s
WHERE status = 'processing' AND lease_owner = %(worker)s
  AND job_id = ANY(%(job_ids)s::text[])  -- if: job_ids
;

-- name: claim_job_by_id
WITH {{expire_leases}}, claimed AS (
    UPDATE jobs
    {{claimed_set}}
    WHERE id = (
        SELECT id FROM jobs
        WHERE job_id = %(job_id)s AND status IN ('pending', 'failed')
          AND run_after <= %(now)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING *
), {{claimed_and_logged}}

-- name: complete_job
WITH done AS (
    UPDATE jobs
    SET status = 'completed', result = %(result)s, completed_at = %(now)s,
        updated_at = %(now)s, lease_owner = NULL, lease_expires = NULL
    WHERE job_id = %(job_id)s AND status = 'processing'
      AND (%(worker)s::text IS NULL OR lease_owner = %(worker)s::text)
      AND (%(attempt)s::integer IS NULL OR attempts = %(attempt)s::integer)
    RETURNING job_id, attempts
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, at)
    SELECT job_id, 'completed', attempts, %(worker)s, %(now)s FROM done
)
SELECT attempts FROM done;

-- name: complete_job.committed
SELECT attempt AS attempts FROM job_history
WHERE job_id = %(job_id)s AND status = 'completed' AND at = %(now)s;

-- name: complete_jobs
-- Several completions in one statement: `jobs` is [{"job_id", "worker", "attempt",
-- "result"}, ...] as JSON, each fenced as complete_job is (a null worker or attempt:
-- any; a job named twice: its first); the ids of the jobs completed are returned.
WITH batch AS (
    SELECT DISTINCT ON (item.c->>'job_id')
           item.c->>'job_id' AS job_id, item.c->>'worker' AS worker,
           (item.c->>'attempt')::integer AS attempt, item.c->>'result' AS result
    FROM jsonb_array_elements(%(jobs)s::jsonb) WITH ORDINALITY AS item(c, n)
    ORDER BY item.c->>'job_id', item.n
), done AS (
    UPDATE jobs
    SET status = 'completed', result = batch.result, completed_at = %(now)s,
        updated_at = %(now)s, lease_owner = NULL, lease_expires = NULL
    FROM batch
    WHERE jobs.job_id = batch.job_id AND jobs.status = 'processing'
      AND (batch.worker IS NULL OR jobs.lease_owner = batch.worker)
      AND (batch.attempt IS NULL OR jobs.attempts = batch.attempt)
    RETURNING jobs.job_id, jobs.attempts, batch.worker
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, at)
    SELECT job_id, 'completed', attempts, worker, %(now)s FROM done
)
SELECT job_id FROM done;

-- name: complete_jobs.committed
SELECT job_id FROM job_history
WHERE job_id IN (SELECT item.c->>'job_id' FROM jsonb_array_elements(%(jobs)s::jsonb) AS item(c))
  AND status = 'completed' AND at = %(now)s;

-- name: fail_job
WITH failed AS (
    UPDATE jobs
    SET status = CASE WHEN %(retry)s AND attempts < max_attempts THEN 'failed' ELSE 'dead' END,
        error = %(error)s,
        run_after = %(now)s + {{retry_backoff}},
        completed_at = CASE WHEN %(retry)s AND attempts < max_attempts THEN NULL
                            ELSE %(now)s END,
        lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
    WHERE job_id = %(job_id)s AND status IN ('processing', 'pending', 'failed')
      AND (%(worker)s::text IS NULL OR lease_owner = %(worker)s::text)
      AND (%(attempt)s::integer IS NULL OR attempts = %(attempt)s::integer)
    RETURNING *
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, message, at, output)
    SELECT job_id, status, attempts, %(worker)s, %(error)s, %(now)s, %(output)s FROM failed
)
SELECT * FROM failed;

-- name: fail_job.committed
SELECT * FROM jobs
WHERE job_id = %(job_id)s
  AND EXISTS (SELECT 1 FROM job_history
              WHERE job_id = %(job_id)s AND status IN ('failed', 'dead') AND at = %(now)s);

-- name: hand_over_job
-- A job its holder passed to a machine it started: the lease moves to that machine, for
-- the same attempt only (a stale hand-over cannot take a job claimed again since).
WITH moved AS (
    UPDATE jobs SET lease_owner = %(worker)s, lease_expires = %(now)s + %(lease)s,
                    updated_at = %(now)s
    WHERE job_id = %(job_id)s AND status = 'processing' AND attempts = %(attempt)s
    RETURNING *
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, message, at)
    SELECT job_id, 'processing', attempts, %(worker)s, 'handed over', %(now)s FROM moved
)
SELECT * FROM moved;

-- fragment: log_changed
-- Each job the query's `changed` step returned gets its history row (its new status, its
-- attempt, the query's message); the query returns the changed jobs' ids.
logged AS (
    INSERT INTO job_history (job_id, status, attempt, message, at)
    SELECT job_id, status, attempts, message, %(now)s FROM changed
)
SELECT job_id FROM changed

-- name: cancel_job
WITH changed AS (
    UPDATE jobs
    SET status = 'cancelled', completed_at = %(now)s, updated_at = %(now)s,
        lease_owner = NULL, lease_expires = NULL
    WHERE job_id = %(job_id)s AND status IN ('pending', 'processing', 'failed')
    RETURNING job_id, status, attempts, 'cancel_job' AS message
), {{log_changed}};

-- name: cancel_job.committed
-- (The history row the change wrote: the job itself may have moved on since.)
SELECT job_id FROM job_history
WHERE job_id = %(job_id)s AND message = 'cancel_job' AND at = %(now)s;

-- name: retry_job
WITH changed AS (
    UPDATE jobs
    SET status = 'pending', attempts = 0, run_after = %(now)s, error = NULL,
        completed_at = NULL, updated_at = %(now)s
    WHERE job_id = %(job_id)s AND status IN ('failed', 'dead', 'cancelled')
    RETURNING job_id, status, attempts, 'retry_job' AS message
), {{log_changed}};

-- name: retry_job.committed
SELECT job_id FROM job_history
WHERE job_id = %(job_id)s AND message = 'retry_job' AND at = %(now)s;

-- name: reset_processing
WITH changed AS (
    UPDATE jobs
    SET status = 'pending', lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
    WHERE status = 'processing'
      AND (%(before)s::double precision IS NULL OR started_at < %(before)s)
    RETURNING job_id, status, attempts, 'reset' AS message
), {{log_changed}};

-- name: reset_processing.committed
SELECT job_id FROM job_history WHERE message = 'reset' AND at = %(now)s;

-- name: remove_job
WITH gone AS (
    DELETE FROM jobs WHERE job_id = %(job_id)s RETURNING job_id
), history AS (
    DELETE FROM job_history WHERE job_id = %(job_id)s
)
SELECT job_id FROM gone;

-- name: purge_jobs
WITH gone AS (
    DELETE FROM jobs
    WHERE status = ANY(%(statuses)s::text[])
      AND (%(before)s::double precision IS NULL OR updated_at < %(before)s)
    RETURNING job_id
), history AS (
    DELETE FROM job_history WHERE job_id IN (SELECT job_id FROM gone)
)
SELECT job_id FROM gone;

-- name: list_jobs
-- Newest first (by id) until there are enough rows: no index on status alone.
SELECT * FROM jobs
WHERE true
  AND status = ANY(%(statuses)s::text[])  -- if: statuses
  AND job_type = %(job_type)s  -- if: job_type
  AND machine_type = %(machine_type)s  -- if: machine_type
ORDER BY id DESC
LIMIT %(limit)s  -- if: limit
;

-- name: next_job_ready_at
-- least() skips NULLs: a delayed or backing-off job's run_after, or a lease that will
-- expire if its worker is gone, whichever comes first.
SELECT least(
    (SELECT min(run_after) FROM jobs
     WHERE status IN ('pending', 'failed')
       AND (%(job_type)s::text IS NULL OR job_type = %(job_type)s::text)),
    (SELECT min(lease_expires) FROM jobs
     WHERE status = 'processing'
       AND (%(job_type)s::text IS NULL OR job_type = %(job_type)s::text))
) AS at;

-- name: insert_event
-- Events to one machine commit in id order (the lock is held until the commit), so a
-- machine reading its inbox after the last id it saw never skips one committed late.
INSERT INTO machine_events (target_machine, source_machine, event_type, payload, job_id,
                            due_at, traceparent, created_at)
SELECT %(target)s, %(source)s, %(event_type)s, %(payload)s, %(job_id)s,
       %(due_at)s::double precision, %(traceparent)s::text, %(now)s
FROM (SELECT pg_advisory_xact_lock(
          hashtextextended(current_schema() || ':inbox:' || %(target)s, 0))) AS inbox_order
RETURNING id;

-- name: insert_event.committed
SELECT id FROM machine_events
WHERE target_machine = %(target)s AND event_type = %(event_type)s AND created_at = %(now)s;

-- name: mark_events
-- Pending events, said as "neither processed nor dropped" (the only other statuses): a
-- condition the planner cannot match to the index of pending events, so the events are
-- found by id. With `status = 'pending'`, a prepared statement's generic plan over
-- statistics taken while few events waited read that whole index and compared every
-- pending event with every id: 110 ms to mark 500 of 20,000 waiting (save_steps'
-- `consumed` likewise; tests/postgres/test_plans.py).
UPDATE machine_events SET status = %(status)s, processed_at = %(now)s, reason = %(reason)s
WHERE id = ANY(%(ids)s::bigint[]) AND status NOT IN ('processed', 'dropped');

-- name: save_steps
-- Several steps of one machine, committed together (group commit): its state after the
-- last of them (when a step changed it), their history rows in order, and the events
-- they consumed or dropped. One transition comes as `from_state`, `to_state`, `event`,
-- `job_id`, `at`; several as `transitions`: [[from_state, to_state, event, job_id, at],
-- ...] as JSON; `consumed`: event ids; `dropped`: [[event id, reason], ...] as JSON (each
-- None when there are none, and its part of the statement left out: the server plans
-- only what runs).
WITH steps AS (SELECT 1)
, state AS (  -- if: state
    INSERT INTO machine_state (machine_name, current_state, context, timers, actions_done,  -- if: state
                               status, started_at, heartbeat_at, updated_at)  -- if: state
    VALUES (%(machine_name)s, %(state)s, %(context)s, %(timers)s, %(actions_done)s,  -- if: state
            'running', %(now)s, %(now)s, %(now)s)  -- if: state
    ON CONFLICT (machine_name) DO UPDATE  -- if: state
    SET current_state = excluded.current_state, context = excluded.context,  -- if: state
        timers = excluded.timers, actions_done = excluded.actions_done,  -- if: state
        heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at  -- if: state
)  -- if: state
, one AS (  -- if: to_state
    INSERT INTO state_history (machine_name, from_state, to_state, event, job_id, at)  -- if: to_state
    VALUES (%(machine_name)s, %(from_state)s, %(to_state)s, %(event)s, %(job_id)s, %(at)s)  -- if: to_state
)  -- if: to_state
, history AS (  -- if: transitions
    INSERT INTO state_history (machine_name, from_state, to_state, event, job_id, at)  -- if: transitions
    SELECT %(machine_name)s, step.s->>0, step.s->>1, step.s->>2, step.s->>3,  -- if: transitions
           (step.s->>4)::double precision  -- if: transitions
    FROM jsonb_array_elements(%(transitions)s::jsonb) WITH ORDINALITY AS step(s, n)  -- if: transitions
    ORDER BY step.n  -- if: transitions
)  -- if: transitions
-- (`consumed`: pending, said as in mark_events, so that they are found by id.)
, consumed AS (  -- if: consumed
    UPDATE machine_events SET status = 'processed', processed_at = %(now)s  -- if: consumed
    WHERE id = ANY(%(consumed)s::bigint[]) AND status NOT IN ('processed', 'dropped')  -- if: consumed
)  -- if: consumed
, dropped AS (  -- if: dropped
    UPDATE machine_events AS target  -- if: dropped
    SET status = 'dropped', processed_at = %(now)s, reason = drop_.s->>1  -- if: dropped
    FROM jsonb_array_elements(%(dropped)s::jsonb) AS drop_(s)  -- if: dropped
    WHERE target.id = (drop_.s->>0)::bigint AND target.status = 'pending'  -- if: dropped
)  -- if: dropped
SELECT 1;

-- name: save_steps.committed
-- (Steps that changed no state leave nothing to find but history rows, which a
-- rerun only repeats.)
SELECT 1 AS saved FROM machine_state WHERE machine_name = %(machine_name)s AND updated_at = %(now)s  -- if: state

-- name: load_machines
-- `load_machine` of several names at once (a host registering its machines together).
SELECT machine_state.*, beat.heartbeat_at AS process_heartbeat_at FROM machine_state
LEFT JOIN process_heartbeats AS beat
    ON beat.host = machine_state.host AND beat.pid = machine_state.pid
   AND machine_state.status = 'running'
WHERE machine_state.machine_name = ANY(%(names)s::text[]);

-- name: waiting_inboxes
-- Which of several machines have events waiting in their inboxes (a host whose machines
-- registered together: one read for all their first looks).
SELECT DISTINCT target_machine FROM machine_events
WHERE status = 'pending' AND target_machine = ANY(%(names)s::text[]);

-- name: actions_done
UPDATE machine_state SET actions_done = true, context = %(context)s, updated_at = %(now)s
WHERE machine_name = %(machine_name)s;

-- name: insert_realtime
-- `events`: [[machine_name, event_type, payload], ...] as JSON, recorded in this order.
-- One lock for the whole log: batches commit in id order, so a follower that reads after
-- the last id it saw never skips a batch committed late.
INSERT INTO realtime_events (machine_name, event_type, payload, created_at)
SELECT event.e->>0, event.e->>1, event.e->>2, %(now)s
FROM (SELECT pg_advisory_xact_lock(
          hashtextextended(current_schema() || ':realtime', 0))) AS log_order,
     jsonb_array_elements(%(events)s::jsonb) WITH ORDINALITY AS event(e, n)
ORDER BY event.n
RETURNING id;

-- name: watch
-- A process starts waiting for a topic's wake-ups (see 0002_watchers.sql for the lock);
-- registrations of sessions that are gone are removed on the way.
WITH registered AS (
    INSERT INTO statemachine_watchers (topic, pid, since)
    SELECT %(topic)s, %(pid)s, %(now)s
    FROM (SELECT pg_advisory_xact_lock(
              hashtextextended(current_schema() || ':watchers', 0))) AS watchers_lock
    ON CONFLICT (topic, pid) DO NOTHING
), stale AS (
    DELETE FROM statemachine_watchers
    WHERE pid <> %(pid)s AND pid NOT IN (SELECT pid FROM pg_stat_activity)
)
SELECT 1;

-- name: unwatch
DELETE FROM statemachine_watchers WHERE topic = %(topic)s AND pid = %(pid)s;

-- name: unwatch_session
DELETE FROM statemachine_watchers WHERE pid = %(pid)s;

-- name: release_job_unused
-- A job its holder gives back untouched (the machine was stopped before finishing it):
-- claimable again at once, and the attempt it was claimed in is not counted.
WITH released AS (
    UPDATE jobs
    SET status = 'pending', attempts = greatest(attempts - 1, 0), run_after = %(now)s,
        lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
    WHERE job_id = %(job_id)s AND status = 'processing' AND lease_owner = %(worker)s
      AND attempts = %(attempt)s
    RETURNING job_id, attempts
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, message, at)
    SELECT job_id, 'pending', attempts + 1, %(worker)s, 'given back unused', %(now)s
    FROM released
)
SELECT attempts FROM released;

-- name: release_left_jobs
-- The jobs a killed run of a machine left under its worker, but for `kept` (those its
-- next run holds again): back to the queue at once, as their leases running out would
-- put them (their attempts counted; dead after the last).
WITH released AS (
    UPDATE jobs
    SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
        error = 'worker ' || lease_owner || ' was killed',
        completed_at = CASE WHEN attempts >= max_attempts THEN %(now)s END,
        lease_owner = NULL, lease_expires = NULL, updated_at = %(now)s
    WHERE status = 'processing' AND lease_owner = %(worker)s
      AND NOT (job_id = ANY(%(kept)s::text[]))
    RETURNING job_id, status, attempts
), logged AS (
    INSERT INTO job_history (job_id, status, attempt, worker, message, at)
    SELECT job_id, status, attempts, %(worker)s, 'worker killed: released by its next run',
           %(now)s
    FROM released
)
SELECT job_id, status, attempts FROM released;

-- name: record_action_group
-- The process group of the action a machine runs now, under an engine-owned context key,
-- so that a restart can end what a killed machine left running.
UPDATE machine_state
SET context = jsonb_set(context::jsonb, '{_engine_action_group}', %(group)s::jsonb)::text
WHERE machine_name = %(machine_name)s;

-- name: error_history
-- `statemachine-db error-history`: transitions on an error event (`error`, or ending in
-- `_failed` or `error`; compared case-sensitively) and dead jobs with the machine that last
-- held each, newest first. A NULL machine or since is no filter. Each part reads newest
-- first until it has `limit` rows; at equal times a transition comes first.
SELECT * FROM (
    SELECT 'transition' AS kind, at, machine_name AS machine, job_id, event, from_state,
           to_state, NULL::text AS error, 0 AS kind_order, id
    FROM state_history
    WHERE (right(event, 7) = '_failed' OR right(event, 5) = 'error')
      AND (%(machine)s::text IS NULL OR machine_name = %(machine)s::text)
      AND (%(since)s::double precision IS NULL OR at >= %(since)s::double precision)
    ORDER BY id DESC LIMIT %(limit)s
) AS error_transitions
UNION ALL
SELECT * FROM (
    SELECT 'dead_job' AS kind, at, machine, job_id, NULL::text AS event,
           NULL::text AS from_state, NULL::text AS to_state, error, 1 AS kind_order, id
    FROM (
        SELECT coalesce(jobs.completed_at, jobs.updated_at) AS at, jobs.job_id, jobs.error,
               jobs.id, last_holder.worker AS machine
        FROM jobs
        LEFT JOIN LATERAL (
            SELECT worker FROM job_history AS history
            WHERE history.job_id = jobs.job_id AND history.worker <> ''
            ORDER BY history.id DESC LIMIT 1
        ) AS last_holder ON true
        WHERE jobs.status = 'dead'
    ) AS dead_jobs
    WHERE (%(machine)s::text IS NULL OR machine = %(machine)s::text)
      AND (%(since)s::double precision IS NULL OR at >= %(since)s::double precision)
    ORDER BY at DESC, id DESC LIMIT %(limit)s
) AS dead_job_errors
ORDER BY at DESC, kind_order, id DESC
LIMIT %(limit)s;

-- name: metric_actions
-- Actions that ended (realtime events `action_finished`, written by machines, so read
-- as untrusted), by the config their machine names now, with how long each took.
SELECT config_path, config_name, action, failed, {{metric_bucket}} AS bucket, count(*) AS n,
       sum(seconds) AS total
FROM (
    SELECT machine.config_path, machine.config_name,
           event.payload::json ->> 'action' AS action,
           CASE WHEN event.payload::json ->> 'failed' = 'true' THEN 1 ELSE 0 END AS failed,
           CASE WHEN json_typeof(event.payload::json -> 'seconds') = 'number'
                THEN (event.payload::json ->> 'seconds')::double precision END AS seconds
    FROM realtime_events AS event
    LEFT JOIN machine_state AS machine ON machine.machine_name = event.machine_name
    WHERE event.id > %(after_id)s AND event.id <= %(upto_id)s
      AND event.event_type = 'action_finished' 
) AS actions
WHERE action IS NOT NULL AND seconds IS NOT NULL
GROUP BY config_path, config_name, action, failed, bucket;

-- The job explorer's filter (monitoring/_explorer_api.py): each line is kept only when
-- its parameter is given, so each combination of filters gets its own plan. The text is
-- found as written (case-sensitive: a plain substring test is several times cheaper
-- than a case-folding one on every row).
-- fragment: job_match
WHERE true
  AND (job_id = %(text)s OR strpos(job_id, %(text)s) > 0 OR strpos(data, %(text)s) > 0 OR strpos(error, %(text)s) > 0)  -- if: text
  AND job_id = ANY(%(job_ids)s::text[])  -- if: job_ids
  AND status = ANY(%(statuses)s::text[])  -- if: statuses
  AND job_type = ANY(%(job_types)s::text[])  -- if: job_types
  AND job_id IN (SELECT job_id FROM job_history WHERE worker = %(worker)s)  -- if: worker
  AND created_at >= %(created_from)s  -- if: created_from
  AND created_at < %(created_to)s  -- if: created_to
  AND updated_at >= %(updated_from)s  -- if: updated_from
  AND updated_at < %(updated_to)s  -- if: updated_to

-- name: last_workers
-- The machine that last held each of these jobs (a finished job has no lease owner).
SELECT ids.job_id,
       (SELECT worker FROM job_history AS history
        WHERE history.job_id = ids.job_id AND history.worker <> ''
        ORDER BY history.id DESC LIMIT 1) AS worker
FROM unnest(%(job_ids)s::text[]) AS ids (job_id);

-- name: retry_matching
-- Every matching job back to the queue with fresh attempts (the caller keeps `statuses`
-- to those retry_job takes).
WITH changed AS (
    UPDATE jobs
    SET status = 'pending', attempts = 0, run_after = %(now)s, error = NULL,
        completed_at = NULL, updated_at = %(now)s
    {{job_match}}
    RETURNING job_id, status, attempts, 'retry_job' AS message
), {{log_changed}};

-- name: retry_matching.committed
SELECT job_id FROM job_history WHERE message = 'retry_job' AND at = %(now)s;

-- name: cancel_matching
-- Every matching job cancelled (the caller keeps `statuses` to those cancel_job takes).
WITH changed AS (
    UPDATE jobs
    SET status = 'cancelled', completed_at = %(now)s, updated_at = %(now)s,
        lease_owner = NULL, lease_expires = NULL
    {{job_match}}
    RETURNING job_id, status, attempts, 'cancel_job' AS message
), {{log_changed}};

-- name: cancel_matching.committed
SELECT job_id FROM job_history WHERE message = 'cancel_job' AND at = %(now)s;

-- name: series_transitions
-- The charts' back-fill (/api/series): transitions made since `since` (epoch seconds),
-- counted per time slot of `slot` seconds (slot number: floor(at / slot)), of the state
-- history up to id `upto_id` (the rows /metrics counted when the live series began).
SELECT floor(at / %(slot)s)::bigint AS slot, count(*) AS n
FROM state_history
WHERE at >= %(since)s AND id <= %(upto_id)s
GROUP BY 1;

-- name: series_job_ends
-- The charts' back-fill: job attempts that ended completed, failed or dead (a history row
-- right after the job's processing row, as metric_job_runs counts them) since `since`,
-- per time slot of `slot` seconds, of the job history up to id `upto_id`.
SELECT floor(ended.at / %(slot)s)::bigint AS slot, ended.status AS outcome, count(*) AS n
FROM job_history AS ended
WHERE ended.at >= %(since)s AND ended.id <= %(upto_id)s
  AND ended.status IN ('completed', 'failed', 'dead')
  AND (SELECT previous.status FROM job_history AS previous
       WHERE previous.job_id = ended.job_id AND previous.id < ended.id
       ORDER BY previous.id DESC LIMIT 1) = 'processing'
GROUP BY 1, 2;
