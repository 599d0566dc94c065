-- Named queries for the SQLite store. Parameters are named (:name); a list is bound as
-- JSON text (read with json_each). A query of several statements runs them in order in
-- one BEGIN IMMEDIATE transaction and returns the rows of the last statement that
-- returns rows, else the number of rows the last statement changed. Every change of a
-- job's status writes its history row in the same query (`-- for each row:` of the
-- change), as PostgreSQL's do in a WITH.
-- `-- wakes: <topic>`: a commit that changed something wakes the processes on this host
-- waiting for the topic (PostgreSQL's triggers notify in the database).

-- fragment: expire_leases
-- Jobs whose worker stopped renewing go back to the queue, or die after their last
-- attempt.
UPDATE jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    error = 'lease expired (worker ' || coalesce(lease_owner, '?') || ' stopped)',
    completed_at = CASE WHEN attempts >= max_attempts THEN :now ELSE NULL END,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE status = 'processing' AND lease_expires < :now
RETURNING job_id, status, attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, :status, :attempts, 'lease expired', :now);

-- fragment: claimed_set
SET status = 'processing', attempts = attempts + 1, lease_owner = :worker,
    lease_expires = :now + :lease, started_at = :now, updated_at = :now

-- fragment: log_claim
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, at, ready_at)
VALUES (:job_id, 'processing', :attempts, :worker, :now, max(:created_at, :run_after));

-- name: insert_job
-- wakes: jobs
INSERT INTO jobs (job_id, job_type, machine_type, status, priority, data, max_attempts,
                  run_after, source_job_id, traceparent, created_at, updated_at)
VALUES (:job_id, :job_type, :machine_type, 'pending', :priority, :data, :max_attempts,
        :run_after, :source_job_id, :traceparent, :now, :now)
ON CONFLICT (job_id) DO NOTHING
RETURNING *;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'pending', 0, 'added', :now);

-- name: insert_jobs
-- wakes: jobs
-- Several jobs in one transaction, in order: `jobs` is [[job_id, job_type, machine_type,
-- priority, data, max_attempts, run_after, source_job_id], ...] (numbers as text). An id
-- already in the queue, or earlier in the list, is skipped; the ids added are returned.
-- (`WHERE true`: an INSERT ... SELECT with an upsert clause needs a WHERE to parse.)
INSERT INTO jobs (job_id, job_type, machine_type, status, priority, data, max_attempts,
                  run_after, source_job_id, created_at, updated_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       'pending', CAST(json_extract(value, '$[3]') AS INTEGER), json_extract(value, '$[4]'),
       CAST(json_extract(value, '$[5]') AS INTEGER), CAST(json_extract(value, '$[6]') AS REAL),
       json_extract(value, '$[7]'), :now, :now
FROM json_each(:jobs) WHERE true ORDER BY key
ON CONFLICT (job_id) DO NOTHING
RETURNING job_id;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'pending', 0, 'added', :now);

-- name: claim_job
-- The first ready row of the index in claim order is the one (no sort): jobs_ready for
-- one type; for any type jobs_ready_any, named, else the planner may pick another index
-- and sort every waiting job on each claim.
{{expire_leases}};
UPDATE jobs
{{claimed_set}}
WHERE id = (
    {{ready_jobs}}
    ORDER BY priority DESC, run_after, id
    LIMIT 1
)
RETURNING *;
{{log_claim}}

-- name: claim_jobs
-- The most urgent ready job, and up to :ahead more for the worker to run next; a job on
-- its last attempt is never claimed ahead (a worker that dies before starting it must
-- not use that attempt up).
{{expire_leases}};
WITH first_job AS (
    {{ready_jobs}}
    ORDER BY priority DESC, run_after, id
    LIMIT 1
)
UPDATE jobs
{{claimed_set}}
WHERE id IN (
    SELECT id FROM first_job
    UNION ALL
    SELECT id FROM (
        {{ready_jobs}}
          AND attempts + 1 < max_attempts AND id NOT IN (SELECT id FROM first_job)
        ORDER BY priority DESC, run_after, id
        LIMIT :ahead
    )
)
RETURNING *;
{{log_claim}}

-- fragment: ready_jobs
SELECT id FROM jobs  -- if: job_type
SELECT id FROM jobs INDEXED BY jobs_ready_any  -- unless: job_type
WHERE status IN ('pending', 'failed') AND run_after <= :now
  AND job_type = :job_type  -- if: job_type
  AND (:machine_type IS NULL OR machine_type IS NULL OR machine_type = :machine_type)

