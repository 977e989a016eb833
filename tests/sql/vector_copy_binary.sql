CREATE EXTENSION strata;
-- Binary COPY round trip for all three types (send/recv).
CREATE TABLE src (id int, v vector(3), h vecf16(3), b bvector(70));
INSERT INTO src VALUES
  (1, '[1,2.5,-3]', '[0.1,65504,-2]', ('[' || repeat('1,0,', 34) || '1,1]')::bvector),
  (2, '[1e-30,3.3333333,7e37]', '[0,0,1]', ('[' || repeat('0,', 69) || '1]')::bvector),
  (3, NULL, NULL, NULL);
COPY src TO '/tmp/strata_copy_binary.bin' WITH (FORMAT binary);
CREATE TABLE dst (LIKE src);
COPY dst FROM '/tmp/strata_copy_binary.bin' WITH (FORMAT binary);
SELECT s.id, s.v IS NOT DISTINCT FROM d.v AS v_same, s.h IS NOT DISTINCT FROM d.h AS h_same,
       s.b IS NOT DISTINCT FROM d.b AS b_same, d.v, d.h
  FROM src s JOIN dst d USING (id) ORDER BY id;
-- Typmods are checked on binary input too.
CREATE TABLE narrow (id int, v vector(2), h vecf16(3), b bvector(70));
COPY narrow FROM '/tmp/strata_copy_binary.bin' WITH (FORMAT binary);
-- Text COPY round trip.
COPY src TO '/tmp/strata_copy_text.txt';
TRUNCATE dst;
COPY dst FROM '/tmp/strata_copy_text.txt';
SELECT count(*) FILTER (WHERE s.v IS NOT DISTINCT FROM d.v AND s.h IS NOT DISTINCT FROM d.h
                          AND s.b IS NOT DISTINCT FROM d.b) AS identical
  FROM src s JOIN dst d USING (id);
-- The wire format of vector_send: dims, reserved, big-endian floats.
SELECT vector_send('[1,2]'), vecf16_send('[1,2]'), bvector_send('[1,0,1,1,0,0,0,0,1]');
-- Malformed binary input is an error, never a crash or an over-read: build
-- COPY BINARY files by hand (one row, one column) and load them.
CREATE FUNCTION copy_one_field(tbl text, field bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  file bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
             || '\x0001'::bytea || int4send(length(field)) || field || '\xffff'::bytea;
  lo oid := lo_from_bytea(0, file);
BEGIN
  PERFORM lo_export(lo, '/tmp/strata_malformed.bin');
  PERFORM lo_unlink(lo);
  EXECUTE format('COPY %I FROM %L WITH (FORMAT binary)', tbl, '/tmp/strata_malformed.bin');
  RETURN 'loaded';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE TABLE v1 (v vector);
CREATE TABLE h1 (h vecf16);
CREATE TABLE b1 (b bvector);
SELECT copy_one_field('v1', '\x000200003f80000040000000') AS well_formed,
       copy_one_field('v1', '\x000300003f80000040000000') AS too_short,
       copy_one_field('v1', '\x000100003f80000040000000') AS too_long,
       copy_one_field('v1', '\x0000000000') AS zero_dims,
       copy_one_field('v1', '\x0001') AS truncated_header,
       copy_one_field('v1', '\x000100007fc00000') AS nan;
SELECT copy_one_field('h1', '\x000200003c004000') AS well_formed,
       copy_one_field('h1', '\x000200003c00') AS too_short,
       copy_one_field('h1', '\x000100007c00') AS infinity;
SELECT copy_one_field('b1', '\x000900000d01') AS well_formed,
       copy_one_field('b1', '\x000900000d03') AS stray_bit,
       copy_one_field('b1', '\x000900000d') AS too_short;
SELECT v FROM v1;
SELECT h FROM h1;
SELECT b FROM b1;
