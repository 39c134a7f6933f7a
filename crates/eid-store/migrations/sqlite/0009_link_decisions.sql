-- Officers' decisions on sector rows (issue 13, second slice): each decision is an append-only
-- event with its actor, reason and time, keyed by the source, the row's own key and a
-- fingerprint of its mapped values so that the next import of the same row reuses it. A result
-- records the decision that settled it (its own, or one reused), and the mapped values of its row.

ALTER TABLE link_result ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE link_result ADD COLUMN row_values TEXT NOT NULL DEFAULT '{}';
ALTER TABLE link_result ADD COLUMN decision_id INTEGER;

CREATE TABLE link_decision (
    id          INTEGER PRIMARY KEY,
    result_id   INTEGER NOT NULL REFERENCES link_result (id),
    source      TEXT NOT NULL,
    row_id      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    verdict     TEXT NOT NULL CHECK (verdict IN ('same', 'different')),
    personal_id TEXT,
    reason      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    decided_at  INTEGER NOT NULL
);
CREATE INDEX link_decision_row ON link_decision (source, row_id, fingerprint);

CREATE TRIGGER link_decision_no_update BEFORE UPDATE ON link_decision
BEGIN SELECT RAISE(ABORT, 'link_decision is append-only'); END;
CREATE TRIGGER link_decision_no_delete BEFORE DELETE ON link_decision
BEGIN SELECT RAISE(ABORT, 'link_decision is append-only'); END;
