CREATE EXTENSION strata;
-- Reports an error as 'SQLSTATE: message' so expected output pins both.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Text input: whitespace, signs, exponents; output is the shortest exact text.
SELECT '[1, 2.5, -3]'::vector, ' [ 1e3 ,+2, .5, 5. ] '::vector, '[0.1]'::vector, '[-0]'::vector;
SELECT '[3.4028235e38, 1e-45, 1.17549435e-38, 123456.79, 1e-7, 1e20]'::vector;
SELECT '[1, 2.5, -3]'::vecf16, '[0.1, 65504, 6e-8]'::vecf16, '[1,0,1]'::bvector, ' [ 0 , 1 ] '::bvector;
-- Round trips through text are exact.
SELECT v::text::vector = v AS round_trip
  FROM (VALUES ('[0.1,0.2,0.3]'::vector), ('[1e-30,3.3333333,-7e37]')) t(v);

-- Every kind of bad input, with its SQLSTATE.
SELECT input, try(format('SELECT %L::vector', input)) AS vector_input
  FROM unnest(ARRAY['[1,,2]', '1,2', '[1,2', '[1,2]x', '[a]', '[1 2]', '', '[]', '[ ]',
                    '[NaN]', '[Infinity]', '[-inf]', '[1e39]', '[-1e39]', '[1e-50]', '[0x10]']) input;
SELECT input, try(format('SELECT %L::vecf16', input)) AS vecf16_input
  FROM unnest(ARRAY['[70000]', '[-1e5]', '[nan]', '[1,]', '[]']) input;
SELECT input, try(format('SELECT %L::bvector', input)) AS bvector_input
  FROM unnest(ARRAY['[1,2]', '[0.5]', '[1 ,0, x]', '[]', '1,0']) input;

-- Dimension limits: 65535 works (and TOASTs), 65536 is refused.
SELECT vector_dims(array_fill(1.5::real, ARRAY[65535])::vector) AS max_dims;
SELECT try($$SELECT array_fill(1::real, ARRAY[65536])::vector$$) AS too_many;
SELECT try($$SELECT ('[' || repeat('1,', 65535) || '1]')::vector$$) AS too_many_text;
CREATE TABLE big (v vector(65535));
INSERT INTO big SELECT array_fill(0.25::real, ARRAY[65535])::vector;
SELECT vector_dims(v), v = array_fill(0.25::real, ARRAY[65535])::vector AS intact,
       pg_column_size(v) < 65535 * 4 AS compressed FROM big;

-- Typmods.
CREATE TABLE t (v vector(3), h vecf16(2), b bvector(4));
INSERT INTO t VALUES ('[1,2,3]', '[1,2]', '[1,0,0,1]');
SELECT try($$INSERT INTO t (v) VALUES ('[1,2,3,4]')$$) AS wrong_vector_dims;
SELECT try($$INSERT INTO t (h) VALUES ('[1]')$$) AS wrong_vecf16_dims;
SELECT try($$INSERT INTO t (b) VALUES ('[1]')$$) AS wrong_bvector_dims;
SELECT try($$SELECT '[1,2]'::vector(3)$$) AS cast_dims;
SELECT try($$CREATE TABLE bad (v vector(0))$$) AS typmod_zero;
SELECT try($$CREATE TABLE bad (v vector(65536))$$) AS typmod_too_big;
SELECT try($$CREATE TABLE bad (v vector(2, 3))$$) AS typmod_two;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum;
-- Unsized columns take any dimensions.
CREATE TABLE anydim (v vector);
INSERT INTO anydim VALUES ('[1]'), ('[1,2,3,4,5]');
SELECT v, vector_dims(v) FROM anydim ORDER BY v;
-- NULLs pass through strict functions.
SELECT NULL::vector <-> '[1]', vector_dims(NULL::vector);