-- name: renew_leases
-- Every lease of the worker, or only those of :job_ids (a machine renews the jobs it
-- holds: one claimed by an earlier run of it that died is left to expire).
UPDATE jobs SET lease_expires = :now + :lease, updated_at = :now
WHERE status = 'processing' AND lease_owner = :worker
  AND job_id IN (SELECT value FROM json_each(:job_ids))  -- if: job_ids
;

-- name: claim_job_by_id
{{expire_leases}};
UPDATE jobs
{{claimed_set}}
WHERE job_id = :job_id AND status IN ('pending', 'failed') AND run_after <= :now
RETURNING *;
{{log_claim}}

-- name: complete_job
-- wakes: jobs
UPDATE jobs
SET status = 'completed', result = :result, completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
WHERE job_id = :job_id AND status = 'processing'
  AND (:worker IS NULL OR lease_owner = :worker)
  AND (:attempt IS NULL OR attempts = :attempt)
RETURNING attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, at)
VALUES (:job_id, 'completed', :attempts, :worker, :now);

-- name: complete_jobs
-- wakes: jobs
-- Several completions in one transaction: `jobs` is [{"job_id", "worker", "attempt",
-- "result"}, ...], each fenced as complete_job is (a null worker or attempt: any; a job
-- named twice: its first); the ids of the jobs completed are returned. (The history rows
-- first: an UPDATE ... FROM cannot return the worker it matched.)
INSERT INTO job_history (job_id, status, attempt, worker, at)
SELECT jobs.job_id, 'completed', jobs.attempts, batch.worker, :now
FROM (
    SELECT json_extract(value, '$.job_id') AS job_id, json_extract(value, '$.worker') AS worker,
           json_extract(value, '$.attempt') AS attempt, min(key)
    FROM json_each(:jobs) GROUP BY 1
) AS batch
JOIN jobs ON jobs.job_id = batch.job_id
WHERE jobs.status = 'processing'
  AND (batch.worker IS NULL OR jobs.lease_owner = batch.worker)
  AND (batch.attempt IS NULL OR jobs.attempts = batch.attempt);
UPDATE jobs
SET status = 'completed', result = batch.result, completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
FROM (
    SELECT json_extract(value, '$.job_id') AS job_id, json_extract(value, '$.worker') AS worker,
           json_extract(value, '$.attempt') AS attempt, json_extract(value, '$.result') AS result,
           min(key)
    FROM json_each(:jobs) GROUP BY 1
) AS batch
WHERE jobs.job_id = batch.job_id AND jobs.status = 'processing'
  AND (batch.worker IS NULL OR jobs.lease_owner = batch.worker)
  AND (batch.attempt IS NULL OR jobs.attempts = batch.attempt)
RETURNING job_id;

-- name: fail_job
-- wakes: jobs
UPDATE jobs
SET status = CASE WHEN :retry AND attempts < max_attempts THEN 'failed' ELSE 'dead' END,
    error = :error,
    run_after = :now + {{retry_backoff}},
    completed_at = CASE WHEN :retry AND attempts < max_attempts THEN NULL ELSE :now END,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE job_id = :job_id AND status IN ('processing', 'pending', 'failed')
  AND (:worker IS NULL OR lease_owner = :worker)
  AND (:attempt IS NULL OR attempts = :attempt)
RETURNING *;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, message, at, output)
VALUES (:job_id, :status, :attempts, :worker, :error, :now, :output);

-- name: hand_over_job
-- A job its holder passed to a machine it started: the lease moves to that machine, for
-- the same attempt only (a stale hand-over cannot take a job claimed again since).
UPDATE jobs SET lease_owner = :worker, lease_expires = :now + :lease, updated_at = :now
WHERE job_id = :job_id AND status = 'processing' AND attempts = :attempt
RETURNING *;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, message, at)
VALUES (:job_id, 'processing', :attempt, :worker, 'handed over', :now);

-- name: release_job_unused
-- wakes: jobs
-- A job its holder gives back untouched (the machine was stopped before finishing it):
-- claimable again at once, and the attempt it was claimed in is not counted.
UPDATE jobs
SET status = 'pending', attempts = max(attempts - 1, 0), run_after = :now,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE job_id = :job_id AND status = 'processing' AND lease_owner = :worker
  AND attempts = :attempt
RETURNING attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, message, at)
VALUES (:job_id, 'pending', :attempt, :worker, 'given back unused', :now);

-- name: release_left_jobs
-- wakes: jobs
-- The jobs a killed run of a machine left under its worker, but for :kept (those its
-- next run holds again): back to the queue at once, as their leases running out would
-- put them (their attempts counted; dead after the last).
UPDATE jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    error = 'worker ' || lease_owner || ' was killed',
    completed_at = CASE WHEN attempts >= max_attempts THEN :now ELSE NULL END,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE status = 'processing' AND lease_owner = :worker
  AND job_id NOT IN (SELECT value FROM json_each(:kept))
