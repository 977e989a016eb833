CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Comparison operators: element by element, then the shorter first.
SELECT '[1,2]'::vector < '[1,3]' AS lt, '[1,2]'::vector <= '[1,2]' AS le, '[1,2]'::vector = '[1,2]' AS eq,
       '[1,2]'::vector <> '[1,2,0]' AS ne, '[2]'::vector > '[1,5]' AS gt, '[1,2]'::vector >= '[1,2,0]' AS ge;
SELECT '[1,0]'::bvector < '[1,1]' AS bits_lt, '[0,1]'::bvector > '[1,0]' AS bits_gt_is_false,
       '[1,0,1]'::bvector = '[1,0,1]' AS bits_eq, '[1,2]'::vecf16 < '[1,2.5]' AS f16_lt;

-- btree: PRIMARY KEY, DISTINCT, GROUP BY, ORDER BY, index scans.
CREATE TABLE pk (v vector(2) PRIMARY KEY, h vecf16(2), b bvector(3));
INSERT INTO pk VALUES ('[1,2]', '[1,2]', '[1,0,1]'), ('[0,5]', '[0,5]', '[0,1,1]'), ('[1,1]', '[1,1]', '[1,0,1]');
SELECT try($$INSERT INTO pk VALUES ('[1,2]', NULL, NULL)$$) AS duplicate_key;
SELECT v FROM pk ORDER BY v;
SELECT v FROM pk ORDER BY v DESC;
SELECT DISTINCT b FROM pk ORDER BY b;
SELECT b, count(*) FROM pk GROUP BY b ORDER BY b;
SELECT h FROM pk ORDER BY h;
CREATE INDEX ON pk (h);
CREATE INDEX ON pk (b);
SET enable_seqscan = off;
SELECT v FROM pk WHERE v = '[1,1]';
SELECT b FROM pk WHERE b > '[0,1,1]' ORDER BY b;
RESET enable_seqscan;

-- Casts from arrays (assignment), to real[], between vector and vecf16.
SELECT '{1,2,3}'::real[]::vector AS from_real, '{1.5,2}'::float8[]::vector AS from_float8,
       '{1,2}'::int[]::vector AS from_int, '{1.25,2}'::numeric[]::vector AS from_numeric;
CREATE TABLE assign (v vector(3));
INSERT INTO assign VALUES (ARRAY[1,2,3]), (ARRAY[1.5,2.5,3.5]::real[]), (ARRAY[4,5,6]::numeric[]);
SELECT v FROM assign ORDER BY v;
SELECT '[1,2.5]'::vector::real[] AS to_real, '[1,2.5]'::vector::vecf16 AS to_f16,
       '[1,2.5]'::vecf16::vector AS from_f16, '[0.1]'::vector::vecf16::vector AS f16_rounding;
SELECT try($$SELECT '{1,NULL}'::real[]::vector$$) AS with_null,
       try($$SELECT '{{1,2},{3,4}}'::real[]::vector$$) AS two_d,
       try($$SELECT '{}'::real[]::vector$$) AS empty,
       try($$SELECT '{NaN}'::real[]::vector$$) AS nan,
       try($$SELECT '{1e300}'::float8[]::vector$$) AS too_big,
       try($$SELECT '[1e5]'::vector::vecf16$$) AS f16_range,
       try($$SELECT '{1,2}'::real[]::vector(3)$$) AS wrong_dims;

-- Aggregates.
CREATE TABLE agg (g int, v vector(3));
INSERT INTO agg VALUES (1, '[1,2,3]'), (1, '[3,2,1]'), (2, '[1,1,1]'), (2, NULL);
SELECT g, avg(v), sum(v) FROM agg GROUP BY g ORDER BY g;
SELECT avg(v), sum(v) FROM agg;
SELECT avg(v), sum(v) FROM agg WHERE false;
SELECT try($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1]')) t(v)$$) AS avg_mixed_dims;
-- Parallel aggregation uses the combine functions and agrees with serial.
CREATE TABLE many AS SELECT i, ARRAY[i % 10, (i % 7) * 0.5, 1]::real[]::vector(3) AS v FROM generate_series(1, 200000) i;
ANALYZE many;
SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM many;
SELECT avg(v), sum(v) FROM many;
SET max_parallel_workers_per_gather = 0;
SELECT avg(v), sum(v) FROM many;
