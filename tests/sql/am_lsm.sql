CREATE EXTENSION strata;
CREATE FUNCTION pseudo_random_vector(seed int, dims int) RETURNS real[] LANGUAGE sql IMMUTABLE AS $$
  SELECT array_agg((sin(seed * 12.9898 + j * 78.233) * 43758.5453 - floor(sin(seed * 12.9898 + j * 78.233) * 43758.5453) - 0.5)::real ORDER BY j)
  FROM generate_series(1, dims) j
$$;
-- Waits (up to 60 s) until the background merge has folded every growing segment.
CREATE FUNCTION wait_for_merge(idx text) RETURNS bool LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..600 LOOP
    IF (SELECT idx_growing = '{}' AND NOT idx_indexing FROM pg_vector_index_stat WHERE indexname = idx) THEN
      RETURN true;
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN false;
END $$;

CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, emb vector(16));
INSERT INTO items SELECT i, (i * 37 + 11) % 100, pseudo_random_vector(i, 16) FROM generate_series(1, 3000) i;
CREATE INDEX items_emb ON items USING vectors (emb vector_l2_ops) WITH (max_writing_size = 400);
SELECT indexname, idx_options, idx_tuples, idx_sealed, idx_growing, idx_write FROM pg_vector_index_stat;

-- Inserts land in the writing segment and are found before any merge.
INSERT INTO items SELECT i, (i * 37 + 11) % 100, pseudo_random_vector(i, 16) FROM generate_series(3001, 3300) i;
SELECT idx_tuples, idx_sealed, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
SET enable_seqscan = off;
SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(3150, 16)::vector LIMIT 1;
-- Past max_writing_size the writing segment is handed to the background
-- merge, which folds it into a sealed segment without anyone asking.
INSERT INTO items SELECT i, (i * 37 + 11) % 100, pseudo_random_vector(i, 16) FROM generate_series(3301, 4000) i;
SELECT wait_for_merge('items_emb');
SELECT idx_tuples, cardinality(idx_sealed) >= 2 AS merged_into_sealed, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(1, 16)::vector) s;
SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(3333, 16)::vector LIMIT 1;

-- Deletes: VACUUM marks them in every segment; scans never return them.
DELETE FROM items WHERE id % 4 = 0;
VACUUM items;
SELECT wait_for_merge('items_emb');
SELECT idx_tuples FROM pg_vector_index_stat WHERE indexname = 'items_emb';
SELECT count(*), count(*) FILTER (WHERE id % 4 = 0) AS deleted_returned
  FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(8, 16)::vector) s;
-- UPDATE of the vector: the old version is gone after VACUUM, the new one found.
UPDATE items SET emb = pseudo_random_vector(99999, 16) WHERE id = 5;
SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(99999, 16)::vector LIMIT 1;
VACUUM items;
SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(5, 16)::vector) s WHERE id = 5;

-- strata_optimize merges everything into one sealed segment, then has nothing to do.
SELECT strata_optimize('items_emb');
SELECT idx_tuples, idx_sealed, idx_sealed_deleted, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
SELECT strata_optimize('items_emb');
SELECT strata_optimize('items');
SELECT strata_optimize('items_pkey');

-- VBASE filtered search: k rows whenever k rows match, at 50%, 10% and 1%
-- selectivity, with recall against the exact filtered answer.
CREATE FUNCTION filtered(sel int, q int) RETURNS TABLE (rows_returned bigint, recall numeric) LANGUAGE plpgsql AS $$
DECLARE exact int[]; got int[];
BEGIN
  PERFORM set_config('enable_indexscan', 'off', true); PERFORM set_config('enable_seqscan', 'on', true);
  SELECT array_agg(id) INTO exact FROM (SELECT id FROM items WHERE cat < sel ORDER BY emb <-> pseudo_random_vector(-q, 16)::vector LIMIT 10) s;
  PERFORM set_config('enable_indexscan', 'on', true); PERFORM set_config('enable_seqscan', 'off', true);
  SELECT array_agg(id) INTO got FROM (SELECT id FROM items WHERE cat < sel ORDER BY emb <-> pseudo_random_vector(-q, 16)::vector LIMIT 10) s;
  RETURN QUERY SELECT cardinality(got)::bigint, (SELECT count(*) FROM unnest(got) g WHERE g = ANY (exact)) / 10.0;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM items WHERE cat < 10 ORDER BY emb <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 10;
