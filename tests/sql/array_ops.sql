CREATE EXTENSION strata;
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- The pgvecto.rs article's array examples, verbatim: squared L2 = 8, -dot = -10,
-- cosine = 1 - 10/14.
SELECT array[1, 2, 3] <-> array[3, 2, 1];
SELECT array[1, 2, 3] <#> array[3, 2, 1];
SELECT array[1, 2, 3] <=> array[3, 2, 1];
CREATE TABLE items (id bigserial PRIMARY KEY, emb numeric[]);
INSERT INTO items (emb) VALUES (ARRAY[1,2,3]), (ARRAY[4,5,6]);
SELECT * FROM items ORDER BY emb <-> ARRAY[3,2,1] LIMIT 5;
SELECT * FROM items WHERE emb <-> ARRAY[3,2,1] < 5;
-- Every array type.
SELECT '{1.5,2}'::real[] <-> '{0,0}'::real[] AS real_l2, '{1.5,2}'::float8[] <#> '{2,2}'::float8[] AS float8_dot,
       '{1,0}'::int[] <=> '{0,1}'::int[] AS int_cosine, '{0.5,0.25}'::numeric[] <-> '{0,0}'::numeric[] AS numeric_l2;
-- Errors come from the casts and the distance.
SELECT try($$SELECT array[1, 2] <-> array[1, 2, 3]$$) AS different_lengths,
       try($$SELECT array[1, NULL] <-> array[1, 2]$$) AS with_null,
       try($$SELECT '{{1,2},{3,4}}'::int[] <-> '{{1,2},{3,4}}'::int[]$$) AS two_dimensional;
