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

-- name: job_counts
SELECT status, count(*) AS n FROM jobs GROUP BY status;

-- name: job_history
SELECT status, attempt, worker, message, at FROM job_history
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
WHERE machine_state.heartbeat_at = :expected_heartbeat
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
-- Every running machine one process hosts, in one statement.
UPDATE machine_state SET heartbeat_at = :now
WHERE pid = :pid AND host = :host AND status = 'running';

-- name: finish_machine
UPDATE machine_state SET status = :status, heartbeat_at = :now, updated_at = :now
WHERE machine_name = :machine_name;

-- name: forget_machine
DELETE FROM machine_state WHERE machine_name = :machine_name;

-- name: load_machine
SELECT * FROM machine_state WHERE machine_name = :machine_name;

-- name: list_machines
SELECT * FROM machine_state ORDER BY machine_name;

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

-- name: last_realtime_id
SELECT coalesce(max(id), 0) AS id FROM realtime_events;