RETURNING job_id, status, attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, worker, message, at)
VALUES (:job_id, :status, :attempts, :worker, 'worker killed: released by its next run', :now);

-- name: cancel_job
-- wakes: jobs
UPDATE jobs
SET status = 'cancelled', completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
WHERE job_id = :job_id AND status IN ('pending', 'processing', 'failed')
RETURNING attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'cancelled', :attempts, 'cancel_job', :now);

-- name: retry_job
-- wakes: jobs
UPDATE jobs
SET status = 'pending', attempts = 0, run_after = :now, error = NULL, completed_at = NULL,
    updated_at = :now
WHERE job_id = :job_id AND status IN ('failed', 'dead', 'cancelled')
RETURNING attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'pending', :attempts, 'retry_job', :now);

-- name: reset_processing
-- wakes: jobs
UPDATE jobs
SET status = 'pending', lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE status = 'processing' AND (:before IS NULL OR started_at < :before)
RETURNING job_id, attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'pending', :attempts, 'reset', :now);

-- name: remove_job
DELETE FROM job_history WHERE job_id = :job_id;
DELETE FROM jobs WHERE job_id = :job_id;

-- name: purge_jobs
DELETE FROM job_history WHERE job_id IN (
    SELECT job_id FROM jobs
    WHERE status IN (SELECT value FROM json_each(:statuses))
      AND (:before IS NULL OR updated_at < :before)
);
DELETE FROM jobs
WHERE status IN (SELECT value FROM json_each(:statuses))
  AND (:before IS NULL OR updated_at < :before);

-- name: list_jobs
-- Newest first (by id) until there are enough rows: no index on status alone.
SELECT * FROM jobs
WHERE true
  AND status IN (SELECT value FROM json_each(:statuses))  -- if: statuses
  AND job_type = :job_type  -- if: job_type
  AND machine_type = :machine_type  -- if: machine_type
ORDER BY id DESC
LIMIT :limit  -- if: limit
;

-- name: next_job_ready_at
-- When the next job of the type may become claimable: a delayed or backing-off job's
-- run_after, or a lease that will expire if its worker is gone.
SELECT min(at) AS at FROM (
    SELECT min(run_after) AS at FROM jobs
    WHERE status IN ('pending', 'failed') AND (:job_type IS NULL OR job_type = :job_type)
    UNION ALL
    SELECT min(lease_expires) FROM jobs
    WHERE status = 'processing' AND (:job_type IS NULL OR job_type = :job_type)
);

-- name: insert_event
INSERT INTO machine_events (target_machine, source_machine, event_type, payload, job_id,
                            due_at, traceparent, created_at)
VALUES (:target, :source, :event_type, :payload, :job_id, :due_at, :traceparent, :now)
RETURNING id;

-- name: mark_events
UPDATE machine_events SET status = :status, processed_at = :now, reason = :reason
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'pending';

-- name: save_steps
-- Several steps of one machine, committed together (group commit): its state after the
-- last of them (when a step changed it), their history rows in order, and the events
-- they consumed or dropped. One transition comes as `from_state`, `to_state`, `event`,
-- `job_id`, `at`; several as `transitions`: [[from_state, to_state, event, job_id, at],
-- ...]; `consumed`: event ids; `dropped`: [[event id, reason], ...] (each None when
-- there are none).
INSERT INTO machine_state (machine_name, current_state, context, timers, actions_done, status,  -- if: state
                           started_at, heartbeat_at, updated_at)  -- if: state
VALUES (:machine_name, :state, :context, :timers, :actions_done, 'running', :now, :now, :now)  -- if: state
ON CONFLICT (machine_name) DO UPDATE  -- if: state
SET current_state = excluded.current_state, context = excluded.context,  -- if: state
    timers = excluded.timers, actions_done = excluded.actions_done,  -- if: state
    heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at  -- if: state
;
INSERT INTO state_history (machine_name, from_state, to_state, event, job_id, at)  -- if: to_state
VALUES (:machine_name, :from_state, :to_state, :event, :job_id, :at)  -- if: to_state
;
INSERT INTO state_history (machine_name, from_state, to_state, event, job_id, at)  -- if: transitions
SELECT :machine_name, json_extract(value, '$[0]'), json_extract(value, '$[1]'),  -- if: transitions
       json_extract(value, '$[2]'), json_extract(value, '$[3]'),  -- if: transitions
       CAST(json_extract(value, '$[4]') AS REAL)  -- if: transitions
