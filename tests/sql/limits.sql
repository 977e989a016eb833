CREATE EXTENSION strata;
-- Reports an error as 'SQLSTATE: message' so expected output pins both.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- 65535 dimensions work for every type; 65536 is refused, in text, from
-- arrays and as a typmod (the text parser stops at the limit, before
-- building anything larger).
SELECT vector_dims(('[' || repeat('1,', 65534) || '1]')::vector) AS vector_text,
       vector_dims(('[' || repeat('1,', 65534) || '1]')::vecf16) AS vecf16_text,
       vector_dims(('[' || repeat('1,', 65534) || '1]')::bvector) AS bvector_text,
       vector_dims(array_fill(1::real, ARRAY[65535])::vector::vecf16) AS vecf16_cast,
       vector_dims(binarize(array_fill(1::real, ARRAY[65535])::vector)) AS bvector_cast;
SELECT what, try(q) FROM (VALUES
    ('vecf16 text', $$SELECT ('[' || repeat('1,', 65535) || '1]')::vecf16$$),
    ('bvector text', $$SELECT ('[' || repeat('1,', 65535) || '1]')::bvector$$),
    ('vector text, 1000001 dims', $$SELECT ('[' || repeat('1,', 1000000) || '1]')::vector$$),
    ('float8[]', $$SELECT array_fill(1::double precision, ARRAY[65536])::vector$$),
    ('int[]', $$SELECT array_fill(1::int, ARRAY[65536])::vector$$),
    ('vecf16 typmod', 'CREATE TABLE t1 (v vecf16(65536))'),
    ('bvector typmod', 'CREATE TABLE t2 (v bvector(65536))'),
    ('zero typmod', 'CREATE TABLE t3 (v vector(0))'),
    ('cast typmod', $$SELECT '[1,2]'::vector(65536)$$)) t(what, q);

-- A vectors index over 65535-dimensional vectors: sealed segment (vectors
-- in overflow pages), writing segment (entries spanning pages), merge.
CREATE TABLE big (id int PRIMARY KEY, v vector(65535));
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[65535])::vector FROM generate_series(1, 4) i;
CREATE INDEX big_v ON big USING vectors (v vector_l2_ops);
INSERT INTO big SELECT i, array_fill(i::real, ARRAY[65535])::vector FROM generate_series(5, 6) i;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 4) LIMIT 3;
SELECT id FROM big ORDER BY v <-> array_fill(4.4::real, ARRAY[65535])::vector LIMIT 3;
SELECT idx_sealed, idx_write FROM pg_vector_index_stat WHERE indexname = 'big_v';
SELECT strata_optimize('big_v');
SELECT id FROM big ORDER BY v <-> array_fill(5.6::real, ARRAY[65535])::vector LIMIT 3;
SELECT idx_sealed, idx_write FROM pg_vector_index_stat WHERE indexname = 'big_v';
-- The same for half-precision and bit vectors.
CREATE TABLE bigh (id int PRIMARY KEY, v vecf16(65535));
INSERT INTO bigh SELECT i, array_fill(i::real, ARRAY[65535])::vector::vecf16 FROM generate_series(1, 4) i;
CREATE INDEX ON bigh USING vectors (v vecf16_l2_ops);
SELECT id FROM bigh ORDER BY v <-> array_fill(2.2::real, ARRAY[65535])::vector::vecf16 LIMIT 2;
CREATE TABLE bigb (id int PRIMARY KEY, v bvector(65535));
INSERT INTO bigb SELECT i, binarize(array_fill(i - 2.5::real, ARRAY[65535])::vector) FROM generate_series(1, 4) i;
CREATE INDEX ON bigb USING vectors (v bvector_l2_ops);
SELECT id FROM bigb ORDER BY v <-> binarize(array_fill(1::real, ARRAY[65535])::vector), id LIMIT 2;
RESET enable_seqscan;
