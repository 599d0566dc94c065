-- Named queries for the SQLite store. Parameters are named (:name).

-- name: insert_job
INSERT INTO jobs (job_id, job_type, machine_type, status, priority, data, max_attempts,
                  run_after, source_job_id, created_at, updated_at)
VALUES (:job_id, :job_type, :machine_type, 'pending', :priority, :data, :max_attempts,
        :run_after, :source_job_id, :now, :now)
RETURNING *;

-- name: expire_leases
-- Jobs whose worker stopped renewing: back to the queue, or dead after the last attempt.
UPDATE jobs
SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    error = 'lease expired (worker ' || coalesce(lease_owner, '?') || ' stopped)',
    completed_at = CASE WHEN attempts >= max_attempts THEN :now ELSE NULL END,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE status = 'processing' AND lease_expires < :now
RETURNING job_id, status, attempts;

-- name: claim_job
-- Walks the jobs_ready index in claim order: the first ready row is the one (no sort).
UPDATE jobs
SET status = 'processing', attempts = attempts + 1, lease_owner = :worker,
    lease_expires = :now + :lease, started_at = :now, updated_at = :now
WHERE id = (
    SELECT id FROM jobs
    WHERE status IN ('pending', 'failed') AND run_after <= :now
      AND job_type = :job_type
      AND (:machine_type IS NULL OR machine_type IS NULL OR machine_type = :machine_type)
    ORDER BY priority DESC, run_after, id
    LIMIT 1
)
RETURNING *;

-- name: claim_any_job
-- claim_job for any type. Without INDEXED BY the planner may pick another index and sort
-- every waiting job on each claim.
UPDATE jobs
SET status = 'processing', attempts = attempts + 1, lease_owner = :worker,
    lease_expires = :now + :lease, started_at = :now, updated_at = :now
WHERE id = (
    SELECT id FROM jobs INDEXED BY jobs_ready_any
    WHERE status IN ('pending', 'failed') AND run_after <= :now
      AND (:machine_type IS NULL OR machine_type IS NULL OR machine_type = :machine_type)
    ORDER BY priority DESC, run_after, id
    LIMIT 1
)
RETURNING *;

-- name: claim_job_by_id
UPDATE jobs
SET status = 'processing', attempts = attempts + 1, lease_owner = :worker,
    lease_expires = :now + :lease, started_at = :now, updated_at = :now
WHERE job_id = :job_id AND status IN ('pending', 'failed') AND run_after <= :now
RETURNING *;

-- name: renew_leases
UPDATE jobs SET lease_expires = :now + :lease, updated_at = :now
WHERE status = 'processing' AND lease_owner = :worker;

-- name: complete_job
UPDATE jobs
SET status = 'completed', result = :result, completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
WHERE job_id = :job_id AND status = 'processing'
  AND (:worker IS NULL OR lease_owner = :worker)
  AND (:attempt IS NULL OR attempts = :attempt)
RETURNING attempts;

-- name: fail_job
UPDATE jobs
SET status = CASE WHEN :retry AND attempts < max_attempts THEN 'failed' ELSE 'dead' END,
    error = :error,
    run_after = :now + :backoff,
    completed_at = CASE WHEN :retry AND attempts < max_attempts THEN NULL ELSE :now END,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE job_id = :job_id AND status IN ('processing', 'pending', 'failed')
  AND (:worker IS NULL OR lease_owner = :worker)
  AND (:attempt IS NULL OR attempts = :attempt)
RETURNING *;

-- name: hand_over_job
-- A job its holder passed to a machine it started: the lease moves to that machine, for
-- the same attempt only (a stale hand-over cannot take a job claimed again since).
UPDATE jobs SET lease_owner = :worker, lease_expires = :now + :lease, updated_at = :now
WHERE job_id = :job_id AND status = 'processing' AND attempts = :attempt
RETURNING *;

-- name: cancel_job
UPDATE jobs
SET status = 'cancelled', completed_at = :now, updated_at = :now,
    lease_owner = NULL, lease_expires = NULL
WHERE job_id = :job_id AND status IN ('pending', 'processing', 'failed')
RETURNING attempts;

-- name: retry_job
UPDATE jobs
SET status = 'pending', attempts = 0, run_after = :now, error = NULL, completed_at = NULL,
    updated_at = :now
WHERE job_id = :job_id AND status IN ('failed', 'dead', 'cancelled')
RETURNING attempts;

-- name: reset_processing
UPDATE jobs
SET status = 'pending', lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE status = 'processing' AND (:before IS NULL OR started_at < :before)
RETURNING job_id, attempts;

-- name: get_job
SELECT * FROM jobs WHERE job_id = :job_id;

-- name: job_counts
SELECT status, count(*) AS n FROM jobs GROUP BY status;

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

-- name: insert_job_history
INSERT INTO job_history (job_id, status, attempt, worker, message, at)
VALUES (:job_id, :status, :attempt, :worker, :message, :now);

