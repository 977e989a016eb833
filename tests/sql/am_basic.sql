CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The access method and its operator classes.
SELECT amname, amtype FROM pg_am WHERE amname = 'vectors';
SELECT opcname, opcintype::regtype FROM pg_opclass
 WHERE opcmethod = (SELECT oid FROM pg_am WHERE amname = 'vectors') ORDER BY opcname;

-- The seed's Getting Started, as written.
CREATE TABLE items (id bigserial PRIMARY KEY, emb vector(4));
INSERT INTO items (emb)
VALUES ('[1.1, 2.2, 3.3, 4.4]');
CREATE INDEX ON items USING vectors (emb l2_ops)
WITH (options = $$
capacity = 2097152
size_ram = 4294967296
storage_vectors = "ram"
[algorithm.hnsw]
storage = "ram"
m = 32
ef = 256
$$);
SELECT *, emb <-> '[0, 0, 0, 0]' AS score
FROM items
ORDER BY emb <-> '[0, 0, 0, 0]'
LIMIT 10;
DROP TABLE items;

-- The seed's bvector example.
CREATE TABLE items (
  id bigserial PRIMARY KEY,
  embedding bvector(3) NOT NULL
);
INSERT INTO items (embedding) VALUES ('[1,0,1]'), ('[0,1,0]');
CREATE INDEX your_index_name ON items USING vectors (embedding bvector_l2_ops);
SELECT * FROM items ORDER BY embedding <-> '[1,0,1]' LIMIT 5;
DROP TABLE items;

-- Options: reloptions, the options string, and their errors.
CREATE TABLE t (id int PRIMARY KEY, v vector(3), u vector);
INSERT INTO t SELECT i, ARRAY[i, i % 7, i % 3]::real[] FROM generate_series(1, 1000) i;
CREATE INDEX t_m ON t USING vectors (v vector_l2_ops) WITH (m = 8, ef_construction = 40);
SELECT reloptions FROM pg_class WHERE relname = 't_m';
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (m = 1)$$) AS m_too_small;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (m = 101)$$) AS m_too_big;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (ef_construction = 2)$$) AS ef_too_small;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (lists = 100)$$) AS unknown_reloption;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (options = 'mm = 3')$$) AS unknown_key;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (options = E'[algorithm.hnsw]\nm = 500')$$) AS key_out_of_range;
SELECT try($$CREATE INDEX ON t USING vectors (v vector_l2_ops) WITH (options = '[algorithm.ivf]')$$) AS unknown_section;
SELECT try($$CREATE INDEX ON t USING vectors (u vector_l2_ops)$$) AS unsized_column;
SELECT try($$CREATE INDEX ON t USING vectors (v)$$) AS no_opclass;
SELECT try($$CREATE INDEX ON t USING vectors (v vecf16_l2_ops)$$) AS wrong_type_opclass;
SELECT try($$CREATE INDEX ON t USING vectors (id, v vector_l2_ops)$$) AS two_columns;
DROP INDEX t_m;

-- ef_search: default, range.
SHOW strata.ef_search;
SELECT try($$SET strata.ef_search = 0$$) AS zero, try($$SET strata.ef_search = 10001$$) AS too_big;
SET strata.ef_search = 10000;
RESET strata.ef_search;

-- EXPLAIN shows the index for ORDER BY distance LIMIT k, and not for
-- predicates it cannot answer.
CREATE INDEX t_l2 ON t USING vectors (v vector_l2_ops);
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <-> '[500,3,1]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM t WHERE v <-> '[500,3,1]' < 5;
SELECT id, v <-> '[500,3,1]' AS d FROM t ORDER BY v <-> '[500,3,1]' LIMIT 5;
-- Scans are counted in the statistics views (two scans within one transaction).
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT pg_stat_get_xact_numscans('t_l2'::regclass) AS scans_before \gset
SELECT id FROM t ORDER BY v <-> '[1,1,1]' LIMIT 1;
SELECT id FROM t ORDER BY v <-> '[2,2,2]' LIMIT 1;
SELECT pg_stat_get_xact_numscans('t_l2'::regclass) - :scans_before AS scans_counted;
COMMIT;
-- Wrong query dimensions, NULL query.
SELECT try($$SELECT id FROM t ORDER BY v <-> '[1,2]' LIMIT 1$$) AS wrong_dims;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> NULL LIMIT 5) s;