SELECT sel AS percent, min(rows_returned) AS min_rows, avg(recall) >= 0.95 AS recall_ok
  FROM generate_series(1, 10) q, LATERAL (SELECT sel FROM unnest(ARRAY[50, 10, 1]) sel) s, LATERAL filtered(sel, q)
 GROUP BY sel ORDER BY sel DESC;
-- search_mode = basic stops after ef_search candidates, so a selective filter comes back short.
SET strata.search_mode = basic;
SET strata.ef_search = 20;
SELECT count(*) < 10 AS short FROM (SELECT id FROM items WHERE cat < 1 ORDER BY emb <-> pseudo_random_vector(-1, 16)::vector LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(-1, 16)::vector LIMIT 100) s;
RESET strata.search_mode;
SELECT count(*) FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(-1, 16)::vector LIMIT 100) s;
SELECT count(*) FROM (SELECT id FROM items WHERE cat < 1 ORDER BY emb <-> pseudo_random_vector(-1, 16)::vector LIMIT 10) s;
RESET strata.ef_search;
SHOW strata.search_mode;

-- Joins and subqueries (the shape of the seed's photo-search query).
CREATE TABLE cats (cat int PRIMARY KEY, label text);
INSERT INTO cats SELECT c, 'cat ' || c FROM generate_series(0, 99) c;
SELECT count(*), count(DISTINCT i.id) FROM (
  SELECT i.id, c.label FROM items i JOIN cats c USING (cat)
   WHERE c.label IN ('cat 3', 'cat 7')
   ORDER BY i.emb <-> (SELECT emb FROM items WHERE id = 2) LIMIT 10) i;

-- VACUUM FULL and REINDEX rebuild the index from the table.
VACUUM FULL items;
SELECT idx_tuples, idx_sealed, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM items ORDER BY emb <-> pseudo_random_vector(8, 16)::vector) s;
-- An idle writing segment is handed to the background merge by VACUUM.
INSERT INTO items SELECT i, (i * 37 + 11) % 100, pseudo_random_vector(i, 16) FROM generate_series(5001, 5050) i;
SELECT idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
VACUUM items;
SELECT wait_for_merge('items_emb');
SELECT idx_tuples, idx_sealed, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';
REINDEX INDEX items_emb;
SELECT idx_tuples, idx_sealed, idx_growing, idx_write FROM pg_vector_index_stat WHERE indexname = 'items_emb';

-- Pages of merged-away segments are reused by later merges once no snapshot
-- can still read them: repeated merges of a slowly growing index keep its size.
CREATE TABLE r (id int, v vector(8)) WITH (autovacuum_enabled = false);
INSERT INTO r SELECT i, array_fill(i::real, ARRAY[8]) FROM generate_series(1, 2000) i;
CREATE INDEX r_v ON r USING vectors (v vector_l2_ops);
INSERT INTO r SELECT i, array_fill(i::real, ARRAY[8]) FROM generate_series(2001, 2010) i;
SELECT strata_optimize('r_v');
SELECT idx_size AS size_after_first_merge, idx_free_pages > 0 AS old_pages_freed FROM pg_vector_index_stat WHERE indexname = 'r_v' \gset
INSERT INTO r SELECT i, array_fill(i::real, ARRAY[8]) FROM generate_series(2011, 2020) i;
SELECT strata_optimize('r_v');
INSERT INTO r SELECT i, array_fill(i::real, ARRAY[8]) FROM generate_series(2021, 2030) i;
SELECT strata_optimize('r_v');
SELECT :'old_pages_freed' AS old_pages_freed,
       idx_size - :size_after_first_merge < 8 * 8192 AS size_kept_by_reuse
  FROM pg_vector_index_stat WHERE indexname = 'r_v';
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM r ORDER BY v <-> array_fill(0::real, ARRAY[8])::vector) s;
