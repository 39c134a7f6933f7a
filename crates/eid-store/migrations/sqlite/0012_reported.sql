-- Figures reported by units that do not run eid (issue 11): daily counts per unit, metric and
-- day, entered or imported by the level above. `reported_figure` holds the current value of each
-- figure, `reported_version` every version with its provenance (who, when, the source text, the
-- file's name and SHA-256, the reason of a correction), append-only. `res_path` is the first key
-- of the unit's path range (a commune's own path) and `path_hi` the end of that range, so figures
-- are read by the same range scans as `unit_day_count`; `reported_province_day` sums them per
-- province and day for the national view. Cohorts (named lists of personal IDs in a unit) and
-- quotas set as a share of a base (card holders, eligible people, a cohort).

CREATE TABLE reported_figure (
    id         INTEGER PRIMARY KEY,
    unit       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    day        INTEGER NOT NULL,
    res_path   INTEGER NOT NULL,
    path_hi    INTEGER NOT NULL,
    n          INTEGER NOT NULL CHECK (n >= 0),
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX reported_figure_key ON reported_figure (metric, res_path, day);
CREATE INDEX reported_figure_unit ON reported_figure (unit, day);

CREATE TABLE reported_version (
    seq         INTEGER PRIMARY KEY,
    figure_id   INTEGER NOT NULL REFERENCES reported_figure (id),
    version     INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    source      TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX reported_version_figure ON reported_version (figure_id, seq);
CREATE TRIGGER reported_version_no_update BEFORE UPDATE ON reported_version
BEGIN SELECT RAISE(ABORT, 'reported_version is append-only'); END;
CREATE TRIGGER reported_version_no_delete BEFORE DELETE ON reported_version
BEGIN SELECT RAISE(ABORT, 'reported_version is append-only'); END;

CREATE TABLE reported_province_day (
    metric   TEXT NOT NULL,
    province INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (metric, province, day)
) WITHOUT ROWID;

CREATE TABLE cohort (
    id         INTEGER PRIMARY KEY,
    unit       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX cohort_key ON cohort (unit, name);

CREATE TABLE cohort_member (
    cohort_id   INTEGER NOT NULL REFERENCES cohort (id),
    personal_id TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, personal_id)
) WITHOUT ROWID;

ALTER TABLE quota ADD COLUMN base TEXT NOT NULL DEFAULT '';
ALTER TABLE quota ADD COLUMN base_permille INTEGER;
ALTER TABLE quota ADD COLUMN base_count INTEGER;
