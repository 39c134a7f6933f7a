-- Issue 11: whether a reported figure counts is kept up to date when either side is written,
-- instead of being found at read time by joining a province's recorded counters against its
-- figures (the national ranking took 59 ms at p99 with 60 days of a province's figures).
-- `reported_figure.overlapped` is 1 while some unit inside the figure's unit recorded an event
-- of its metric that day (`unit_day_count.n > 0`): the rule then counts the recorded number and
-- not the figure. `reported_province_day.counted` sums the figures that count, beside `n`, the
-- sum of all. The figure's writer (`ops::reported::put_figure`) sets both for its own row; the
-- triggers below move them when a counter starts or stops being positive. Figures never nest,
-- so at most three figures (the commune's, its district's, its province's) cover a counter.
ALTER TABLE reported_figure ADD COLUMN overlapped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reported_province_day ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;

UPDATE reported_figure SET overlapped = 1 WHERE EXISTS (
    SELECT 1 FROM unit_day_count u WHERE u.metric = reported_figure.metric
    AND u.day = reported_figure.day AND u.res_path >= reported_figure.res_path
    AND u.res_path < reported_figure.path_hi AND u.n > 0);
UPDATE reported_province_day SET counted = COALESCE((
    SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = reported_province_day.metric
    AND f.res_path >= reported_province_day.province * 100000000
    AND f.res_path < (reported_province_day.province + 1) * 100000000
    AND f.day = reported_province_day.day AND f.overlapped = 0), 0);

-- A counter became positive: the figures covering it stop counting.
CREATE TRIGGER reported_overlap_insert AFTER INSERT ON unit_day_count WHEN NEW.n > 0
BEGIN
    UPDATE reported_province_day SET counted = counted - COALESCE((
        SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = NEW.metric AND f.day = NEW.day
        AND f.overlapped = 0 AND f.res_path IN (NEW.res_path, NEW.res_path - NEW.res_path % 100000,
            NEW.res_path - NEW.res_path % 100000000)), 0)
    WHERE metric = NEW.metric AND province = NEW.res_path / 100000000 AND day = NEW.day;
    UPDATE reported_figure SET overlapped = 1
    WHERE metric = NEW.metric AND day = NEW.day AND overlapped = 0
    AND res_path IN (NEW.res_path, NEW.res_path - NEW.res_path % 100000,
        NEW.res_path - NEW.res_path % 100000000);
END;

CREATE TRIGGER reported_overlap_update_up AFTER UPDATE ON unit_day_count
WHEN OLD.n <= 0 AND NEW.n > 0
BEGIN
    UPDATE reported_province_day SET counted = counted - COALESCE((
        SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = NEW.metric AND f.day = NEW.day
        AND f.overlapped = 0 AND f.res_path IN (NEW.res_path, NEW.res_path - NEW.res_path % 100000,
            NEW.res_path - NEW.res_path % 100000000)), 0)
    WHERE metric = NEW.metric AND province = NEW.res_path / 100000000 AND day = NEW.day;
    UPDATE reported_figure SET overlapped = 1
    WHERE metric = NEW.metric AND day = NEW.day AND overlapped = 0
    AND res_path IN (NEW.res_path, NEW.res_path - NEW.res_path % 100000,
        NEW.res_path - NEW.res_path % 100000000);
END;

-- A counter stopped being positive (counters only grow in eid; kept right for any writer): a
-- covering figure counts again when no other counter inside its unit is positive that day.
CREATE TRIGGER reported_overlap_update_down AFTER UPDATE ON unit_day_count
WHEN OLD.n > 0 AND NEW.n <= 0
BEGIN
    UPDATE reported_province_day SET counted = counted + COALESCE((
        SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = OLD.metric AND f.day = OLD.day
        AND f.overlapped = 1 AND f.res_path IN (OLD.res_path, OLD.res_path - OLD.res_path % 100000,
            OLD.res_path - OLD.res_path % 100000000)
        AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric AND u.day = f.day
            AND u.res_path >= f.res_path AND u.res_path < f.path_hi AND u.n > 0)), 0)
    WHERE metric = OLD.metric AND province = OLD.res_path / 100000000 AND day = OLD.day;
    UPDATE reported_figure SET overlapped = 0
    WHERE metric = OLD.metric AND day = OLD.day AND overlapped = 1
    AND res_path IN (OLD.res_path, OLD.res_path - OLD.res_path % 100000,
        OLD.res_path - OLD.res_path % 100000000)
    AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = reported_figure.metric
        AND u.day = reported_figure.day AND u.res_path >= reported_figure.res_path
        AND u.res_path < reported_figure.path_hi AND u.n > 0);
END;

CREATE TRIGGER reported_overlap_delete AFTER DELETE ON unit_day_count WHEN OLD.n > 0
BEGIN
    UPDATE reported_province_day SET counted = counted + COALESCE((
        SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = OLD.metric AND f.day = OLD.day
        AND f.overlapped = 1 AND f.res_path IN (OLD.res_path, OLD.res_path - OLD.res_path % 100000,
            OLD.res_path - OLD.res_path % 100000000)
        AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric AND u.day = f.day
            AND u.res_path >= f.res_path AND u.res_path < f.path_hi AND u.n > 0)), 0)
    WHERE metric = OLD.metric AND province = OLD.res_path / 100000000 AND day = OLD.day;
    UPDATE reported_figure SET overlapped = 0
    WHERE metric = OLD.metric AND day = OLD.day AND overlapped = 1
    AND res_path IN (OLD.res_path, OLD.res_path - OLD.res_path % 100000,
        OLD.res_path - OLD.res_path % 100000000)
    AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = reported_figure.metric
        AND u.day = reported_figure.day AND u.res_path >= reported_figure.res_path
        AND u.res_path < reported_figure.path_hi AND u.n > 0);
END;
