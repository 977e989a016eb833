CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Distances on hand-checkable inputs: [1,2,3] vs [3,2,1]:
-- squared L2 = 4+0+4 = 8, dot = 3+4+3 = 10, cosine = 1 - 10/14.
SELECT '[1,2,3]'::vector <-> '[3,2,1]' AS l2, '[1,2,3]'::vector <#> '[3,2,1]' AS neg_dot,
       round(('[1,2,3]'::vector <=> '[3,2,1]')::numeric, 6) AS cosine, round(1 - 10/14.0, 6) AS expected;
SELECT '[1,2,3]'::vecf16 <-> '[3,2,1]' AS l2, '[1,2,3]'::vecf16 <#> '[3,2,1]' AS neg_dot,
       round(('[1,2,3]'::vecf16 <=> '[3,2,1]')::numeric, 6) AS cosine;
-- bvector: <-> is Hamming, <#> minus the common bits, <~> Jaccard.
-- [1,1,0,1] vs [0,1,1,1]: differ in 2, common 2, union 4, |a|=|b|=3.
SELECT '[1,1,0,1]'::bvector <-> '[0,1,1,1]' AS hamming, '[1,1,0,1]'::bvector <#> '[0,1,1,1]' AS neg_dot,
       round(('[1,1,0,1]'::bvector <=> '[0,1,1,1]')::numeric, 6) AS cosine, round(1 - 2/3.0, 6) AS expected,
       '[1,1,0,1]'::bvector <~> '[0,1,1,1]' AS jaccard;
-- Long vectors exercise the SIMD kernels' main loops and tails.
SELECT array_fill(1::real, ARRAY[1027])::vector <-> array_fill(3::real, ARRAY[1027])::vector AS l2_1027,
       array_fill(1::real, ARRAY[1027])::vector <#> array_fill(3::real, ARRAY[1027])::vector AS neg_dot_1027;
SELECT binarize(array_fill(1::real, ARRAY[3072])::vector) <-> binarize(array_fill(-1::real, ARRAY[3072])::vector) AS hamming_3072;
-- Zero vectors: cosine distance is defined as 1 (no direction), never NaN;
-- Jaccard of two empty sets is 0.
SELECT '[0,0]'::vector <=> '[1,2]' AS cos_zero, '[0,0]'::vector <=> '[0,0]' AS cos_both_zero,
       '[0,0]'::vecf16 <=> '[1,2]' AS f16_cos_zero, '[0,0]'::bvector <=> '[1,0]' AS bits_cos_zero,
       '[0,0]'::bvector <~> '[0,0]' AS jaccard_empty;
-- Identical and opposite directions.
SELECT '[1,2]'::vector <=> '[2,4]' AS same, '[1,2]'::vector <=> '[-1,-2]' AS opposite;
-- Mismatched dimensions.
SELECT try($$SELECT '[1,2,3]'::vector <-> '[1,2,3,4]'$$) AS l2,
       try($$SELECT '[1,2,3]'::vecf16 <=> '[1,2,3,4]'$$) AS f16_cosine,
       try($$SELECT '[1,0,1]'::bvector <~> '[1,0,1,1]'$$) AS jaccard,
       try($$SELECT '[1,2,3]'::vector + '[1,2]'$$) AS plus;

-- Element-wise arithmetic.
SELECT '[1,2,3]'::vector + '[10,20,30]' AS plus, '[1,2,3]'::vector - '[10,20,30]' AS minus,
       '[1,2,3]'::vector * '[10,20,30]' AS times;
SELECT '[1,2,3]'::vecf16 + '[10,20,30]' AS plus, '[1,2,3]'::vecf16 - '[10,20,30]' AS minus,
       '[1,2,3]'::vecf16 * '[10,20,30]' AS times;
SELECT try($$SELECT '[3e38]'::vector + '[3e38]'$$) AS overflow,
       try($$SELECT '[60000]'::vecf16 * '[2]'$$) AS f16_overflow;

-- Functions.
SELECT vector_dims('[1,2,3]'::vector), vector_dims('[1,2]'::vecf16), vector_dims('[1,0,1,1,0]'::bvector);
-- vector_norm is also defined on svector (as in pgvecto.rs), so a literal needs its type.
SELECT vector_norm('[3,4]'::vector), vector_normalize('[3,4]'), vector_normalize('[0,0]');
SELECT binarize('[0.5,-1,0,2]'), '[0.5,-1,0,2]'::vector::bvector AS cast_binarize;

-- The seed's query without an index (pgvecto.rs "items" example).
CREATE TABLE items (id bigserial PRIMARY KEY, emb vector(4));
INSERT INTO items (emb)
SELECT ARRAY[i, i % 3, 0, 1]::real[] FROM generate_series(100, 1, -1) i;
SELECT *, emb <-> '[0, 0, 0, 0]' AS score
FROM items
ORDER BY emb <-> '[0, 0, 0, 0]'
LIMIT 10;
SELECT id, emb <=> '[1,1,1,1]' AS d FROM items ORDER BY emb <=> '[1,1,1,1]' LIMIT 3;
SELECT id, emb <#> '[1,1,1,1]' AS d FROM items ORDER BY emb <#> '[1,1,1,1]' LIMIT 3;
