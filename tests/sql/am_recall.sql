CREATE EXTENSION strata;
-- Recall of index scans against exact search, per operator class, on fixed
-- pseudo-random data (3000 rows, 30 queries). Recall counts a returned row
-- as a hit when its true distance is within the exact 10th distance, so ties
-- (common with bits) are not penalised.
CREATE FUNCTION pseudo_random_vector(seed int, dims int) RETURNS real[] LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((sin(seed * 12.9898 + j * 78.233) * 43758.5453 - floor(sin(seed * 12.9898 + j * 78.233) * 43758.5453) - 0.5)::real ORDER BY j)
  FROM generate_series(1, dims) j
$$;
-- Sparse test data: the pseudo-random vector with its small elements zeroed
-- (about half of them).
CREATE FUNCTION sparsified(v real[]) RETURNS real[] LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg(CASE WHEN abs(x) < 0.25 THEN 0 ELSE x END ORDER BY j) FROM unnest(v) WITH ORDINALITY AS u(x, j)
$$;
CREATE TABLE data (id int PRIMARY KEY, v vector(32), h vecf16(32), b bvector(256), s svector(32), q veci8(32));
INSERT INTO data SELECT i, pseudo_random_vector(i, 32), pseudo_random_vector(i, 32)::vector::vecf16,
                        binarize(pseudo_random_vector(i, 256)::vector),
                        sparsified(pseudo_random_vector(i, 32))::vector::svector,
                        pseudo_random_vector(i, 32)::vector::veci8
  FROM generate_series(1, 3000) i;
CREATE TABLE queries (qid int PRIMARY KEY, v vector(32), h vecf16(32), b bvector(256), s svector(32), q veci8(32));
INSERT INTO queries SELECT i, pseudo_random_vector(-i, 32), pseudo_random_vector(-i, 32)::vector::vecf16,
                           binarize(pseudo_random_vector(-i, 256)::vector),
                           sparsified(pseudo_random_vector(-i, 32))::vector::svector,
                           pseudo_random_vector(-i, 32)::vector::veci8
  FROM generate_series(1, 30) i;

-- For one index: recall@10 over all queries, and whether every query's plan
-- was an index scan on it.
CREATE FUNCTION check_opclass(col text, opc text, op text)
RETURNS TABLE (opclass text, index_used bool, recall_ok bool) LANGUAGE plpgsql AS $$
DECLARE
  q record; kth float8; hits int := 0; n int; total int := 0; plan text; plans_ok bool := true;
BEGIN
  EXECUTE format('CREATE INDEX recall_idx ON data USING vectors (%I %s)', col, opc);
  FOR q IN EXECUTE format('SELECT qid, %I::text AS qv FROM queries ORDER BY qid', col) LOOP
    PERFORM set_config('enable_indexscan', 'off', true);
    PERFORM set_config('enable_seqscan', 'on', true);
    EXECUTE format('SELECT max(d) FROM (SELECT %I %s %L AS d FROM data ORDER BY 1 LIMIT 10) t', col, op, q.qv) INTO kth;
    PERFORM set_config('enable_indexscan', 'on', true);
    PERFORM set_config('enable_seqscan', 'off', true);
    EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM data ORDER BY %I %s %L LIMIT 10', col, op, q.qv) INTO plan;
    plans_ok := plans_ok AND plan LIKE 'Limit%';
    FOR plan IN EXECUTE format('EXPLAIN (COSTS OFF) SELECT id FROM data ORDER BY %I %s %L LIMIT 10', col, op, q.qv) LOOP
      IF plan LIKE '%Seq Scan%' OR plan LIKE '%Sort%' THEN plans_ok := false; END IF;
    END LOOP;
    EXECUTE format('SELECT count(*) FILTER (WHERE d <= $1 + 1e-6), count(*) FROM (SELECT %I %s %L AS d FROM data ORDER BY %I %s %L LIMIT 10) t',
                   col, op, q.qv, col, op, q.qv) INTO STRICT n, total USING kth;
    IF total <> 10 THEN RAISE EXCEPTION 'index scan returned % rows', total; END IF;
    hits := hits + n;
  END LOOP;
  EXECUTE 'DROP INDEX recall_idx';
  IF hits < 0.95 * 300 THEN RAISE NOTICE '% recall %', opc, hits / 300.0; END IF;
  RETURN QUERY SELECT opc, plans_ok, hits >= 0.95 * 300;
END $$;

SELECT * FROM check_opclass('v', 'vector_l2_ops', '<->');
SELECT * FROM check_opclass('v', 'vector_dot_ops', '<#>');
SELECT * FROM check_opclass('v', 'vector_cos_ops', '<=>');
SELECT * FROM check_opclass('v', 'l2_ops', '<->');
SELECT * FROM check_opclass('v', 'dot_ops', '<#>');
SELECT * FROM check_opclass('v', 'cos_ops', '<=>');
SELECT * FROM check_opclass('h', 'vecf16_l2_ops', '<->');
SELECT * FROM check_opclass('h', 'vecf16_dot_ops', '<#>');
SELECT * FROM check_opclass('h', 'vecf16_cos_ops', '<=>');
SELECT * FROM check_opclass('b', 'bvector_l2_ops', '<->');
SELECT * FROM check_opclass('b', 'bvector_dot_ops', '<#>');
SELECT * FROM check_opclass('b', 'bvector_cos_ops', '<=>');
SELECT * FROM check_opclass('b', 'bvector_jaccard_ops', '<~>');
SELECT * FROM check_opclass('s', 'svector_l2_ops', '<->');
SELECT * FROM check_opclass('s', 'svector_dot_ops', '<#>');
SELECT * FROM check_opclass('s', 'svector_cos_ops', '<=>');
SELECT * FROM check_opclass('q', 'veci8_l2_ops', '<->');
SELECT * FROM check_opclass('q', 'veci8_dot_ops', '<#>');
SELECT * FROM check_opclass('q', 'veci8_cos_ops', '<=>');
