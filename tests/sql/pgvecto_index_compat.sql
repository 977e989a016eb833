CREATE EXTENSION strata;
-- ======================================================== bvector_hamming_ops
-- pgvecto.rs's name for the Hamming operator class: the same operator, distance and space
-- as bvector_l2_ops.
SELECT c.opcname, o.amopstrategy, o.amopopr::regoperator AS operator, o.amoppurpose
  FROM pg_opclass c JOIN pg_amop o ON o.amopfamily = c.opcfamily
 WHERE c.opcname IN ('bvector_l2_ops', 'bvector_hamming_ops')
 ORDER BY c.opcname, o.amopstrategy;
SELECT c.opcname, p.amprocnum, p.amproc::regprocedure AS support
  FROM pg_opclass c JOIN pg_amproc p ON p.amprocfamily = c.opcfamily
 WHERE c.opcname IN ('bvector_l2_ops', 'bvector_hamming_ops')
 ORDER BY c.opcname, p.amprocnum;
CREATE TABLE b (id int PRIMARY KEY, v bvector(16));
INSERT INTO b SELECT i, binarize(ARRAY(SELECT sin(i * j)::real FROM generate_series(1, 16) j)::vector)
  FROM generate_series(1, 500) i;
CREATE INDEX b_hamming ON b USING vectors (v bvector_hamming_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM b ORDER BY v <-> '[1,0,1,1,0,0,1,0,1,0,1,1,0,0,1,0]' LIMIT 10;
-- Through the index (ef_search above the row count: the graph search sees every row), the
-- same distances as an exact ranking.
SET strata.ef_search = 1000;
SELECT array_agg(d) AS index_distances FROM (
  SELECT v <-> '[1,0,1,1,0,0,1,0,1,0,1,1,0,0,1,0]' AS d FROM b
   ORDER BY v <-> '[1,0,1,1,0,0,1,0,1,0,1,1,0,0,1,0]' LIMIT 10) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(d) AS exact_distances FROM (
  SELECT v <-> '[1,0,1,1,0,0,1,0,1,0,1,1,0,0,1,0]' AS d FROM b
   ORDER BY v <-> '[1,0,1,1,0,0,1,0,1,0,1,1,0,0,1,0]' LIMIT 10) s;
RESET enable_indexscan;
RESET strata.ef_search;

-- ======================================================== pg_vector_index_stat
-- pgvecto.rs's columns (tablerelid, indexrelid, tablename, indexname, idx_status,
-- idx_indexing, idx_tuples, idx_sealed, idx_growing, idx_write, idx_size, idx_options) and
-- strata's own (idx_sealed_deleted, idx_free_pages); idx_options is the reloptions here.
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_name = 'pg_vector_index_stat' ORDER BY ordinal_position;
INSERT INTO b SELECT i, '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' FROM generate_series(501, 503) i;
SELECT tablerelid = 'b'::regclass AS tablerelid_ok, indexrelid = 'b_hamming'::regclass AS indexrelid_ok,
       tablename, indexname, idx_status, idx_indexing, idx_tuples, idx_sealed, idx_growing, idx_write,
       idx_size > 0 AS has_size, idx_options
  FROM pg_vector_index_stat;
