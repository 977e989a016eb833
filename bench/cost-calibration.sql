-- Calibration of the vectors index's cost estimate for filtered scans (src/am/cost.rs,
-- streamed_row_pages). Not a test. In a database with the extension:
--   psql -v dims=16 -f bench/cost-calibration.sql     (and 64, 384)
-- 100,000 uniform random rows, `sel` uniform in 0..999, a vectors index and a btree on sel; for
-- WHERE sel < s ORDER BY v <-> q LIMIT 10 at 50%, 10%, 1% and 0.1%: the estimated cost and the
-- time per query (20 queries) of the index plan, of the exact plan (the matching rows ranked by
-- a sort) and of the plan the planner picks. Run twice; the second table is the warm one.
\set rows 100000
DROP TABLE IF EXISTS citem;
SELECT setseed(0.3);
CREATE TABLE citem (id int PRIMARY KEY, sel int NOT NULL, v vector(:dims));
INSERT INTO citem SELECT g, floor(random()*1000)::int,
   (SELECT array_agg(random()*2-1) FROM generate_series(1, :dims) d WHERE g > -d)::real[]::vector
  FROM generate_series(1, :rows) g;
CREATE INDEX citem_v ON citem USING vectors (v vector_l2_ops);
CREATE INDEX citem_sel ON citem (sel);
VACUUM ANALYZE citem;
CREATE TEMP TABLE q AS SELECT v FROM citem ORDER BY random() LIMIT 20;
CREATE OR REPLACE FUNCTION run_plan(s int, force text, OUT cost float8, OUT ms float8, OUT plan text) LANGUAGE plpgsql AS $$
DECLARE qv vector; t0 timestamptz; line text; n int := 0; c float8;
BEGIN
  PERFORM set_config('enable_bitmapscan', (force <> 'index')::text, true), set_config('enable_seqscan', (force <> 'index')::text, true),
          set_config('enable_sort', (force <> 'index')::text, true), set_config('enable_indexscan', (force <> 'exact')::text, true);
  qv := (SELECT v FROM q LIMIT 1);
  FOR line IN EXECUTE format('EXPLAIN SELECT id FROM citem WHERE sel < %s ORDER BY v <-> %L LIMIT 10', s, qv) LOOP
    IF n = 0 THEN cost := substring(line from '\.\.([0-9.]+)')::float8; plan := split_part(line, '(', 1); END IF; n := n + 1;
  END LOOP;
  t0 := clock_timestamp();
  FOR qv IN SELECT v FROM q LOOP
    EXECUTE 'SELECT count(*) FROM (SELECT id FROM citem WHERE sel < $2 ORDER BY v <-> $1 LIMIT 10) s' USING qv, s;
  END LOOP;
  ms := extract(epoch from clock_timestamp() - t0) * 1000 / 20;
END $$;
SELECT s, f, (run_plan(s, f)).* FROM unnest(ARRAY[500,100,10,1]) s, unnest(ARRAY['index','exact','chosen']) f;
SELECT s, f, (run_plan(s, f)).* FROM unnest(ARRAY[500,100,10,1]) s, unnest(ARRAY['index','exact','chosen']) f;
