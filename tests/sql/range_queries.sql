CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- Range queries (pgvecto.rs 0.2 and later): emb <<->> sphere(q, r) is emb <-> q < r, and
-- <<#>>, <<=>>, <<~>> likewise for <#>, <=>, <~>. Served by a vectors index (the stream stops
-- about a look-ahead window past the radius) and by a plain scan; the index's rows are checked
-- against an exact scan.
SELECT '[3,4]'::vector <<->> sphere('[0,0]'::vector, 25.5) AS inside, '[3,4]'::vector <<->> sphere('[0,0]'::vector, 25) AS on_the_edge,
       '[1,0]'::vector <<#>> sphere('[2,0]'::vector, -1.5) AS dot, '[1,0]'::vector <<=>> sphere('[0,1]'::vector, 1.01) AS cos,
       '[1,1,0]'::bvector <<~>> sphere('[1,0,0]'::bvector, 0.6) AS jaccard, '[1,1,0]'::bvector <<->> sphere('[1,0,0]'::bvector, 1) AS hamming;
SELECT sphere('[1,2]'::vector, 0.5) AS sphere_value, pg_typeof(sphere('{1:1}/3'::svector, 1)) AS svector_sphere;
SELECT try($$SELECT '[1,2]'::vector <<->> sphere('[1,2,3]'::vector, 1)$$) AS dims_mismatch,
       try($$SELECT '[1,2]'::vector <<->> sphere(NULL::vector, 1)$$) AS null_center,
       '[1,2]'::vector <<->> NULL::sphere_vector IS NULL AS null_sphere;

CREATE TABLE items (id int PRIMARY KEY, emb vector(8));
INSERT INTO items SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 1.3 + (i % 7) * j) FROM generate_series(1, 8) j)::real[]
  FROM generate_series(1, 3000) i;
-- The query: row 17's vector; the radius: the 21st-nearest distance (so 20 rows are strictly within).
SELECT emb AS q FROM items WHERE id = 17 \gset
SELECT d AS r FROM (SELECT emb <-> :'q' AS d FROM items ORDER BY 1 OFFSET 20 LIMIT 1) s \gset
SELECT count(*) AS exact_within FROM items WHERE emb <-> :'q' < :r;
-- A plain scan (no index yet).
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r);
SELECT count(*) AS plain_scan FROM items WHERE emb <<->> sphere(:'q'::vector, :r);

CREATE INDEX items_l2 ON items USING vectors (emb vector_l2_ops);
ANALYZE items;
-- The index serves the range (on 3,000 rows the planner estimates a sequential scan cheaper
-- than a graph search, so the index is forced here and below).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r);
CREATE TABLE through_index AS SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r);
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TABLE exact AS SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r);
RESET enable_indexscan;
SELECT (SELECT count(*) FROM through_index) AS index_rows, (SELECT count(*) FROM exact) AS exact_rows,
       (SELECT count(*) FROM (SELECT id FROM exact EXCEPT SELECT id FROM through_index) m) AS missed,
       (SELECT count(*) FROM (SELECT id FROM through_index EXCEPT SELECT id FROM exact) x) AS extra;
-- Several radii from the same and other centers, each compared with the exact rows.
CREATE FUNCTION compare_range(center_id int, k int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE c vector; radius real; via_index int[]; via_exact int[];
BEGIN
    SELECT emb INTO c FROM items WHERE id = center_id;
    SELECT emb <-> c INTO radius FROM items ORDER BY emb <-> c OFFSET k LIMIT 1;
    SET LOCAL enable_seqscan = off;
    SELECT array_agg(id ORDER BY id) INTO via_index FROM items WHERE emb <<->> sphere(c, radius);
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    SELECT array_agg(id ORDER BY id) INTO via_exact FROM items WHERE emb <<->> sphere(c, radius);
    RESET enable_indexscan;
    RETURN format('%s rows, %s', cardinality(via_exact), CASE WHEN via_index = via_exact THEN 'same' ELSE 'DIFFERENT' END);
END $$;
SELECT center, k, compare_range(center, k) FROM (VALUES (1, 1), (100, 5), (2500, 50), (999, 200)) t(center, k);
-- No row within: nothing, from either.
SET enable_seqscan = off;
SELECT count(*) AS none_within FROM items WHERE emb <<->> sphere(:'q'::vector, 0);

-- With ORDER BY ... LIMIT: the index serves both, nearest first.
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r) ORDER BY emb <-> :'q' LIMIT 5;
SELECT id, round((emb <-> :'q')::numeric, 4) AS d FROM items WHERE emb <<->> sphere(:'q'::vector, :r) ORDER BY emb <-> :'q' LIMIT 5;
-- A LIMIT above the range's rows returns the range's rows only.
SELECT count(*) AS limited FROM (SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r) ORDER BY emb <-> :'q' LIMIT 100) s;
-- ORDER BY another point: every row is checked against the range.
SELECT count(*) AS other_order FROM (SELECT id FROM items WHERE emb <<->> sphere(:'q'::vector, :r)
                                     ORDER BY emb <-> '[0,0,0,0,0,0,0,0]' LIMIT 100) s;