FROM json_each(:transitions) ORDER BY key  -- if: transitions
;
UPDATE machine_events SET status = 'processed', processed_at = :now  -- if: consumed
WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(:consumed))  -- if: consumed
  AND status = 'pending'  -- if: consumed
;
UPDATE machine_events  -- if: dropped
SET status = 'dropped', processed_at = :now,  -- if: dropped
    reason = (SELECT json_extract(drop_.value, '$[1]') FROM json_each(:dropped) AS drop_  -- if: dropped
              WHERE CAST(json_extract(drop_.value, '$[0]') AS INTEGER) = machine_events.id)  -- if: dropped
WHERE id IN (SELECT CAST(json_extract(value, '$[0]') AS INTEGER) FROM json_each(:dropped))  -- if: dropped
  AND status = 'pending'  -- if: dropped
;

-- name: load_machines
-- `load_machine` of several names at once (a host registering its machines together).
SELECT machine_state.*, beat.heartbeat_at AS process_heartbeat_at FROM machine_state
LEFT JOIN process_heartbeats AS beat
    ON beat.host = machine_state.host AND beat.pid = machine_state.pid
   AND machine_state.status = 'running'
WHERE machine_state.machine_name IN (SELECT value FROM json_each(:names));

-- name: waiting_inboxes
-- Which of several machines have events waiting in their inboxes (a host whose machines
-- registered together: one read for all their first looks; the partial inbox index).
SELECT DISTINCT target_machine FROM machine_events
WHERE status = 'pending' AND target_machine IN (SELECT value FROM json_each(:names));

-- name: actions_done
UPDATE machine_state SET actions_done = 1, context = :context, updated_at = :now
WHERE machine_name = :machine_name;

-- name: record_action_group
-- The process group of the action a machine runs now, under an engine-owned context key,
-- so that a restart can end what a killed machine left running.
UPDATE machine_state SET context = json_set(context, '$._engine_action_group', json(:group))
WHERE machine_name = :machine_name;

