-- Issue 11: whether a reported figure counts is kept up to date when either side is written,
-- instead of being found at read time by joining a province's recorded counters against its
-- figures (the national ranking took 59 ms at p99 with 60 days of a province's figures).
-- `reported_figure.overlapped` is 1 while some unit inside the figure's unit recorded an event
-- of its metric that day (`unit_day_count.n > 0`): the rule then counts the recorded number and
-- not the figure. `reported_province_day.counted` sums the figures that count, beside `n`, the
-- sum of all. The figure's writer (`ops::reported::put_figure`) sets both for its own row; the
-- trigger below moves them when a counter starts or stops being positive. Figures never nest,
-- so at most three figures (the commune's, its district's, its province's) cover a counter.
--
-- Concurrency (READ COMMITTED): both writers first lock the province-day's row of
-- `reported_province_day` (creating it if missing) and only then read the other side, each
-- statement with a fresh snapshot; so of a figure and a counter written at once, the second to
-- take the lock sees the first's row after it commits.
ALTER TABLE reported_figure ADD COLUMN overlapped smallint NOT NULL DEFAULT 0;
ALTER TABLE reported_province_day ADD COLUMN counted bigint NOT NULL DEFAULT 0;

UPDATE reported_figure SET overlapped = 1 WHERE EXISTS (
    SELECT 1 FROM unit_day_count u WHERE u.metric = reported_figure.metric
    AND u.day = reported_figure.day AND u.res_path >= reported_figure.res_path
    AND u.res_path < reported_figure.path_hi AND u.n > 0);
UPDATE reported_province_day SET counted = COALESCE((
    SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = reported_province_day.metric
    AND f.res_path >= reported_province_day.province * 100000000
    AND f.res_path < (reported_province_day.province + 1) * 100000000
    AND f.day = reported_province_day.day AND f.overlapped = 0), 0);

CREATE FUNCTION reported_overlap_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    m text;
    k bigint;
    d bigint;
    up boolean := false;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        up := NEW.n > 0;
    END IF;
    IF up THEN
        m := NEW.metric; k := NEW.res_path; d := NEW.day;
    ELSE
        m := OLD.metric; k := OLD.res_path; d := OLD.day;
    END IF;
    INSERT INTO reported_province_day (metric, province, day, n, counted)
    VALUES (m, k / 100000000, d, 0, 0)
    ON CONFLICT (metric, province, day) DO UPDATE SET n = reported_province_day.n;
    IF up THEN
        UPDATE reported_province_day SET counted = counted - COALESCE((
            SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = m AND f.day = d
            AND f.overlapped = 0 AND f.res_path IN (k, k - k % 100000, k - k % 100000000)), 0)
        WHERE metric = m AND province = k / 100000000 AND day = d;
        UPDATE reported_figure SET overlapped = 1
        WHERE metric = m AND day = d AND overlapped = 0
        AND res_path IN (k, k - k % 100000, k - k % 100000000);
    ELSE
        UPDATE reported_province_day SET counted = counted + COALESCE((
            SELECT SUM(f.n) FROM reported_figure f WHERE f.metric = m AND f.day = d
            AND f.overlapped = 1 AND f.res_path IN (k, k - k % 100000, k - k % 100000000)
            AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric
                AND u.day = f.day AND u.res_path >= f.res_path AND u.res_path < f.path_hi
                AND u.n > 0)), 0)
        WHERE metric = m AND province = k / 100000000 AND day = d;
        UPDATE reported_figure f SET overlapped = 0
        WHERE f.metric = m AND f.day = d AND f.overlapped = 1
        AND f.res_path IN (k, k - k % 100000, k - k % 100000000)
        AND NOT EXISTS (SELECT 1 FROM unit_day_count u WHERE u.metric = f.metric
            AND u.day = f.day AND u.res_path >= f.res_path AND u.res_path < f.path_hi
            AND u.n > 0);
    END IF;
    RETURN NULL;
END;
$$;

-- Only a counter that starts or stops being positive can change what counts; counters only
-- grow in eid, so this fires once per unit, metric and day.
CREATE TRIGGER reported_overlap_insert AFTER INSERT ON unit_day_count
FOR EACH ROW WHEN (NEW.n > 0) EXECUTE FUNCTION reported_overlap_keep();
CREATE TRIGGER reported_overlap_update AFTER UPDATE ON unit_day_count
FOR EACH ROW WHEN ((OLD.n > 0) <> (NEW.n > 0)) EXECUTE FUNCTION reported_overlap_keep();
CREATE TRIGGER reported_overlap_delete AFTER DELETE ON unit_day_count
FOR EACH ROW WHEN (OLD.n > 0) EXECUTE FUNCTION reported_overlap_keep();
