-- statemachine-engine store, PostgreSQL dialect, version 14.
-- What the failing action printed, kept with the failure in a job's history (the tail
-- of a failed command's stdout and stderr, as JSON), for the job's details.

ALTER TABLE job_history ADD COLUMN output TEXT;
