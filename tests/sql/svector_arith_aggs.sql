CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- svector's + - * (element-wise; zeros are not stored), vector_norm and vector_dims, and the
-- aggregates avg and sum. The text form counts from 1 (README, "Differences from pgvecto.rs").
SELECT a + b AS sum, a - b AS difference, a * b AS product
  FROM (VALUES ('{1:1,3:2.5,5:-1}/6'::svector, '{3:-2.5,4:2,5:3}/6'::svector)) t(a, b);
-- The same as on the dense vectors.
SELECT (a + b)::vector = a::vector + b::vector AS add_ok, (a - b)::vector = a::vector - b::vector AS sub_ok,
       (a * b)::vector = a::vector * b::vector AS mul_ok
  FROM (VALUES ('{1:1,3:2.5,5:-1}/6'::svector, '{3:-2.5,4:2,5:3}/6'::svector)) t(a, b);
SELECT '{1:1}/3'::svector - '{1:1}/3' AS all_zero, '{}/3'::svector * '{2:7}/3' AS zero_times;
SELECT try($$SELECT '{1:1}/3'::svector + '{1:1}/4'$$) AS dims_mismatch,
       try($$SELECT '{1:3e38}/2'::svector + '{1:3e38}/2'$$) AS overflow,
       try($$SELECT '{1:3e38}/2'::svector * '{1:3e38}/2'$$) AS overflow_mul;
SELECT vector_norm('{1:3,9:4}/10'::svector) AS norm, svector_norm('{1:3,9:4}/10') AS same_norm,
       vector_dims('{1:3,9:4}/10'::svector) AS dims, vector_norm('{}/5'::svector) AS zero_norm;
-- With two vector_norm functions, an untyped literal is ambiguous (as vector_dims's already was).
SELECT vector_norm('[3,4]');

CREATE TABLE s (id int, g int, v svector(5));
INSERT INTO s VALUES (1, 1, '{1:1,3:3}/5'), (2, 1, '{3:1,4:4}/5'), (3, 1, '{}/5'), (4, 1, '{1:-1}/5'),
                     (5, 2, '{5:2}/5'), (6, 2, NULL);
SELECT g, avg(v), sum(v), count(v) FROM s GROUP BY g ORDER BY g;
-- The same as the dense aggregates.
SELECT avg(v)::vector = avg(v::vector) AS avg_ok, sum(v)::vector = sum(v::vector) AS sum_ok FROM s;
SELECT avg(v) AS avg_of_none, sum(v) AS sum_of_none FROM s WHERE false;
INSERT INTO s VALUES (7, 3, '{1:1}/5');
SELECT try($$SELECT avg(v::svector) FROM (VALUES ('{1:1}/5'), ('{1:1}/6')) t(v)$$) AS avg_dims_mismatch,
       try($$SELECT sum(v::svector) FROM (VALUES ('{1:1}/5'), ('{1:1}/6')) t(v)$$) AS sum_dims_mismatch;
-- Sums are kept in double precision: an average of values whose f32 sum overflows.
SELECT avg(v) FROM (VALUES ('{1:3e38}/2'::svector), ('{1:3e38}/2')) t(v);

-- In a parallel plan (partial aggregates combined): the same results as a serial one.
CREATE TABLE big (id int, v svector(1000));
INSERT INTO big SELECT i, to_svector(1000, ARRAY[1 + i % 1000, 1 + (i * 7 + 1) % 1000], ARRAY[i % 13 + 1, -1]::real[])
  FROM generate_series(1, 20000) i;
ANALYZE big;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM big;
SELECT md5(avg(v)::text) AS parallel_avg, md5(sum(v)::text) AS parallel_sum FROM big \gset
SET max_parallel_workers_per_gather = 0;
SELECT md5(avg(v)::text) = :'parallel_avg' AS avg_same, md5(sum(v)::text) = :'parallel_sum' AS sum_same FROM big;
SELECT svector_nnz(avg(v)) AS avg_nnz, vector_dims(avg(v)) AS avg_dims FROM big;
