-- Stay notifications (issue 14, thông báo lưu trú; Law on Residence 68/2020 Art. 30, Circular
-- 55/2021 Art. 15): establishments registered by the commune police, the citizens who may
-- notify for each, the API clients bound to one (client-credentials grant, scope stay:notify)
-- and the stays notified. Timestamps are Unix milliseconds; `unit_path` is the commune's
-- PPDDDCCCCC key, so a unit's subtree is one range.

CREATE TABLE stay_establishment (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('household', 'tourist', 'healthcare', 'dormitory', 'rental', 'other')),
    name           TEXT NOT NULL,
    address        TEXT NOT NULL,
    commune        TEXT NOT NULL,
    unit_path      INTEGER NOT NULL,
    relatives_once INTEGER NOT NULL DEFAULT 0,
    created_by     TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX stay_establishment_path ON stay_establishment (unit_path);

CREATE TABLE stay_notifier (
    establishment_id INTEGER NOT NULL REFERENCES stay_establishment (id),
    personal_id      TEXT NOT NULL,
    PRIMARY KEY (establishment_id, personal_id)
);
CREATE INDEX stay_notifier_person ON stay_notifier (personal_id);

CREATE TABLE stay_client (
    client_id        TEXT PRIMARY KEY REFERENCES oidc_client (client_id),
    establishment_id INTEGER NOT NULL REFERENCES stay_establishment (id),
    created_at       INTEGER NOT NULL
);

CREATE TABLE stay (
    id               INTEGER PRIMARY KEY,
    establishment_id INTEGER NOT NULL REFERENCES stay_establishment (id),
    unit_path        INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    guest_key        TEXT NOT NULL,
    guest_pid        TEXT,
    passport         TEXT,
    nationality      TEXT,
    guest_name       TEXT,
    arrival          INTEGER NOT NULL,
    departure        INTEGER NOT NULL,
    day              TEXT NOT NULL,
    reason           TEXT NOT NULL,
    deadline         INTEGER,
    notified_at      INTEGER NOT NULL,
    late             INTEGER NOT NULL,
    rule             TEXT NOT NULL CHECK (rule IN ('each_stay', 'relatives_first', 'relatives_repeat')),
    via              TEXT NOT NULL CHECK (via IN ('web', 'self', 'csv', 'api')),
    notifier_pid     TEXT,
    client_id        TEXT,
    UNIQUE (establishment_id, guest_key, arrival)
);
CREATE INDEX stay_path_day ON stay (unit_path, day);
CREATE INDEX stay_guest ON stay (guest_pid);
CREATE INDEX stay_notifier_pid ON stay (notifier_pid, notified_at);
CREATE INDEX stay_est_arrival ON stay (establishment_id, arrival);

-- Every search by person in the console, with the reason the officer gave (the audit line of
-- the same request id says who and when).
CREATE TABLE stay_search (
    id          INTEGER PRIMARY KEY,
    staff       TEXT NOT NULL,
    personal_id TEXT NOT NULL,
    reason      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    at          INTEGER NOT NULL
);
