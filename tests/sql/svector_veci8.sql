CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- ===================================================================== svector
-- Both text forms read to the same value; output is the sparse form with
-- 1-based indices; zeros are not stored.
SELECT '[0.1,0,0,0,0,0,0,0,0,0]'::svector AS dense_form, ' { 7 : 0.5 , 1:0.1 } / 10 '::svector AS sparse_form,
       '{}/4'::svector AS all_zero, '{2:0, 3:1.5}/3'::svector AS explicit_zero;
SELECT '[0.1,0,0,0,0,0,0,0,0,0]'::svector = '{1:0.1}/10' AS same_value, svector_nnz('[0,2,0,3]'), vector_dims('{1:1}/1048575'::svector);
SELECT v::text::svector = v AS round_trip FROM (VALUES ('{1:1e-30,5:-3.3333333,1048575:7e37}/1048575'::svector)) t(v);
SELECT input, try(format('SELECT %L::svector', input)) AS svector_input
  FROM unnest(ARRAY['{1:1,1:2}/3', '{4:1}/3', '{0:1}/3', '{1:1}/0', '{1:1}/1048576', '{1:1}', '{1:1}/x',
                    '{a:1}/3', '{1:}/3', '{1:NaN}/3', '{1:1e39}/3', '{-1:1}/3', '[]', '[1,,2]', '{1:1,}/3']) input;
SELECT try('CREATE TABLE bad (s svector(1048576))') AS typmod_too_big, try('CREATE TABLE bad (s svector(0))') AS typmod_zero;
CREATE TABLE sv (id int, s svector(5));
SELECT try($$INSERT INTO sv VALUES (1, '{1:1}/6')$$) AS wrong_dims;

-- Distances mean what they mean for vector: compare with the dense forms.
SELECT a <-> b AS l2, a::vector <-> b::vector AS l2_dense,
       a <#> b AS neg_dot, a::vector <#> b::vector AS neg_dot_dense,
       round((a <=> b)::numeric, 6) AS cosine, round((a::vector <=> b::vector)::numeric, 6) AS cosine_dense
  FROM (VALUES ('{1:1,3:-2}/5'::svector, '{3:1,5:4}/5'::svector), ('{}/2', '{1:1}/2')) t(a, b);
SELECT try($$SELECT '{1:1}/3'::svector <-> '{1:1}/4'$$) AS dims_mismatch;
SELECT svector_norm('{1:3,9:4}/10');

-- Casts and to_svector (1-based indices, any order).
SELECT '[0,1.5,0,-2]'::vector::svector AS from_vector, '{2:1.5,4:-2}/4'::svector::vector AS to_vector,
       to_svector(6, '{5,2}', '{0.5,-1}') AS built;
SELECT try($$SELECT to_svector(3, '{1,1}', '{1,2}')$$) AS duplicate,
       try($$SELECT to_svector(3, '{4}', '{1}')$$) AS outside,
       try($$SELECT to_svector(3, '{0}', '{1}')$$) AS zero_index,
       try($$SELECT to_svector(3, '{1,2}', '{1}')$$) AS lengths,
       try($$SELECT '{1:1}/70000'::svector::vector$$) AS too_wide_for_vector;

-- btree order and equality (DISTINCT, ORDER BY, GROUP BY).
INSERT INTO sv VALUES (1, '{1:1}/5'), (2, '{2:1}/5'), (3, '[1,0,0,0,0]'), (4, '{}/5'), (5, '{1:-1}/5');
SELECT s, count(*) FROM sv GROUP BY s ORDER BY s;

-- Binary COPY round trip and malformed binary input.
COPY sv TO '/tmp/strata_sv.bin' WITH (FORMAT binary);
CREATE TABLE sv2 (LIKE sv);
COPY sv2 FROM '/tmp/strata_sv.bin' WITH (FORMAT binary);
SELECT (SELECT array_agg(s ORDER BY id) FROM sv) = (SELECT array_agg(s ORDER BY id) FROM sv2) AS binary_round_trip;
SELECT svector_send('{2:1.5}/3');
SELECT try($$SELECT svector_recv(NULL, 0, -1)$$) IS NOT NULL AS recv_is_strict;
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
CREATE TABLE s1 (s svector);
SELECT copy_one_field('s1', '\x0000000300000001000000013fc00000') AS well_formed,
       copy_one_field('s1', '\x00000003000000010000000313fc0000') AS index_outside,
       copy_one_field('s1', '\x000000030000000200000001 3fc00000 00000000 3f800000') AS out_of_order,
       copy_one_field('s1', '\x00000003000000010000000100000000') AS explicit_zero,
       copy_one_field('s1', '\x000000030000000100000001') AS truncated,
       copy_one_field('s1', '\x00000003ffffffff') AS huge_count,
       copy_one_field('s1', '\x0000000000000000') AS zero_dims;
