CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE TABLE items (id int PRIMARY KEY, emb vector(3));
INSERT INTO items SELECT i, ARRAY[i % 10, i % 7, i % 3]::real[] FROM generate_series(1, 300) i;

-- pgvecto.rs 0.1.5 and later: [indexing.hnsw] with m and ef_construction, no NOTICE.
CREATE INDEX items_current ON items USING vectors (emb vector_l2_ops)
WITH (options = '[indexing.hnsw]
m = 16
ef_construction = 64');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY emb <-> '[3,3,1]' LIMIT 3;
SELECT id, emb FROM items ORDER BY emb <-> '[3,3,1]', id LIMIT 3;
RESET enable_seqscan;
DROP INDEX items_current;
-- m reaches the graph: a node keeps room for its m neighbours (about 10 m bytes each).
CREATE INDEX items_m2 ON items USING vectors (emb vector_l2_ops) WITH (options = E'[indexing.hnsw]\nm = 2');
CREATE INDEX items_m100 ON items USING vectors (emb vector_l2_ops) WITH (options = E'[indexing.hnsw]\nm = 100');
SELECT pg_relation_size('items_m100') > 2 * pg_relation_size('items_m2') AS m_changes_the_index;
DROP INDEX items_m2, items_m100;

-- The keys pgvecto.rs also writes: validated, then ignored with one NOTICE each.
CREATE INDEX items_full ON items USING vectors (emb vector_cos_ops)
WITH (options = $$
[indexing.hnsw]
m = 20
ef_construction = 100
[indexing.hnsw.quantization.product]
ratio = 8
[segment]
max_growing_segment_size = 20000
max_sealed_segment_size = 1000000
[optimizing]
optimizing_threads = 4
sealing_secs = 60
delete_threshold = 0.2
$$);
-- Dotted keys and inline tables are the same TOML.
CREATE INDEX items_dotted ON items USING vectors (emb vector_dot_ops)
WITH (options = 'optimizing.optimizing_threads = 4
indexing = { hnsw = { m = 8, quantization = { scalar = { bits = 8 } } } }');
-- pgvecto.rs 0.2's quantizer spellings.
CREATE INDEX items_02 ON items USING vectors (emb vector_l2_ops)
WITH (options = E'[indexing.hnsw.quantization.product]\nratio = "x16"\nsample = 65535');
-- ALTER INDEX ... SET validates (and reports) the same way.
ALTER INDEX items_02 SET (options = E'[indexing.hnsw]\nm = 12\n[optimizing]\noptimizing_threads = 2');
SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'items\_%' AND relkind = 'i' ORDER BY relname;
DROP INDEX items_full, items_dotted, items_02;

-- The older syntax keeps working; its storage keys are now reported as ignored too.
CREATE INDEX items_old ON items USING vectors (emb l2_ops)
WITH (options = $$
capacity = 2097152
size_ram = 4294967296
storage_vectors = "ram"
[algorithm.hnsw]
storage = "ram"
m = 32
ef = 256
$$);
DROP INDEX items_old;

-- Errors: 22023, with the line. Unknown keys and sections are refused by name; strata
-- builds HNSW only.
SELECT o AS options, try(format('CREATE INDEX ON items USING vectors (emb vector_l2_ops) WITH (options = %L)', o)) AS result
  FROM (VALUES (E'[indexing.hnsw]\nm = 16\nmm = 3'),
               (E'[indexing.ivf]\nnlist = 100'),
               (E'[indexing.flat]'),
               (E'[indexing.hnsw]\nm = 128'),
               (E'[indexing.hnsw]\nef_construction = 2000'),
               (E'[indexing.hnsw.quantization.lossy]'),
               (E'[indexing.hnsw.quantization.scalar]\nbits = 3'),
               (E'[indexing.hnsw.quantization.product]\nratio = 9'),
               (E'[segment]\nmax_growing_segment_size = 0'),
               (E'[optimizing]\noptimizing_threads = 65536'),
               (E'[optimizing]\ndelete_threshold = 2'),
               (E'[optimizing]\nthreads = 4'),
               (E'[indexing.hnsw]\nm = "16"'),
               (E'[algorithm.hnsw]\nm = 16\n[indexing.hnsw]\nm = 16'),
               (E'[algorithm.hnsw]\nef = 16\nef_construction = 16'),
               (E'[indexing.hnsw]\nm = 16\n[indexing.hnsw]\nm = 8'),
               ('m = 16')) t(o);
-- The error as psql shows it, with its hint.
CREATE INDEX ON items USING vectors (emb vector_l2_ops) WITH (options = '[indexing.ivf]');
-- Nothing was left behind by the failed statements.
SELECT count(*) AS indexes FROM pg_indexes WHERE tablename = 'items';
