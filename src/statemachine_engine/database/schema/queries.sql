-- Named queries every dialect runs as written. Parameters are named (:name; PostgreSQL's
-- connector reads them as %(name)s). What a dialect writes its own way is in
-- <dialect>/queries.sql; see _queries.py for the notation.

-- fragment: retry_backoff
-- Seconds a job that failed its `attempts`-th try waits before it may run again: from
-- `backoff_base`, doubling with each further attempt up to `backoff_cap` (reached after
-- `backoff_doublings` doublings), times `jitter` (0.5..1) to spread the retries.
CASE WHEN attempts <= 1 THEN :backoff_base
     WHEN attempts - 1 >= :backoff_doublings THEN :backoff_cap
     ELSE :backoff_base * (CAST(1 AS BIGINT) << (attempts - 1))
END * :jitter

-- name: get_job
SELECT * FROM jobs WHERE job_id = :job_id;

-- name: trace_job
-- A job added outside any trace keeps the trace of its first traced attempt, which its
-- later attempts and a machine it is handed over to then continue.
UPDATE jobs SET traceparent = :traceparent
WHERE job_id = :job_id AND traceparent IS NULL;

-- name: job_counts
SELECT status, count(*) AS n FROM jobs GROUP BY status;

-- name: job_history
SELECT status, attempt, worker, message, at, output FROM job_history
WHERE job_id = :job_id ORDER BY id;

-- name: pending_events
SELECT * FROM machine_events
WHERE target_machine = :target AND status = 'pending' AND id > :after_id
ORDER BY id LIMIT :limit;

-- name: due_events
-- Delayed events of one inbox whose time has come, in the order they were sent, read
-- through the partial index of delayed events (`+id`: not through the inbox index by
-- id, which would walk every ordinary event waiting too).
SELECT * FROM machine_events
WHERE target_machine = :target AND status = 'pending' AND due_at IS NOT NULL
  AND due_at <= :now AND +id > :after_id
ORDER BY +id LIMIT :limit;

-- name: next_due_at
-- When the next delayed event of one inbox falls due (NULL: none waits).
SELECT min(due_at) AS at FROM machine_events
WHERE target_machine = :target AND status = 'pending' AND due_at IS NOT NULL
  AND due_at > :now;

-- name: delayed_events
-- Delayed events not consumed yet (due or not), the soonest first.
SELECT * FROM machine_events
WHERE status = 'pending' AND due_at IS NOT NULL
  AND target_machine = :target  -- if: target
ORDER BY due_at, id
LIMIT :limit  -- if: limit
;

-- name: cancel_event
-- A delayed event is cancelled only while it is not due: once due, its machine may have
-- read it already.
UPDATE machine_events SET status = 'dropped', processed_at = :now, reason = :reason
WHERE id = :id AND status = 'pending' AND due_at IS NOT NULL AND due_at > :now
RETURNING id;

-- name: get_event
SELECT * FROM machine_events WHERE id = :id;

-- name: list_events
SELECT * FROM machine_events
WHERE true
  AND target_machine = :target  -- if: target
  AND status = :status  -- if: status
ORDER BY id DESC
LIMIT :limit  -- if: limit
;

-- name: cleanup_events
DELETE FROM machine_events
WHERE true
  AND status = :status  -- if: status
;

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

-- name: register_machine
-- Takes the name when the record is still as the caller read it (`expected_heartbeat`
-- NULL: the caller saw no record), so that of two processes judging a holder gone only
-- one takes its place. No row back: someone else registered meanwhile; read again.
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
    heartbeat_at = excluded.heartbeat_at, updated_at = excluded.updated_at
WHERE CASE WHEN (SELECT beat.heartbeat_at FROM process_heartbeats AS beat
              WHERE beat.host = machine_state.host AND beat.pid = machine_state.pid
                AND machine_state.status = 'running') > machine_state.heartbeat_at
           THEN (SELECT beat.heartbeat_at FROM process_heartbeats AS beat
              WHERE beat.host = machine_state.host AND beat.pid = machine_state.pid
                AND machine_state.status = 'running')
           ELSE machine_state.heartbeat_at END = :expected_heartbeat
  AND machine_state.status = :expected_status
  AND (machine_state.pid = :expected_pid
       OR (machine_state.pid IS NULL AND :expected_pid IS NULL))
