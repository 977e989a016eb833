CREATE EXTENSION strata;
\set SHOW_CONTEXT never
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- RushDB's key names: vector entries take similarityFunction (RushDB's name) as well as
-- similarity; an unknown key is refused (22023), naming it, rather than silently ignored.
CREATE TABLE article (id int PRIMARY KEY, title text, body text);
SELECT id, similarity FROM strata.create_index('article', 'body', 3);
SELECT id, similarity FROM strata.create_index('article', 'body', 3, 'euclidean');
-- similarityFunction picks the index, in either form of insert_records.
SELECT * FROM strata.insert_records('article', '{"id": 1, "title": "a"}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFunction": "euclidean"}]');
SELECT * FROM strata.insert_records('article', '[{"id": 2, "title": "b", "__vectors":
    [{"propertyName": "body", "vector": [0, 1, 0], "similarityFunction": "cosine"}]}]');
SELECT * FROM strata.insert_records('article', '{"id": 3, "title": "c"}',
    '[{"propertyName": "body", "vector": [0, 0, 1], "similarity": "euclidean"},
      {"propertyName": "body", "vector": [0, 0, 2], "similarityFunction": "cosine", "similarity": "cosine"}]');
SELECT 'cosine' AS index, record_id, vec FROM strata.vectors_1
UNION ALL SELECT 'euclidean', record_id, vec FROM strata.vectors_2 ORDER BY 1, 2;
-- Unknown keys, wrong types, disagreeing names.
SELECT try($$SELECT strata.insert_records('article', '{"id": 9}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFuncton": "euclidean"}]')$$) AS misspelt;
SELECT try($$SELECT strata.insert_records('article', '{"id": 9}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": "euclidean", "dimensions": 3}]')$$) AS extra;
SELECT try($$SELECT strata.insert_records('article', '{"id": 9}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFunction": 7}]')$$) AS not_a_string;
SELECT try($$SELECT strata.insert_records('article', '{"id": 9}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFunction": "cosine", "similarity": "euclidean"}]')$$) AS disagree;
SELECT try($$SELECT strata.insert_records('article', '{"id": 9}',
    '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFunction": "hamming"}]')$$) AS unknown_similarity;
-- Nothing was written by the refused calls.
SELECT count(*) AS records FROM article;
-- upsert_vectors: items have recordId and vector; the wrapper object has items.
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [1, 1, 0], "similarity": "cosine"}]')$$) AS item_key;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [1, 1, 0]}, {"recordID": 2, "vector": [1, 1, 0]}]')$$) AS item_case;
SELECT try($$SELECT strata.upsert_vectors(1, '{"items": [{"recordId": 1, "vector": [1, 1, 0]}], "index": 2}')$$) AS wrapper_key;
SELECT strata.upsert_vectors(1, '{"items": [{"recordId": 1, "vector": [1, 1, 0]}]}') AS wrapped;
