CREATE EXTENSION strata;
-- The SQL-visible boundary cases of the fuzzed parsers (see docs/fuzzing.md and
-- crates/strata-core/tests/fuzz_regressions.rs), each with its SQLSTATE.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || left(SQLERRM, 90);
END $$;
-- One text input through all three types.
CREATE FUNCTION try_types(input text) RETURNS TABLE (type text, result text) LANGUAGE sql AS $$
    SELECT t, try(format('SELECT %L::%s', input, t)) FROM unnest(ARRAY['vector', 'vecf16', 'bvector']) t
$$;

-- ===================================================================== text input
SELECT left(i, 30) AS input, t.type, t.result
  FROM unnest(ARRAY['', ' ', '[', ']', '[]', E'[ \t\n]', '[,]', '[1,]', '[1,,0]', '[1 0]', '{1,0}',
                    '[[1]]', '[[1,0],[0]]', '[1]]', '[[1]', '[NaN]', '[-inf]', '[+Infinity]', '[infinit]',
                    '[1e39]', '[1e-50]', '[0e99999]', '[3.4028235e38]', '[65504]', '[65520]',
                    '[0x10]', '[1_000]', '[1e]', '[--1]', '[١]', '[１]', E'[1\u00a0]', '[é]', '[01]',
                    '[ 1 , 0 ]']) WITH ORDINALITY AS c(i, o),
       LATERAL try_types(i) t
 ORDER BY o, t.type;
-- Overlong numbers (jsonb prints 1e400 as 401 digits) and deep nesting.
SELECT t.type, t.result FROM try_types('[1' || repeat('0', 400) || ']') t;
SELECT t.type, t.result FROM try_types('[0.' || repeat('0', 400) || '1]') t;
SELECT t.type, t.result FROM try_types('[0.' || repeat('0', 100000) || ']') t;
SELECT t.type, t.result FROM try_types(repeat('[', 50000) || repeat(']', 50000)) t;
-- Dimension limits: 65535 parse, 65536 do not (22023), an unterminated long list is 22P02.
SELECT t.type, t.result FROM try_types('[' || repeat('1,', 65534) || '1]') t;
SELECT t.type, t.result FROM try_types('[' || repeat('1,', 65535) || '1]') t;
SELECT t.type, t.result FROM try_types('[' || repeat('0,', 70000)) t;
SELECT vector_dims(('[' || repeat('1,', 65534) || '1]')::vector) AS max_dims;
-- Typmods: 1 to 65535.
SELECT try('CREATE TABLE tm0 (v vector(0))') AS "vector(0)",
       try('CREATE TABLE tm1 (v vecf16(65536))') AS "vecf16(65536)",
       try('CREATE TABLE tm2 (v bvector(65535))') AS "bvector(65535)",
       try('CREATE TABLE tm3 (v vector(3, 4))') AS "vector(3, 4)",
       try('CREATE TABLE tm4 (v vector(-1))') AS "vector(-1)";
-- Arrays: NULLs, several dimensions, non-finite and out-of-range elements.
SELECT try($$SELECT ARRAY[1, NULL]::real[]::vector$$) AS null_element,
       try($$SELECT ARRAY[[1, 2], [3, 4]]::real[]::vector$$) AS two_d,
       try($$SELECT ARRAY['NaN']::real[]::vector$$) AS nan,
       try($$SELECT ARRAY[1e300]::float8[]::vector$$) AS out_of_range,
       try($$SELECT '{}'::real[]::vector$$) AS empty;

-- ===================================================================== binary input
-- recv through COPY (FORMAT binary): truncated, dims mismatch, NaN/inf, zero dims, trailing
-- bits, the 65535-dimension maximum. One row per file: header, tuple, trailer.
CREATE FUNCTION copy_field(tbl text, field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    file bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
               || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea;
    lo oid := lo_from_bytea(0, file);
    -- one file per cluster: test clusters of other checkouts may run at the same time
    path text := format('/tmp/strata_boundaries_%s.bin', current_setting('port'));
BEGIN
    PERFORM lo_export(lo, path);
    PERFORM lo_unlink(lo);
    RETURN try(format('COPY %I FROM %L WITH (FORMAT binary)', tbl, path));
END $$;
CREATE TABLE v (v vector);
CREATE TABLE h (h vecf16);
CREATE TABLE b (b bvector);
CREATE TABLE v3 (v vector(3));
SELECT c.name, copy_field('v', c.field) AS vector
  FROM (VALUES ('empty field', ''::bytea), ('3 header bytes', '\x000100'),
               ('zero dims, payload', '\x000000003f800000'),
               ('65535 dims', '\xffff0000'::bytea || decode(repeat('3f800000', 65535), 'hex')),
               ('65535 dims, 1 byte short', '\xffff0000'::bytea || decode(repeat('3f800000', 65534) || '3f8000', 'hex')),
               ('one trailing byte', '\x000100003f80000000'),
               ('+inf', '\x000100007f800000'), ('-inf', '\x00010000ff800000'),
               ('subnormal, -0', '\x000200000000000180000000'),
               ('reserved field set', '\x0001ffff3f800000')) c(name, field);
SELECT c.name, copy_field('h', c.field) AS vecf16
  FROM (VALUES ('65535 dims', '\xffff0000'::bytea || decode(repeat('3c00', 65535), 'hex')),
               ('NaN', '\x000100007e00'), ('-inf', '\x00010000fc00'), ('odd length', '\x000100003c'),
               ('f32 payload', '\x000100003f800000')) c(name, field);
SELECT c.name, copy_field('b', c.field) AS bvector
  FROM (VALUES ('64 dims', '\x00400000ffffffffffffffff'), ('65 dims, stray bit', '\x00410000ffffffffffffffff02'),
               ('65535 dims', '\xffff0000'::bytea || decode(repeat('ff', 8191) || '7f', 'hex')),
               ('65535 dims, stray bit', '\xffff0000'::bytea || decode(repeat('ff', 8192), 'hex')),
               ('zero dims', '\x00000000')) c(name, field);
SELECT copy_field('v3', '\x000200003f80000040000000') AS "2 dims into vector(3)";
SELECT vector_dims(v), vector_norm(v) FROM v ORDER BY 1;
SELECT vector_dims(h) FROM h ORDER BY 1;
SELECT vector_dims(b), b <-> b AS self_distance FROM b ORDER BY 1;

-- ===================================================================== index options
CREATE TABLE items (v vector(2));
SELECT c.options, try(format('CREATE INDEX ON items USING vectors (v vector_l2_ops) WITH (options = %L)', c.options)) AS result
  FROM (VALUES (''), (E'[algorithm.hnsw]\nm = 99999999999999999999'), (E'[algorithm.hnsw]\nm = 1'),
               (E'[algorithm.hnsw]\nm = -0'), (E'[algorithm.hnsw]\nef = 1_000'), ('capacity = 0'),
               ('capacity = 9223372036854775808'), ('[[algorithm.hnsw]]'), ('storage_vectors = "'),
               (E'\ufeffcapacity = 1'), ('= 1'), ('[')) c(options);
SELECT try('CREATE INDEX ON items USING vectors (v vector_l2_ops) WITH (m = 1)') AS m_1,
       try('CREATE INDEX ON items USING vectors (v vector_l2_ops) WITH (ef_construction = 100000)') AS ef_100000;
