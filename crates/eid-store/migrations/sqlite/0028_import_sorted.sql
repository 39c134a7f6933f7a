-- Imports staged in sorted runs (see eid-core's register/batched.rs): a run's staged rows form
-- sorted sequences (stage `seq` = sequence << 32 | block), merged into the register in
-- personal-ID order. `merged_through` is the last personal ID merged ('' before the first; NULL
-- for a run staged one row per stage row by an earlier version, merged by row number).
-- `deferred` holds the secondary indexes of the register that a load into an empty register
-- dropped for the merge (a JSON array of their CREATE statements), built again when it ends.
ALTER TABLE import_run ADD COLUMN merged_through TEXT;
ALTER TABLE import_run ADD COLUMN deferred TEXT;
