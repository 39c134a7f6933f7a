-- Project 06 operations: quotas and their changes, peak campaigns, outreach assignments and
-- contacts, proposed register changes from the field, and periodic reports.
-- Written through src/sql.rs (see 0002). Days are day numbers (days since 1970-01-01, Vietnam).

CREATE TABLE quota (
    id         INTEGER PRIMARY KEY,
    unit       TEXT NOT NULL,
    metric     TEXT NOT NULL,
    cohort     TEXT NOT NULL DEFAULT '',
    target     INTEGER NOT NULL CHECK (target >= 0),
    start_day  INTEGER NOT NULL,
    deadline   INTEGER NOT NULL,
    parent_id  INTEGER REFERENCES quota (id),
    set_by     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version    INTEGER NOT NULL
);
CREATE UNIQUE INDEX quota_key ON quota (unit, metric, cohort, deadline);
CREATE INDEX quota_parent ON quota (parent_id);

CREATE TABLE quota_change (
    seq        INTEGER PRIMARY KEY,
    quota_id   INTEGER NOT NULL REFERENCES quota (id),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    old_target INTEGER,
    new_target INTEGER NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX quota_change_quota ON quota_change (quota_id, seq);
CREATE TRIGGER quota_change_no_update BEFORE UPDATE ON quota_change
BEGIN SELECT RAISE(ABORT, 'quota_change is append-only'); END;
CREATE TRIGGER quota_change_no_delete BEFORE DELETE ON quota_change
BEGIN SELECT RAISE(ABORT, 'quota_change is append-only'); END;

CREATE TABLE campaign (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    slogan     TEXT NOT NULL,
    unit       TEXT NOT NULL,
    start_day  INTEGER NOT NULL,
    end_day    INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE outreach_assignment (
    personal_id TEXT PRIMARY KEY,
    commune     TEXT NOT NULL,
    assignee    TEXT NOT NULL,
    due_day     INTEGER NOT NULL,
    assigned_by TEXT NOT NULL,
    assigned_at INTEGER NOT NULL
);

CREATE TABLE outreach_contact (
    seq         INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    commune     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    day         INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('visited', 'not_home', 'no_phone', 'moved_away', 'dead', 'refused', 'emigrated')),
    note        TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX outreach_contact_person ON outreach_contact (personal_id, seq);

CREATE TABLE register_proposal (
    id          INTEGER PRIMARY KEY,
    personal_id TEXT NOT NULL,
    commune     TEXT NOT NULL,
    proposed    TEXT NOT NULL CHECK (proposed IN ('dead', 'emigrated', 'absent')),
    contact_seq INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'dismissed')),
    created_at  INTEGER NOT NULL,
    decided_by  TEXT,
    decided_at  INTEGER
);
CREATE INDEX register_proposal_open ON register_proposal (commune, state);

CREATE TABLE report_schedule (
    id         INTEGER PRIMARY KEY,
    agency     TEXT NOT NULL,
    unit       TEXT NOT NULL,
    schedule   TEXT NOT NULL CHECK (schedule IN ('weekly', 'monthly')),
    grace_days INTEGER NOT NULL,
    start_day  INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE report_submission (
    id            INTEGER PRIMARY KEY,
    schedule_id   INTEGER NOT NULL REFERENCES report_schedule (id),
    period_start  INTEGER NOT NULL,
    submitted_at  INTEGER NOT NULL,
    submitted_day INTEGER NOT NULL,
    body          TEXT NOT NULL,
    actor         TEXT NOT NULL,
    UNIQUE (schedule_id, period_start)
);

-- Running totals per metric and commune since the first event, kept by the same roll-up as
-- unit_day_count: done-to-date is the total less the days outside the window, so a ranking
-- reads a few rows per commune instead of every day of the campaign.
CREATE TABLE unit_total (
    metric   TEXT NOT NULL,
    res_path INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (metric, res_path)
) WITHOUT ROWID;
CREATE INDEX unit_day_count_by_day ON unit_day_count (metric, day, res_path);