-- name: job_history
SELECT status, attempt, worker, message, at FROM job_history
WHERE job_id = :job_id ORDER BY id;

-- name: insert_event
INSERT INTO machine_events (target_machine, source_machine, event_type, payload, job_id,
                            created_at)
VALUES (:target, :source, :event_type, :payload, :job_id, :now);

-- name: pending_events
SELECT * FROM machine_events
WHERE target_machine = :target AND status = 'pending' AND id > :after_id
ORDER BY id LIMIT :limit;

-- name: consume_event
UPDATE machine_events SET status = :status, processed_at = :now, reason = :reason
WHERE id = :id AND status = 'pending';

-- name: register_machine
INSERT INTO machine_state (machine_name, config_name, config_path, config_hash, current_state,
                           pid, host, wake_address, status, started_at, heartbeat_at,
                           updated_at)
VALUES (:machine_name, :config_name, :config_path, :config_hash, '', :pid, :host,
        :wake_address, 'running', :now, :now, :now)
ON CONFLICT (machine_name) DO UPDATE
SET config_name = excluded.config_name, config_path = excluded.config_path,
    config_hash = excluded.config_hash, pid = excluded.pid, host = excluded.host,
    wake_address = excluded.wake_address,
    status = 'running', started_at = excluded.started_at,
    heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at;

-- name: wake_address
SELECT wake_address, host FROM machine_state
WHERE machine_name = :machine_name AND status = 'running';

-- name: inbox_heads
-- Inboxes that received events after :after_id, with the newest id of each (a range of
-- the primary key: cheap however many events are kept).
SELECT target_machine, max(id) AS head FROM machine_events
WHERE id > :after_id GROUP BY target_machine;

-- name: pending_heads
-- Inboxes holding events not consumed yet, with the newest id of each (the partial
-- index of pending events, grouped).
SELECT target_machine, max(id) AS head FROM machine_events
WHERE status = 'pending' GROUP BY target_machine;

-- name: last_event_id
SELECT coalesce(max(id), 0) AS id FROM machine_events;

-- name: save_state
-- An upsert: a transition is never lost because the machine was not registered first.
INSERT INTO machine_state (machine_name, current_state, context, timers, actions_done, status,
                           started_at, heartbeat_at, updated_at)
VALUES (:machine_name, :to_state, :context, :timers, :actions_done, 'running', :now, :now, :now)
ON CONFLICT (machine_name) DO UPDATE
SET current_state = excluded.current_state, context = excluded.context,
    timers = excluded.timers, actions_done = excluded.actions_done,
    heartbeat_at = excluded.heartbeat_at,
    updated_at = excluded.updated_at;

-- name: insert_transition
INSERT INTO state_history (machine_name, from_state, to_state, event, job_id, at)
VALUES (:machine_name, :from_state, :to_state, :event, :job_id, :now);

-- name: actions_done
UPDATE machine_state SET actions_done = 1, context = :context, updated_at = :now
WHERE machine_name = :machine_name;

-- name: heartbeat
UPDATE machine_state SET heartbeat_at = :now WHERE machine_name = :machine_name;

-- name: heartbeat_process
-- Every running machine one process hosts, in one statement.
UPDATE machine_state SET heartbeat_at = :now
WHERE pid = :pid AND host = :host AND status = 'running';

-- name: finish_machine
UPDATE machine_state SET status = :status, heartbeat_at = :now, updated_at = :now
WHERE machine_name = :machine_name;

-- name: load_machine
SELECT * FROM machine_state WHERE machine_name = :machine_name;

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

-- name: insert_realtime
INSERT INTO realtime_events (machine_name, event_type, payload, created_at)
VALUES (:machine_name, :event_type, :payload, :now);

-- name: release_job_unused
-- A job its holder gives back untouched (the machine was stopped before finishing it):
-- claimable again at once, and the attempt it was claimed in is not counted.
UPDATE jobs
SET status = 'pending', attempts = max(attempts - 1, 0), run_after = :now,
    lease_owner = NULL, lease_expires = NULL, updated_at = :now
WHERE job_id = :job_id AND status = 'processing' AND lease_owner = :worker
  AND attempts = :attempt
RETURNING attempts;

-- name: record_action_group
-- The process group of the action a machine runs now, under an engine-owned context key,
-- so that a restart can end what a killed machine left running.
UPDATE machine_state SET context = json_set(context, '$._engine_action_group', json(:group))
WHERE machine_name = :machine_name;

-- name: store_identity
-- The store's identity and where it lies in the file: its table's only page (offset =
-- (rootpage - 1) * page_size). See sqlite_identity.py.
SELECT store_identity.id, sqlite_master.rootpage, (SELECT page_size FROM pragma_page_size())
FROM store_identity, sqlite_master
WHERE sqlite_master.type = 'table' AND sqlite_master.name = 'store_identity';