RETURNING 1 AS taken;

-- name: wake_address
SELECT wake_address, host FROM machine_state
WHERE machine_name = :machine_name AND status = 'running';

-- name: heartbeat
UPDATE machine_state SET heartbeat_at = :now WHERE machine_name = :machine_name;

-- name: heartbeat_process
-- Every running machine one process hosts, in one row (a running machine's heartbeat is
-- the later of its own and its process's).
INSERT INTO process_heartbeats (host, pid, heartbeat_at) VALUES (:host, :pid, :now)
ON CONFLICT (host, pid) DO UPDATE SET heartbeat_at = excluded.heartbeat_at;

-- name: forget_process_heartbeat
DELETE FROM process_heartbeats WHERE host = :host AND pid = :pid;

-- name: finish_machine
UPDATE machine_state SET status = :status, heartbeat_at = :now, updated_at = :now
WHERE machine_name = :machine_name;

-- name: forget_machine
DELETE FROM machine_state WHERE machine_name = :machine_name;

-- name: load_machine
-- `process_heartbeat_at`: the heartbeat of the process hosting it, if it records one.
SELECT machine_state.*, beat.heartbeat_at AS process_heartbeat_at FROM machine_state
LEFT JOIN process_heartbeats AS beat
    ON beat.host = machine_state.host AND beat.pid = machine_state.pid
   AND machine_state.status = 'running'
WHERE machine_state.machine_name = :machine_name;

-- name: list_machines
SELECT machine_state.*, beat.heartbeat_at AS process_heartbeat_at FROM machine_state
LEFT JOIN process_heartbeats AS beat
    ON beat.host = machine_state.host AND beat.pid = machine_state.pid
   AND machine_state.status = 'running'
ORDER BY machine_state.machine_name;

-- name: transition_history
SELECT * FROM state_history
WHERE true
  AND machine_name = :machine_name  -- if: machine_name
  AND at >= :since  -- if: since
ORDER BY id DESC
LIMIT :limit  -- if: limit
;

-- name: list_realtime
SELECT * FROM realtime_events
WHERE id > :after_id
  AND machine_name = :machine  -- if: machine
ORDER BY id LIMIT :limit;

-- name: realtime_before
-- The log read backwards (the UI's older activity): events before :before_id, newest
-- first, of one machine or of the machines named :prefix..., whose machine or payload
-- text holds :text (lower case, a LIKE pattern escaped with !). Durations of actions,
-- which no log shows, are left out.
SELECT * FROM realtime_events
WHERE id < :before_id
  AND machine_name = :machine  -- if: machine
  AND substr(machine_name, 1, :prefix_length) = :prefix  -- if: prefix
  AND event_type <> 'action_finished'
  AND (lower(payload) LIKE :text ESCAPE '!' OR lower(machine_name) LIKE :text ESCAPE '!')  -- if: text
ORDER BY id DESC LIMIT :limit;

-- name: last_realtime_id
SELECT coalesce(max(id), 0) AS id FROM realtime_events;

-- Metrics (monitoring/_metrics.py, docs/observability.md). Gauges read what is now;
-- the history queries read the rows after :after_id up to :upto_id (the heads read
-- first), so each row is counted once however often the server scrapes. A histogram's
-- query answers one row per label set and bucket: the index of the first of the
-- bounds :b0 ... :b11 the value does not exceed (12: above them all).

-- fragment: metric_bucket
CASE WHEN seconds <= :b0 THEN 0 WHEN seconds <= :b1 THEN 1 WHEN seconds <= :b2 THEN 2
     WHEN seconds <= :b3 THEN 3 WHEN seconds <= :b4 THEN 4 WHEN seconds <= :b5 THEN 5
     WHEN seconds <= :b6 THEN 6 WHEN seconds <= :b7 THEN 7 WHEN seconds <= :b8 THEN 8
     WHEN seconds <= :b9 THEN 9 WHEN seconds <= :b10 THEN 10 WHEN seconds <= :b11 THEN 11
     ELSE 12 END

-- name: metric_machines
-- Instances by config, state and what their liveness depends on (one row for the many
-- instances a process hosts): `stale` past the threshold of a machine on this host,
-- `remote_dead` past that of one on another host (database/_names.py).
SELECT config_path, config_name, current_state, status, pid, host,
       CASE WHEN latest < :stale_before THEN 1 ELSE 0 END AS stale,
       CASE WHEN latest < :remote_dead_before THEN 1 ELSE 0 END AS remote_dead,
       count(*) AS n
FROM (
    SELECT machine_state.config_path, machine_state.config_name,
           machine_state.current_state, machine_state.status, machine_state.pid,
           machine_state.host,
           CASE WHEN beat.heartbeat_at > machine_state.heartbeat_at THEN beat.heartbeat_at
                ELSE machine_state.heartbeat_at END AS latest
    FROM machine_state
    LEFT JOIN process_heartbeats AS beat
        ON beat.host = machine_state.host AND beat.pid = machine_state.pid
       AND machine_state.status = 'running'
) AS machines
GROUP BY config_path, config_name, current_state, status, pid, host, 7, 8;

-- name: metric_jobs
SELECT job_type, status, count(*) AS n FROM jobs GROUP BY job_type, status;

-- name: metric_inbox_pending
-- Events an inbox holds that its machine may take now (a delayed event not yet due is
-- not a backlog).
SELECT target_machine, count(*) AS n FROM machine_events
WHERE status = 'pending' AND (due_at IS NULL OR due_at <= :now)
GROUP BY target_machine;

-- name: metric_events_dropped
SELECT target_machine, count(*) AS n FROM machine_events
WHERE status = 'dropped' GROUP BY target_machine;

-- name: metric_heads
SELECT (SELECT coalesce(max(id), 0) FROM state_history) AS transitions,
       (SELECT coalesce(max(id), 0) FROM job_history) AS jobs,
       (SELECT coalesce(max(id), 0) FROM realtime_events) AS realtime;

-- name: metric_transitions
-- A machine's config is the one its record names now.
SELECT machine.config_path, machine.config_name, history.from_state, history.to_state,
       history.event, count(*) AS n
FROM state_history AS history
LEFT JOIN machine_state AS machine ON machine.machine_name = history.machine_name
WHERE history.id > :after_id AND history.id <= :upto_id
GROUP BY machine.config_path, machine.config_name, history.from_state, history.to_state,
         history.event;

-- name: metric_job_waits
-- Claims (history rows with ready_at) and how long their job waited from due to claim.
SELECT job_type, {{metric_bucket}} AS bucket, count(*) AS n, sum(seconds) AS total
FROM (
    SELECT jobs.job_type,
           CASE WHEN claim.at > claim.ready_at THEN claim.at - claim.ready_at ELSE 0 END
               AS seconds
    FROM job_history AS claim JOIN jobs ON jobs.job_id = claim.job_id
    WHERE claim.id > :after_id AND claim.id <= :upto_id AND claim.ready_at IS NOT NULL
) AS waits
GROUP BY job_type, bucket;

-- name: metric_job_runs
-- Attempts that ended (a history row right after the job's processing rows) and how
-- long from their claim: outcome completed, failed, dead, cancelled or pending (the
-- lease expired, the job was reset or given back).
SELECT job_type, outcome, {{metric_bucket}} AS bucket, count(*) AS n, sum(seconds) AS total
FROM (
    SELECT jobs.job_type, ended.status AS outcome,
           CASE WHEN ended.at > claim.at THEN ended.at - claim.at ELSE 0 END AS seconds
    FROM job_history AS ended
    JOIN job_history AS claim ON claim.id = (
        SELECT max(earlier.id) FROM job_history AS earlier
        WHERE earlier.job_id = ended.job_id AND earlier.id < ended.id
          AND earlier.ready_at IS NOT NULL
    )
    JOIN jobs ON jobs.job_id = ended.job_id
    WHERE ended.id > :after_id AND ended.id <= :upto_id AND ended.status <> 'processing'
      AND (SELECT previous.status FROM job_history AS previous
           WHERE previous.job_id = ended.job_id AND previous.id < ended.id
           ORDER BY previous.id DESC LIMIT 1) = 'processing'
) AS runs
GROUP BY job_type, outcome, bucket;

-- The job explorer and the failures view (monitoring/_explorer_api.py, docs/ui.md).

-- name: job_workers
-- The workers named in the jobs' history, each found by one seek of the
-- job_history_worker index (however many rows each worker has).
SELECT name FROM (
    WITH RECURSIVE workers (name) AS (
        SELECT min(worker) FROM job_history WHERE worker > ''
        UNION ALL
        SELECT (SELECT min(worker) FROM job_history WHERE worker > workers.name)
        FROM workers WHERE workers.name IS NOT NULL
    )
    SELECT name FROM workers
) AS found
WHERE name IS NOT NULL LIMIT :limit;

-- name: failing_jobs
-- Failed and dead jobs, the latest change first (the jobs_failing index).
SELECT job_id, job_type, status, error, updated_at FROM jobs
WHERE status IN ('failed', 'dead')
  AND updated_at >= :since  -- if: since
ORDER BY updated_at DESC
LIMIT :limit;

-- name: cleanup_history
-- Up to :limit of the oldest transitions recorded before :before (`statemachine-db
-- cleanup-history`, a batch a transaction: machines write between). Old rows come first
-- in id order, so a batch reads little more than what it deletes.
DELETE FROM state_history
WHERE id IN (SELECT id FROM state_history WHERE at < :before ORDER BY id LIMIT :limit);

-- name: prune_realtime
-- The oldest recorded realtime events, at most :limit of them, that are older than
-- :cutoff or beyond the newest :keep (None: no such bound). The scan is an id range from
-- the oldest: empty when the oldest is within both bounds (a worker's every 5,000
-- events). The newest event always stays: followers read after the last id they saw,
-- and ids must never start again.
DELETE FROM realtime_events
WHERE id < (
        SELECT CASE WHEN oldest.created_at < :cutoff OR oldest.id <= newest.id - :keep
                    THEN CASE WHEN oldest.id + :limit < newest.id
                              THEN oldest.id + :limit ELSE newest.id END
                    ELSE 0 END
        FROM (SELECT id, created_at FROM realtime_events ORDER BY id LIMIT 1) AS oldest,
             (SELECT max(id) AS id FROM realtime_events) AS newest
    )
  AND (created_at < :cutoff OR id <= (SELECT max(id) FROM realtime_events) - :keep);

-- name: error_events
-- Error events (an action raised), newest first: of every machine, or of one in a
-- time window (the realtime_events_errors index).
SELECT id, machine_name, payload, created_at FROM realtime_events
WHERE event_type = 'error'
  AND machine_name = :machine  -- if: machine
  AND created_at >= :since  -- if: since
  AND created_at <= :until  -- if: until
ORDER BY created_at DESC, id DESC
LIMIT :limit;

-- The job explorer's listing: its filter, `job_match`, is each dialect's own (a substring
-- test and list parameters are written differently).
-- name: search_job_counts
-- How many jobs match, per status (given without the status filter: the chips' counts).
SELECT status, count(*) AS n FROM jobs
{{job_match}}
GROUP BY status;

-- fragment: job_order
-- The order of the explorer's listing (one `by_` parameter), ties broken by id; jobs
-- are numbered as they are added, so the id order is the order they were created in.
  job_id,  -- if: by_job_id
  job_type,  -- if: by_job_type
  status,  -- if: by_status
  attempts,  -- if: by_attempts
  priority,  -- if: by_priority
  updated_at,  -- if: by_updated_at
  job_id DESC,  -- if: by_job_id_desc
  job_type DESC,  -- if: by_job_type_desc
  status DESC,  -- if: by_status_desc
  attempts DESC,  -- if: by_attempts_desc
  priority DESC,  -- if: by_priority_desc
  updated_at DESC,  -- if: by_updated_at_desc
  id  -- if: ascending
  id DESC  -- unless: ascending

-- name: search_jobs
-- One page of the matching jobs: the page's ids found by sorting ids and keys only,
-- then its rows (a deep page sorts no job's data).
SELECT jobs.* FROM jobs
JOIN (
    SELECT id AS page_id FROM jobs
    {{job_match}}
    ORDER BY
    {{job_order}}
    LIMIT :limit OFFSET :offset
) AS page ON page.page_id = jobs.id
ORDER BY
{{job_order}}
;
