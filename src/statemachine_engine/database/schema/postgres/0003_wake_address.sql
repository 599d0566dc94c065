-- statemachine-engine store, PostgreSQL dialect, version 3: where a running machine is
-- woken on its host. Senders on that host wake it there whatever socket directory or
-- --control-socket-prefix they use (other hosts hear the NOTIFY).

ALTER TABLE machine_state ADD COLUMN wake_address text;