-- Combined with another condition.
SELECT count(*) = (SELECT count(*) FROM exact WHERE id % 2 = 0) AS with_filter
  FROM items WHERE emb <<->> sphere(:'q'::vector, :r) AND id % 2 = 0;

-- The scan stops at the radius: a small range reads a fraction of the buffers of a scan
-- that streams every row.
CREATE FUNCTION buffers(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || q INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint + (plan -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint;
END $$;
SELECT buffers(format('SELECT id FROM items WHERE emb <<->> sphere(%L::vector, %s)', :'q', :r)) * 4
     < buffers(format('SELECT id FROM items ORDER BY emb <-> %L LIMIT 3000', :'q')) AS stops_early;
RESET enable_seqscan;

-- The other metrics and types, through their indexes, against exact scans.
-- (bvector: 64 dimensions, as 8 binary dimensions hold only 256 distinct values.)
CREATE TABLE other (id int PRIMARY KEY, v vector(8), h vecf16(8), s svector(8), i8 veci8(8), b bvector(64));
INSERT INTO other SELECT id, emb, emb, emb, emb,
       binarize(ARRAY(SELECT sin(id * 0.37 + j * 1.3 + (id % 7) * j) FROM generate_series(1, 64) j)::real[]::vector)
  FROM items;
SELECT b AS qb FROM other WHERE id = 17 \gset
CREATE FUNCTION compare_other(index_def text, cond text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE via_index int[]; via_exact int[]; plan text;
BEGIN
    EXECUTE 'CREATE INDEX other_idx ON other USING vectors ' || index_def;
    SET LOCAL enable_seqscan = off;
    EXECUTE 'EXPLAIN (COSTS OFF) SELECT id FROM other WHERE ' || cond INTO plan;
    EXECUTE 'SELECT array_agg(id ORDER BY id) FROM other WHERE ' || cond INTO via_index;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    EXECUTE 'SELECT array_agg(id ORDER BY id) FROM other WHERE ' || cond INTO via_exact;
    RESET enable_indexscan; RESET enable_seqscan;
    DROP INDEX other_idx;
    RETURN format('%s; %s rows, %s', plan, coalesce(cardinality(via_exact), 0),
                  CASE WHEN via_index IS NOT DISTINCT FROM via_exact THEN 'same' ELSE 'DIFFERENT' END);
END $$;
SELECT def, compare_other(def, cond) FROM (VALUES
    ('(v vector_dot_ops)', format('v <<#>> sphere(%L::vector, -2.5)', :'q')),
    ('(v vector_cos_ops)', format('v <<=>> sphere(%L::vector, 0.1)', :'q')),
    ('(v l2_ops)', format('v <<->> sphere(%L::vector, 1.5)', :'q')),
    ('(h vecf16_l2_ops)', format('h <<->> sphere(%L::vecf16, 1.5)', :'q')),
    ('(h vecf16_cos_ops)', format('h <<=>> sphere(%L::vecf16, 0.1)', :'q')),
    ('(s svector_l2_ops)', format('s <<->> sphere(%L::svector, 1.5)', :'q')),
    ('(s svector_dot_ops)', format('s <<#>> sphere(%L::svector, -2.5)', :'q')),
    ('(i8 veci8_l2_ops)', format('i8 <<->> sphere(%L::veci8, 1.5)', :'q')),
    ('(b bvector_hamming_ops)', format('b <<->> sphere(%L::bvector, 20)', :'qb')),
    ('(b bvector_l2_ops)', format('b <<->> sphere(%L::bvector, 24)', :'qb')),
    ('(b bvector_jaccard_ops)', format('b <<~>> sphere(%L::bvector, 0.45)', :'qb')),
    ('(h vecf16_dot_ops)', format('h <<#>> sphere(%L::vecf16, -2.5)', :'q')),
    ('(s svector_cos_ops)', format('s <<=>> sphere(%L::svector, 0.1)', :'q')),
    ('(i8 veci8_dot_ops)', format('i8 <<#>> sphere(%L::veci8, -2.5)', :'q')),
    ('(i8 veci8_cos_ops)', format('i8 <<=>> sphere(%L::veci8, 0.1)', :'q'))) t(def, cond);
