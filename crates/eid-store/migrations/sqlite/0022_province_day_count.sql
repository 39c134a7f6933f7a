-- Issue 11: the recorded counters summed per province and day, kept by triggers on
-- `unit_day_count` (whoever writes it), so the ministry's national view reads 63 × days rows
-- instead of every commune's. `province` is the 2024 province number (`res_path / 100000000`).
CREATE TABLE province_day_count (
    metric   TEXT NOT NULL,
    province INTEGER NOT NULL,
    day      INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (metric, province, day)
) WITHOUT ROWID;

INSERT INTO province_day_count (metric, province, day, n)
SELECT metric, res_path / 100000000, day, SUM(n) FROM unit_day_count
GROUP BY metric, res_path / 100000000, day;

CREATE TRIGGER province_day_count_insert AFTER INSERT ON unit_day_count
BEGIN
    INSERT INTO province_day_count (metric, province, day, n)
    VALUES (NEW.metric, NEW.res_path / 100000000, NEW.day, NEW.n)
    ON CONFLICT (metric, province, day) DO UPDATE SET n = province_day_count.n + excluded.n;
END;

CREATE TRIGGER province_day_count_update AFTER UPDATE ON unit_day_count
BEGIN
    UPDATE province_day_count SET n = n - OLD.n
    WHERE metric = OLD.metric AND province = OLD.res_path / 100000000 AND day = OLD.day;
    INSERT INTO province_day_count (metric, province, day, n)
    VALUES (NEW.metric, NEW.res_path / 100000000, NEW.day, NEW.n)
    ON CONFLICT (metric, province, day) DO UPDATE SET n = province_day_count.n + excluded.n;
END;

CREATE TRIGGER province_day_count_delete AFTER DELETE ON unit_day_count
BEGIN
    UPDATE province_day_count SET n = n - OLD.n
    WHERE metric = OLD.metric AND province = OLD.res_path / 100000000 AND day = OLD.day;
END;
