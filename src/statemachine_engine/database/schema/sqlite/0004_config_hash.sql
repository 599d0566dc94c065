-- statemachine-engine store, SQLite dialect, version 4.
-- The hash of the config file each machine last started with: a machine resumed under
-- a changed config says so (NULL: started before this version, or not from a file).

ALTER TABLE machine_state ADD COLUMN config_hash TEXT;
