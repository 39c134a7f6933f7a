-- Issue 11: the recorded counters summed per province and day, kept by a trigger on
-- `unit_day_count` (whoever writes it), so the ministry's national view reads 63 × days rows
-- instead of every commune's. `province` is the 2024 province number (`res_path / 100000000`).
CREATE TABLE province_day_count (
    metric   TEXT NOT NULL,
    province BIGINT NOT NULL,
    day      BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (metric, province, day)
);

INSERT INTO province_day_count (metric, province, day, n)
SELECT metric, res_path / 100000000, day, SUM(n) FROM unit_day_count
GROUP BY metric, res_path / 100000000, day;

CREATE FUNCTION province_day_count_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE province_day_count SET n = n - OLD.n
        WHERE metric = OLD.metric AND province = OLD.res_path / 100000000 AND day = OLD.day;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO province_day_count (metric, province, day, n)
        VALUES (NEW.metric, NEW.res_path / 100000000, NEW.day, NEW.n)
        ON CONFLICT (metric, province, day) DO UPDATE SET n = province_day_count.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER province_day_count_keep AFTER INSERT OR UPDATE OR DELETE ON unit_day_count
FOR EACH ROW EXECUTE FUNCTION province_day_count_keep();