-- The scan streams: with ef_search = 10 it still returns every row asked
-- for, each once, in order of distance.
SET strata.ef_search = 10;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[500,3,1]' LIMIT 500) s;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[500,3,1]') s;
-- A filter the index knows nothing about still gets its k rows.
SELECT count(*) FROM (SELECT id FROM t WHERE id % 100 = 0 ORDER BY v <-> '[500,3,1]' LIMIT 10) s;
RESET strata.ef_search;

-- NULL vectors are not indexed and never returned.
INSERT INTO t VALUES (1001, NULL), (1002, '[500,3,1]');
SELECT id FROM t ORDER BY v <-> '[500,3,1]' LIMIT 3;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '[500,3,1]') s;
SELECT try($$INSERT INTO t VALUES (1003, '[1,2]')$$) AS insert_wrong_dims;

-- Inserts after the build are found before any rebuild; deletes disappear.
INSERT INTO t SELECT i, ARRAY[i, 0, 0]::real[] FROM generate_series(2001, 2100) i;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
DELETE FROM t WHERE id BETWEEN 2049 AND 2051;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
UPDATE t SET v = '[-5000,0,0]' WHERE id = 10;
SELECT id FROM t ORDER BY v <-> '[-5000,0,0]' LIMIT 1;
VACUUM t;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> '[0,0,0]') s;
SELECT count(*) FROM t WHERE v IS NOT NULL;

-- Maintenance: REINDEX, concurrent builds, TRUNCATE, DROP.
REINDEX INDEX t_l2;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
-- strata.code_cache: megabytes of segment codes a backend keeps; at 0 the
-- sealed segments are searched without their codes, with the same rows.
SHOW strata.code_cache;
SET enable_seqscan = off;
SET strata.code_cache = 0;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
RESET strata.code_cache;
SET strata.code_cache = -1;
RESET enable_seqscan;
REINDEX INDEX CONCURRENTLY t_l2;
SELECT id FROM t ORDER BY v <-> '[2049.9,0,0]' LIMIT 3;
CREATE INDEX CONCURRENTLY t_cos ON t USING vectors (v vector_cos_ops) WITH (m = 16, ef_construction = 64);
SELECT indisvalid FROM pg_index WHERE indexrelid = 't_cos'::regclass;
-- On 1,100 rows a sort of the table costs about as much as the index scan;
-- the point here is that the concurrently built index is used.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM t ORDER BY v <=> '[1,0,0]' LIMIT 3;
RESET enable_seqscan;
SELECT id FROM t ORDER BY v <=> '[1,0,0]', id LIMIT 3;
TRUNCATE t;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '[0,0,0]' LIMIT 5) s;
INSERT INTO t VALUES (1, '[1,1,1]'), (2, '[2,2,2]');
SELECT id FROM t ORDER BY v <-> '[2,2,2]' LIMIT 5;
DROP INDEX t_cos;
DROP INDEX t_l2;

-- An index on an empty table, filled afterwards.
CREATE TABLE e (id int, h vecf16(2));
CREATE INDEX e_h ON e USING vectors (h vecf16_cos_ops);
SELECT count(*) FROM (SELECT id FROM e ORDER BY h <=> '[1,0]' LIMIT 5) s;
INSERT INTO e VALUES (1, '[1,0]'), (2, '[0,1]'), (3, '[1,1]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM e ORDER BY h <=> '[1,0]' LIMIT 5;
SELECT id FROM e ORDER BY h <=> '[1,0]' LIMIT 5;
RESET enable_seqscan;

-- Vectors larger than a page (3072-d f32 = 12 KiB) in both segments.
CREATE TABLE big (id int, v vector(3072));
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[3072]) FROM generate_series(1, 20) i;
CREATE INDEX ON big USING vectors (v vector_l2_ops);
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[3072]) FROM generate_series(21, 30) i;
SET enable_seqscan = off;
SELECT id FROM big ORDER BY v <-> array_fill(24.2::real, ARRAY[3072])::vector LIMIT 3;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM big ORDER BY v <-> array_fill(0::real, ARRAY[3072])::vector) s;
RESET enable_seqscan;
