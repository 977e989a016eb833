CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- v[i] and v[a:b] on every vector type, with pgvecto.rs's indexing: 0-based and half-open,
-- v[a:b] holds elements a .. b-1; an omitted bound is the start or the end. v[i] is one
-- element (real; integer 0 or 1 for bvector).

-- pgvecto.rs's own cases (tests/sqllogictest/*_subscript.slt), same results.
SELECT ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)[3:6] AS "3:6", ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)[:4] AS ":4",
       ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)[5:] AS "5:", ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)[1:8] AS "1:8";
SELECT ('[0, 1, 2, 3, 4, 5, 6, 7]'::vecf16)[3:6] AS "3:6", ('[0, 1, 2, 3, 4, 5, 6, 7]'::vecf16)[:4] AS ":4",
       ('[0, 1, 2, 3, 4, 5, 6, 7]'::vecf16)[5:] AS "5:", ('[0, 1, 2, 3, 4, 5, 6, 7]'::vecf16)[1:8] AS "1:8";
SELECT ('[0, 1, 0, 1, 0, 1, 0, 1]'::bvector)[3:6] AS "3:6", ('[0, 1, 0, 1, 0, 1, 0, 1]'::bvector)[:4] AS ":4",
       ('[0, 1, 0, 1, 0, 1, 0, 1]'::bvector)[5:] AS "5:", ('[0, 1, 0, 1, 0, 1, 0, 1]'::bvector)[1:8] AS "1:8";
-- pgvecto.rs's svector cases, written in its dense form (strata's sparse text counts from 1,
-- pgvecto.rs's from 0, so the same elements are written {2:1, ...} here, {1:1, ...} there).
SELECT v[3:6] AS "3:6", v[:4] AS ":4", v[5:] AS "5:", v[1:8] AS "1:8"
  FROM (VALUES ('[0, 1, 2, 3, 4, 5, 6, 7]'::svector)) t(v);
SELECT v[3:7] AS "3:7", v[5:7] AS "5:7 (all zero)" FROM (VALUES ('[0, 0, 2, 0, 4, 0, 0, 7]'::svector)) t(v);
SELECT ('{}/8'::svector)[5:7] AS empty_slice;
-- veci8: a slice keeps the codes and the scale, so its elements keep their values.
SELECT v[3:6] AS "3:6", v[3:6]::vector = (v::vector)[3:6] AS same_values, v[5:]::vector AS "5: as vector"
  FROM (VALUES ('[0, 1, 2, 3, 4, 5, 6, 7]'::veci8)) t(v);
-- bvector slices across 64-bit words (pgvecto.rs's [:][:2] case, and more).
SELECT ((replace(replace(array_agg(1)::real[]::text, '{', '['), '}', ']')::bvector)[:])[:2] AS ones
  FROM generate_series(1, 64);
SELECT v[60:70] AS "60:70", v[63:129] = binarize(ARRAY(SELECT (CASE WHEN i % 3 = 0 THEN 1 ELSE -1 END)::real
                                                       FROM generate_series(63, 128) i)::vector) AS "63:129 ok",
       vector_dims(v[1:130]) AS dims
  FROM (SELECT binarize(ARRAY(SELECT (CASE WHEN i % 3 = 0 THEN 1 ELSE -1 END)::real FROM generate_series(0, 129) i)::vector) AS v) t;

-- One element: v[i] = v[i:i+1]'s element.
SELECT v[0] AS "0", v[3] AS "3", v[7] AS "7", pg_typeof(v[0]) AS type
  FROM (VALUES ('[0, 1.5, 2, 3.25, 4, 5, 6, -7]'::vector)) t(v);
SELECT v[3] AS "3", v[7] AS "7", pg_typeof(v[0]) AS type FROM (VALUES ('[0, 1.5, 2, 3.25, 4, 5, 6, -7]'::vecf16)) t(v);
SELECT v[0] AS "0", v[1] AS "1", v[65] AS "65", pg_typeof(v[0]) AS type
  FROM (SELECT binarize(ARRAY(SELECT (CASE WHEN i IN (1, 65) THEN 1 ELSE -1 END)::real FROM generate_series(0, 69) i)::vector) AS v) t;
SELECT v[0] AS "0", v[1] AS "1", v[6] AS "6", pg_typeof(v[0]) AS type
  FROM (VALUES ('{2:1.5, 7:-7}/8'::svector)) t(v);
SELECT v[3] AS "3", v[7] AS "7", pg_typeof(v[0]) AS type,
       v[3] = (v::vector)[3] AS same_as_dequantised FROM (VALUES ('[0, 1, 2, 3, 4, 5, 6, -7]'::veci8)) t(v);
-- Subscripts are integers; other types are cast (as for arrays) or refused.
SELECT ('[0, 1, 2, 3]'::vector)[1::bigint] AS "bigint", ('[0, 1, 2, 3]'::vector)['2'] AS "text literal",
       ('[0, 1, 2, 3]'::vector)[1.6] AS "numeric (rounded)";
SELECT try($$SELECT ('[0, 1, 2, 3]'::vector)[true]$$) AS boolean_subscript;

-- NULL bounds give NULL (as pgvecto.rs and arrays); a NULL vector gives NULL.
SELECT v[NULL:NULL] IS NULL AS "NULL:NULL", v[NULL:8] IS NULL AS "NULL:8", v[1:NULL] IS NULL AS "1:NULL",
       v[NULL:] IS NULL AS "NULL:", v[:NULL] IS NULL AS ":NULL", v[NULL] IS NULL AS "NULL"
  FROM (VALUES ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)) t(v);
SELECT (NULL::vector)[1:2] IS NULL AS null_vector_slice, (NULL::svector)[1] IS NULL AS null_vector_element;

-- Bounds outside the vector are errors (2202E) where pgvecto.rs returns NULL: an empty slice
-- ([5:4], [3:3], [:0]), one past the end ([9:], [0:9], [8]), a negative bound.
SELECT s AS subscript, try(format('SELECT (%L::vector)%s', '[0, 1, 2, 3, 4, 5, 6, 7]', s)) AS vector,
       try(format('SELECT (%L::svector)%s', '[0, 1, 2, 3, 4, 5, 6, 7]', s)) AS svector,
       try(format('SELECT (%L::bvector)%s', '[0, 1, 0, 1, 0, 1, 0, 1]', s)) AS bvector
  FROM (VALUES ('[5:4]'), ('[3:3]'), ('[:0]'), ('[:-1]'), ('[9:]'), ('[0:9]'), ('[-1:2]'), ('[8]'), ('[-1]'),
               ('[2147483647]')) t(s);
SELECT try($$SELECT ('[0, 1]'::vecf16)[2]$$) AS vecf16, try($$SELECT ('[0, 1]'::veci8)[0:3]$$) AS veci8;
-- As psql shows one.
SELECT ('[0, 1, 2]'::vector)[1:5];
-- One subscript only, and no assignment (pgvecto.rs refuses both too).
SELECT ('[0, 1, 2, 3, 4, 5, 6, 7]'::vector)[3:5][0:1];
CREATE TABLE t (v vector(3));
INSERT INTO t VALUES ('[1, 2, 3]');
UPDATE t SET v[0] = 5;
-- From a column, in WHERE and ORDER BY.
INSERT INTO t VALUES ('[0, 5, 1]'), ('[2, 0, 9]');
SELECT v, v[1:] AS tail FROM t WHERE v[0] < 2 ORDER BY v[2];