-- name: insert_realtime
-- wakes: realtime
-- `events`: [[machine_name, event_type, payload], ...], recorded in this order.
INSERT INTO realtime_events (machine_name, event_type, payload, created_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
       :now
FROM json_each(:events) ORDER BY key
RETURNING id;

-- name: insert_realtime_row
-- wakes: realtime
-- One event of `insert_realtime`, run once for each of a batch (executemany: no JSON
-- to build, nor to take apart again, for thousands of events).
INSERT INTO realtime_events (machine_name, event_type, payload, created_at)
VALUES (:machine_name, :event_type, :payload, :now);

-- name: error_history
-- `statemachine-db error-history`: transitions on an error event (`error`, or ending in
-- `_failed` or `error`; compared case-sensitively) and dead jobs with the machine that last
-- held each, newest first. A NULL machine or since is no filter. Each part reads newest
-- first until it has `limit` rows; at equal times a transition comes first.
SELECT * FROM (
    SELECT 'transition' AS kind, at, machine_name AS machine, job_id, event, from_state,
           to_state, NULL AS error, 0 AS kind_order, id
    FROM state_history
    WHERE (substr(event, -7) = '_failed' OR substr(event, -5) = 'error')
      AND (:machine IS NULL OR machine_name = :machine)
      AND (:since IS NULL OR at >= :since)
    ORDER BY id DESC LIMIT :limit
)
UNION ALL
SELECT * FROM (
    SELECT 'dead_job' AS kind, at, machine, job_id, NULL AS event, NULL AS from_state,
           NULL AS to_state, error, 1 AS kind_order, id
    FROM (
        SELECT coalesce(completed_at, updated_at) AS at, job_id, error, id,
               (SELECT worker FROM job_history
                WHERE job_history.job_id = jobs.job_id AND worker <> ''
                ORDER BY job_history.id DESC LIMIT 1) AS machine
        FROM jobs WHERE status = 'dead'
    )
    WHERE (:machine IS NULL OR machine = :machine) AND (:since IS NULL OR at >= :since)
    ORDER BY at DESC, id DESC LIMIT :limit
)
ORDER BY at DESC, kind_order, id DESC
LIMIT :limit;

-- name: store_identity
-- The store's identity and where it lies in the file: its table's only page (offset =
-- (rootpage - 1) * page_size). See _sqlite_identity.py.
SELECT store_identity.id, sqlite_master.rootpage, (SELECT page_size FROM pragma_page_size())
FROM store_identity, sqlite_master
WHERE sqlite_master.type = 'table' AND sqlite_master.name = 'store_identity';

-- name: metric_actions
-- Actions that ended (realtime events `action_finished`, written by machines, so read
-- as untrusted), by the config their machine names now, with how long each took.
SELECT config_path, config_name, action, failed, {{metric_bucket}} AS bucket, count(*) AS n,
       sum(seconds) AS total
FROM (
    SELECT machine.config_path, machine.config_name,
           json_extract(event.payload, '$.action') AS action,
           CASE WHEN json_extract(event.payload, '$.failed') = 1 THEN 1 ELSE 0 END AS failed,
           CASE WHEN json_type(event.payload, '$.seconds') IN ('integer', 'real')
                THEN json_extract(event.payload, '$.seconds') END AS seconds
    FROM realtime_events AS event
    LEFT JOIN machine_state AS machine ON machine.machine_name = event.machine_name
    WHERE event.id > :after_id AND event.id <= :upto_id
      AND event.event_type = 'action_finished' AND json_valid(event.payload)
) AS actions
WHERE action IS NOT NULL AND seconds IS NOT NULL
GROUP BY config_path, config_name, action, failed, bucket;

-- The job explorer's filter (monitoring/_explorer_api.py): each line is kept only when
-- its parameter is given, so each combination of filters gets its own plan. The text is
-- found as written (case-sensitive: a plain substring test is several times cheaper
-- than a case-folding one on every row).
-- fragment: job_match
WHERE true
  AND (job_id = :text OR instr(job_id, :text) OR instr(data, :text) OR instr(error, :text))  -- if: text
  AND job_id IN (SELECT value FROM json_each(:job_ids))  -- if: job_ids
  AND status IN (SELECT value FROM json_each(:statuses))  -- if: statuses
  AND job_type IN (SELECT value FROM json_each(:job_types))  -- if: job_types
  AND job_id IN (SELECT job_id FROM job_history WHERE worker = :worker)  -- if: worker
  AND created_at >= :created_from  -- if: created_from
  AND created_at < :created_to  -- if: created_to
  AND updated_at >= :updated_from  -- if: updated_from
  AND updated_at < :updated_to  -- if: updated_to

-- name: last_workers
-- The machine that last held each of these jobs (a finished job has no lease owner).
SELECT ids.value AS job_id,
       (SELECT worker FROM job_history AS history
        WHERE history.job_id = ids.value AND history.worker <> ''
        ORDER BY history.id DESC LIMIT 1) AS worker
FROM json_each(:job_ids) AS ids;

-- name: retry_matching
-- wakes: jobs
-- Every matching job back to the queue with fresh attempts (the caller keeps `statuses`
-- to those retry_job takes).
UPDATE jobs
SET status = 'pending', attempts = 0, run_after = :now, error = NULL, completed_at = NULL,
    updated_at = :now
{{job_match}}
RETURNING job_id, attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'pending', :attempts, 'retry_job', :now);

-- name: cancel_matching
-- wakes: jobs
-- Every matching job cancelled (the caller keeps `statuses` to those cancel_job takes).
UPDATE jobs
SET status = 'cancelled', completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
{{job_match}}
RETURNING job_id, attempts;
-- for each row:
INSERT INTO job_history (job_id, status, attempt, message, at)
VALUES (:job_id, 'cancelled', :attempts, 'cancel_job', :now);

-- name: series_transitions
-- The charts' back-fill (/api/series): transitions made since `since` (epoch seconds),
-- counted per time slot of `slot` seconds (slot number: at / slot), of the state history
-- up to id `upto_id` (the rows /metrics counted when the live series began).
SELECT CAST(at / :slot AS INTEGER) AS slot, count(*) AS n
FROM state_history
WHERE at >= :since AND id <= :upto_id
GROUP BY CAST(at / :slot AS INTEGER);

-- name: series_job_ends
-- The charts' back-fill: job attempts that ended completed, failed or dead (a history row
-- right after the job's processing row, as metric_job_runs counts them) since `since`,
-- per time slot of `slot` seconds, of the job history up to id `upto_id`.
SELECT CAST(ended.at / :slot AS INTEGER) AS slot, ended.status AS outcome, count(*) AS n
FROM job_history AS ended
WHERE ended.at >= :since AND ended.id <= :upto_id
  AND ended.status IN ('completed', 'failed', 'dead')
  AND (SELECT previous.status FROM job_history AS previous
       WHERE previous.job_id = ended.job_id AND previous.id < ended.id
       ORDER BY previous.id DESC LIMIT 1) = 'processing'
GROUP BY CAST(ended.at / :slot AS INTEGER), ended.status;
