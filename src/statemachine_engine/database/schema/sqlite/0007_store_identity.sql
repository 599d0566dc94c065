-- statemachine-engine store, SQLite dialect, version 7.
-- The store's identity: a random value written once, when the store is created (or
-- upgraded to this version), and never changed. Each process compares it with the
-- bytes of the file itself, so a file overwritten in place by another store's
-- (`cp other.db pipeline.db`) is noticed: see database/_sqlite_identity.py.

CREATE TABLE store_identity (
    id  TEXT NOT NULL
);
INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))));
