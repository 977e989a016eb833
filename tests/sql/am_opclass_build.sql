CREATE EXTENSION strata;
-- Reports an error as 'SQLSTATE: message (hint)' so expected output pins them.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE hint text;
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
    RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' (hint: ' || nullif(hint, '') || ')', '');
END $$;

-- Every vectors operator class tells the index what it stores through
-- support function 2 (src/am/opclass.rs), not through a function's name.
SELECT opc.opcname, p.proname
  FROM pg_opclass opc
  JOIN pg_am am ON am.oid = opc.opcmethod AND am.amname = 'vectors'
  LEFT JOIN pg_amproc ap ON ap.amprocfamily = opc.opcfamily AND ap.amprocnum = 2
  LEFT JOIN pg_proc p ON p.oid = ap.amproc
 ORDER BY 1;

-- An index of each space builds and finds its nearest row.
CREATE TABLE spaces (id int, v vector(3), h vecf16(3), b bvector(3), i veci8(3), s svector(3));
INSERT INTO spaces SELECT g, ARRAY[g, 1, -g]::real[]::vector, ARRAY[g, 1, -g]::real[]::vector::vecf16,
       binarize(ARRAY[g % 2, 1, -g]::real[]::vector), ARRAY[g, 1, -g]::real[]::vector::veci8,
       ARRAY[g, 1, -g]::real[]::vector::svector
  FROM generate_series(1, 50) g;
CREATE INDEX ON spaces USING vectors (v vector_cos_ops);
CREATE INDEX ON spaces USING vectors (h vecf16_dot_ops);
CREATE INDEX ON spaces USING vectors (b bvector_jaccard_ops);
CREATE INDEX ON spaces USING vectors (i veci8_l2_ops);
CREATE INDEX ON spaces USING vectors (s svector_l2_ops);
SET enable_seqscan = off;
SELECT id FROM spaces ORDER BY v <=> '[7,1,-7]' LIMIT 1;
SELECT id FROM spaces ORDER BY s <-> '[7,1,-7]'::vector::svector LIMIT 1;
SELECT id FROM spaces ORDER BY i <-> '[7,1,-7]'::vector::veci8 LIMIT 1;
RESET enable_seqscan;

-- An operator class without support function 2 (as strata 0.1.0 made
-- them; a database keeps those until ALTER EXTENSION UPDATE) still builds
-- when its distance function is one of 0.1.0's; any other is refused with
-- what to do.
CREATE OPERATOR CLASS old_l2_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 vector_l2(vector, vector);
SELECT try('CREATE INDEX old_idx ON spaces USING vectors (v old_l2_ops)');
SELECT id FROM spaces ORDER BY v <-> '[7,1,-7]' LIMIT 1;
CREATE FUNCTION my_distance(vector, vector) RETURNS float8 LANGUAGE sql AS 'SELECT 0::float8';
CREATE OPERATOR <<->> (LEFTARG = vector, RIGHTARG = vector, PROCEDURE = my_distance);
CREATE OPERATOR CLASS mine_ops FOR TYPE vector USING vectors AS
    OPERATOR 1 <<->> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 my_distance(vector, vector);
SELECT try('CREATE INDEX ON spaces USING vectors (v mine_ops)');

-- A build that outgrows maintenance_work_mem continues in temporary files
-- and says so: still one segment (5000 rows; 1 MB holds about 2,300 in
-- memory, 32,768 once spilled).
CREATE TABLE many (id int, v vector(64));
INSERT INTO many SELECT g, array_fill((g % 97)::real, ARRAY[64])::vector FROM generate_series(1, 5000) g;
SET maintenance_work_mem = '1MB';
CREATE INDEX many_spilled ON many USING vectors (v vector_l2_ops);
SELECT idx_sealed FROM pg_vector_index_stat WHERE indexname = 'many_spilled';
SET enable_seqscan = off;
SELECT count(*) AS rows_at_distance_0 FROM (SELECT v <-> array_fill(5::real, ARRAY[64])::vector AS d
    FROM many ORDER BY v <-> array_fill(5::real, ARRAY[64])::vector LIMIT 60) t WHERE d = 0;
RESET enable_seqscan;
DROP INDEX many_spilled;
-- With temp_file_limit leaving no room for the files, the build splits
-- into segments of what fits in memory, says so, what it costs, and which
-- setting avoids it.
SET temp_file_limit = 0;
CREATE INDEX many_idx ON many USING vectors (v vector_l2_ops);
SELECT idx_sealed FROM pg_vector_index_stat WHERE indexname = 'many_idx';
-- Above 128 dimensions of real under cosine or inner product a build also
-- keeps a bf16 copy of each vector (2 bytes a dimension) that it measures
-- distances between its own rows on, and maintenance_work_mem counts it:
-- fewer rows per segment than the same vectors under L2. Every row still
-- finds itself.
CREATE TABLE wide (id int, v vector(160));
INSERT INTO wide SELECT g, (SELECT array_agg(sin(g * 0.37 + j * 1.3))::real[] FROM generate_series(1, 160) j)::vector
    FROM generate_series(1, 2000) g;
CREATE INDEX wide_l2 ON wide USING vectors (v vector_l2_ops);
CREATE INDEX wide_cos ON wide USING vectors (v vector_cos_ops);
SELECT indexname, idx_sealed FROM pg_vector_index_stat WHERE indexname LIKE 'wide_%' ORDER BY 1;
DROP INDEX wide_l2;
SET enable_seqscan = off;
SELECT count(*) AS rows_finding_themselves FROM wide w
    WHERE (SELECT v <=> w.v FROM wide ORDER BY v <=> w.v LIMIT 1) < 1e-6;
RESET enable_seqscan;
-- One that would need more segments than the directory holds is refused
-- (54000) before it writes them all: 16000-dim vectors, 16 per 1 MB segment.
CREATE TABLE huge (id int, v vector(16000));
INSERT INTO huge SELECT g, array_fill(g::real, ARRAY[16000])::vector FROM generate_series(1, 2100) g;
SELECT try('CREATE INDEX ON huge USING vectors (v vector_l2_ops)');
RESET maintenance_work_mem;
RESET temp_file_limit;
