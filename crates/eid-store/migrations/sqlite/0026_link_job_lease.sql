-- A job is run by one runner at a time (issue 13): the runner holds a lease, taken with a
-- conditional UPDATE and renewed with every checkpoint. Another runner (a second server on the
-- same database) takes the job over only once `lease_until` (ms since the epoch) has passed.
ALTER TABLE link_job ADD COLUMN lease_owner TEXT;
ALTER TABLE link_job ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