SELECT s FROM s1;
-- A vectors index stores svectors densified, so it refuses more than 65535 dimensions.
CREATE TABLE wide (s svector(100000));
SELECT try('CREATE INDEX ON wide USING vectors (s svector_l2_ops)') AS index_too_wide;

-- ======================================================================= veci8
-- Input quantises (scale = max|x| / 127); output shows the dequantised
-- values; each element is within max|x| / 254 of the input.
SELECT '[1,2,3]'::veci8 AS q, '[0,0]'::veci8 AS zeros, '[-5, 0.01, 5]'::veci8 AS small_lost;
WITH v AS (SELECT array_agg((sin(i) * 2)::real ORDER BY i) AS arr FROM generate_series(1, 1000) i)
SELECT bool_and(abs(x - y) <= 2 / 254.0 * 1.0001) AS within_bound
  FROM v, unnest(v.arr, (v.arr::vector::veci8::vector)::real[]) u(x, y);
SELECT input, try(format('SELECT %L::veci8', input)) AS veci8_input
  FROM unnest(ARRAY['[1,,2]', '[]', '[NaN]', '[1e39]', '{1:1}/3']) input;
SELECT try('CREATE TABLE bad (q veci8(65536))') AS typmod_too_big;
CREATE TABLE qi (id int, q veci8(3));
SELECT try($$INSERT INTO qi VALUES (1, '[1,2]')$$) AS wrong_dims;

-- Distances on the codes agree with f32 distances of the dequantised values.
SELECT round((a <-> b)::numeric, 4) AS l2, round((a::vector <-> b::vector)::numeric, 4) AS l2_dequantised,
       round((a <#> b)::numeric, 4) AS neg_dot, round((a::vector <#> b::vector)::numeric, 4) AS neg_dot_dequantised,
       round((a <=> b)::numeric, 4) AS cosine, round((a::vector <=> b::vector)::numeric, 4) AS cosine_dequantised
  FROM (VALUES ('[0.5,-1,0.25]'::veci8, '[1,1,1]'::veci8), ('[0,0,0]', '[1,2,3]')) t(a, b);
SELECT round(veci8_norm('[3,4]')::numeric, 4) AS norm, vector_dims('[1,2,3]'::veci8);
SELECT try($$SELECT '[1,2]'::veci8 <-> '[1,2,3]'$$) AS dims_mismatch;

INSERT INTO qi VALUES (1, '[1,2,3]'), (2, '[1,2,3]'), (3, '[-1,0,0]');
SELECT q, count(*) FROM qi GROUP BY q ORDER BY q;

COPY qi TO '/tmp/strata_qi.bin' WITH (FORMAT binary);
CREATE TABLE qi2 (LIKE qi);
COPY qi2 FROM '/tmp/strata_qi.bin' WITH (FORMAT binary);
SELECT (SELECT array_agg(q ORDER BY id) FROM qi) = (SELECT array_agg(q ORDER BY id) FROM qi2) AS binary_round_trip;
SELECT veci8_send('[1,-2]');
CREATE TABLE i1 (q veci8);
SELECT copy_one_field('i1', '\x000200003c808081017f') AS well_formed,
       copy_one_field('i1', '\x000200003c808081807f') AS code_minus_128,
       copy_one_field('i1', '\x00020000ffffffff017f') AS nan_scale,
       copy_one_field('i1', '\x00020000bf800000017f') AS negative_scale,
       copy_one_field('i1', '\x000300003c808081017f') AS too_short,
       copy_one_field('i1', '\x000200007f000000017f') AS scale_too_large;
SELECT q FROM i1;
