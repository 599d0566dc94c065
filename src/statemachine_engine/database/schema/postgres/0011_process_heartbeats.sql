-- statemachine-engine store, PostgreSQL dialect, version 11.
-- A process hosting many machines (--instances, a system's host) records that it is alive
-- in one row here, not in each of its machines' rows: a heartbeat costs one row, not a
-- rewrite of every hosted machine's record. A running machine's heartbeat is the later
-- of its own row's and its process's (host, pid) here.

CREATE TABLE process_heartbeats (
    host         text             NOT NULL,
    pid          integer          NOT NULL,
    heartbeat_at double precision NOT NULL,
    PRIMARY KEY (host, pid)
);
