-- statemachine-engine store, SQLite dialect, version 3: where a running machine is woken.
-- A machine records the socket it listens on, so that a sender wakes it there whatever
-- socket directory or --control-socket-prefix the sender itself uses.

ALTER TABLE machine_state ADD COLUMN wake_address TEXT;
