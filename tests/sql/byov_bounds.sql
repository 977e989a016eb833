CREATE EXTENSION strata;
\set SHOW_CONTEXT never
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- Bounds: k and skip whose sum overflows an integer are 22023 naming them; vectors whose norms
-- overflow real give true distances, never NaN, and do not displace real rows.
CREATE TABLE doc (id int PRIMARY KEY, body text);
INSERT INTO doc SELECT g, 'doc ' || g FROM generate_series(1, 5) g;
SELECT id FROM strata.create_index('doc', 'body', 3);
SELECT id, similarity FROM strata.create_index('doc', 'body', 3, 'dot');
SELECT strata.upsert_vectors(i, ARRAY[1, 2, 3, 4, 5],
                             ARRAY['[1,2,3]', '[3e38,3e38,3e38]', '[-3e38,3e38,-3e38]', '[0,0,0]', '[2,1,0]']::vector[])
  FROM generate_series(1, 2) i;
SELECT try($$SELECT strata.search('doc', 'body', '[1,2,3]', k => 2147483647, skip => 1, similarity => 'cosine')$$) AS k_plus_skip;
SELECT try($$SELECT strata.search('doc', 'body', '[1,2,3]', k => 1, skip => 2147483647, similarity => 'cosine')$$) AS skip_max;
SELECT try($$SELECT strata.search('doc', 'body', '[1,2,3]', k => -1, similarity => 'cosine')$$) AS negative_k;
SELECT count(*) AS largest_fitting FROM strata.search('doc', 'body', '[1,2,3]', k => 2147483646, skip => 1, similarity => 'cosine');
SELECT count(*) AS k_zero FROM strata.search('doc', 'body', '[1,2,3]', k => 0, similarity => 'cosine');
-- The operators, on every type: true values, no NaN.
SELECT '[3e38,3e38,3e38]'::vector <=> '[1,2,3]' AS cos_huge, '[3e38,3e38,3e38]'::vector <=> '[3e38,3e38,3e38]' AS cos_self,
       '[3e38,-3e38]'::vector <#> '[2,2]' AS dot_cancelling, '[3e38,3e38,3e38]'::vector <#> '[1,2,3]' AS dot_beyond_real,
       '[3e38,3e38,3e38]'::vector <-> '[1,2,3]' AS l2_beyond_real;
SELECT '[3e38,3e38,3e38]'::vector::svector <=> '[1,2,3]'::vector::svector AS svector_cos,
       '[3e38,-3e38]'::vector::svector <#> '[2,2]'::vector::svector AS svector_dot,
       '[3e38,3e38,3e38]'::vector::veci8 <=> '[1,2,3]'::vector::veci8 AS veci8_cos,
       '[60000,60000,60000]'::vector::vecf16 <=> '[1,2,3]'::vector::vecf16 AS vecf16_cos;
-- Both paths of search (exact ranking; the index): scores are real numbers, the huge vector
-- pointing as [1,1,1] scores as that direction does, and the zero vector scores 0.
SELECT record_id, score FROM strata.search('doc', 'body', '[1,2,3]', similarity => 'cosine');
SET strata.exact_search_rows = 0;
SELECT record_id, score FROM strata.search('doc', 'body', '[1,2,3]', similarity => 'cosine');
SELECT record_id, score FROM strata.search('doc', 'body', '[1,2,3]', similarity => 'dot');
