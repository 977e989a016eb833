CREATE EXTENSION strata;
-- Errors show message, DETAIL and HINT but no PL/pgSQL line numbers.
\set SHOW_CONTEXT never
-- Reports an error as 'SQLSTATE: message' so expected output pins both.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- Vectors of an index, for checking what was (not) written.
CREATE FUNCTION vecs(index_id bigint) RETURNS TABLE (record_id text, vec vector) LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE format('SELECT record_id::text, vec FROM %s ORDER BY record_id',
                                  (SELECT vector_table FROM strata.indexes WHERE id = index_id));
END $$;

-- A label is a table; its single-column primary key is the record id.
CREATE TABLE article (id bigserial PRIMARY KEY, title text NOT NULL, body text, category text);
INSERT INTO article (title, body, category) VALUES
    ('Warp drives', 'Alcubierre metric', 'physics'),
    ('Graph RAG', 'Graphs give context', 'ai'),
    ('Sourdough', 'Flour, water, salt', 'food');

-- ===================================================================== create_index
-- Returns the new index's row; an external index starts awaiting vectors.
SELECT id, label, property, source_type, similarity, dimensions, status, created_at = now() AS created_now
  FROM strata.create_index('article', 'body', 3);
-- Changing any one of the five signature fields makes a distinct index; all coexist.
SELECT id, property, similarity, dimensions FROM strata.create_index('article', 'body', 3, 'euclidean');
SELECT id, property, similarity, dimensions FROM strata.create_index('article', 'body', 4);
SELECT id, property, similarity, dimensions FROM strata.create_index('article', 'title', 3, 'dot');
-- The same signature again is refused (23505) and names the existing index; similarity
-- aliases (l2 = euclidean, inner_product = dot) and case are the same signature.
SELECT try($$SELECT strata.create_index('article', 'body', 3)$$) AS duplicate;
SELECT try($$SELECT strata.create_index('article', 'body', 3, 'L2', 'external')$$) AS duplicate_alias;
SELECT try($$SELECT strata.create_index('article', 'title', 3, 'inner_product')$$) AS duplicate_alias;
SELECT strata.create_index('article', 'body', 3, 'cosine');

-- Bad arguments.
SELECT try($$SELECT strata.create_index('article', 'body', 3, 'manhattan')$$) AS unknown_similarity;
SELECT try($$SELECT strata.create_index('article', 'body', 3, 'cosine', 'managed')$$) AS managed;
SELECT try($$SELECT strata.create_index('article', 'body', 3, 'cosine', 'internal')$$) AS unknown_source;
SELECT try($$SELECT strata.create_index('article', 'body', 0)$$) AS zero_dims,
       try($$SELECT strata.create_index('article', 'body', 65536)$$) AS too_many_dims;
SELECT try($$SELECT strata.create_index('article', 'body', NULL)$$) AS null_dims;
SELECT try($$SELECT strata.create_index('article', 'summary', 3)$$) AS unknown_column,
       try($$SELECT strata.create_index('article', 'ctid', 3)$$) AS system_column;
SELECT try($$SELECT strata.create_index('no_such_table', 'body', 3)$$) AS unknown_table;
SELECT strata.create_index('article', 'Body', 3);
-- The label needs a single-column primary key of a built-in type.
CREATE TABLE no_key (body text);
CREATE TABLE two_keys (a int, b int, body text, PRIMARY KEY (a, b));
CREATE TABLE time_key (t timestamptz PRIMARY KEY, body text);
CREATE VIEW article_view AS SELECT * FROM article;
CREATE TABLE parted (id int PRIMARY KEY, body text) PARTITION BY RANGE (id);
SELECT try($$SELECT strata.create_index('no_key', 'body', 3)$$) AS no_key;
SELECT strata.create_index('no_key', 'body', 3);
SELECT try($$SELECT strata.create_index('two_keys', 'body', 3)$$) AS two_keys;
SELECT try($$SELECT strata.create_index('time_key', 'body', 3)$$) AS time_key;
SELECT try($$SELECT strata.create_index('article_view', 'body', 3)$$) AS view;
SELECT try($$SELECT strata.create_index('parted', 'body', 3)$$) AS partitioned;
CREATE TEMP TABLE scratch (id int PRIMARY KEY, body text);
SELECT try($$SELECT strata.create_index('scratch', 'body', 3)$$) AS temporary;
-- Domains over supported types and text keys are fine (the vector table stores the base type).
CREATE DOMAIN sku AS text CHECK (VALUE ~ '^[A-Z]+-[0-9]+$');
CREATE TABLE product (sku sku PRIMARY KEY, name text);
SELECT id, label, property FROM strata.create_index('product', 'name', 2);

-- The view: every index with status and stats.
SELECT id, label, property, source_type, similarity, dimensions, status, records, vectors, vector_table
  FROM strata.indexes ORDER BY id;
-- Storage: one table per index, keyed like the label.
\d strata.vectors_1
\d strata.vectors_5
\d article

-- ===================================================================== upsert_vectors (JSON)
-- Status moves from awaiting_vectors to ready with the first vector written, not before.
SELECT strata.upsert_vectors(1, '[]') AS empty_batch;
SELECT status FROM strata.indexes WHERE id = 1;
SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [1, 0, 0]}, {"recordId": "2", "vector": [0, 1, 0]}]')
    AS written;
SELECT id, status, records, vectors FROM strata.indexes WHERE id = 1;
SELECT * FROM vecs(1);
-- RushDB's request body {"items": [...]} works too. Idempotent: the same record id replaces
-- its vector, it never adds a second one.
SELECT strata.upsert_vectors(1, '{"items": [{"recordId": 2, "vector": [0, 0.5, 0.5]}, {"recordId": 3, "vector": [0, 0, 1]}]}')
    AS written;
SELECT strata.upsert_vectors(1, '{"items": [{"recordId": 2, "vector": [0, 0.5, 0.5]}, {"recordId": 3, "vector": [0, 0, 1]}]}')
    AS written_again;
SELECT * FROM vecs(1);
-- Within one batch the last item for a record wins.
SELECT strata.upsert_vectors(1, '[{"recordId": 3, "vector": [9, 9, 9]}, {"recordId": 3, "vector": [0, 0, 2]}]')
    AS written;
SELECT * FROM vecs(1) WHERE record_id = '3';
SELECT count(*) AS updated_rows_keep_one_vector FROM strata.vectors_1;

-- The whole batch is validated first: one bad item rejects it and nothing is written; the
-- error names the item (0-based, as in the JSON array) and why.
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": [1, 2]}]')$$)
    AS wrong_length;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": [1, 2, 1e39]}]')$$)
    AS out_of_range;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": [1, "NaN", 3]}]')$$)
    AS not_a_number;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": [1, null, 3]}]')$$)
    AS null_element;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": []}]')$$)
    AS empty_vector;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 99, "vector": [1, 2, 3]}]')$$)
    AS unknown_record;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": "x1", "vector": [1, 2, 3]}]')$$)
    AS bad_record_id;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"vector": [1, 2, 3]}]')$$)
    AS no_record_id;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": [2], "vector": [1, 2, 3]}]')$$)
    AS record_id_array;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2}]')$$)
    AS no_vector;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, {"recordId": 2, "vector": "[1,2,3]"}]')$$)
    AS vector_string;
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5, 5]}, [2, [1, 2, 3]]]')$$)
    AS item_not_object;
SELECT try($$SELECT strata.upsert_vectors(1, '{"recordId": 1, "vector": [5, 5, 5]}')$$) AS items_not_array;
SELECT try($$SELECT strata.upsert_vectors(42, '[]')$$) AS unknown_index;
SELECT * FROM vecs(1);
-- A rejected batch does not make an index ready either.
SELECT try($$SELECT strata.upsert_vectors(3, '[{"recordId": 1, "vector": [1, 0, 0, 0]}, {"recordId": 99, "vector": [1, 0, 0, 0]}]')$$)
    AS rejected;
SELECT id, status, vectors FROM strata.indexes WHERE id = 3;
-- Too small for a real is out of range as well.
SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [1, 0, 0]}, {"recordId": 3, "vector": [0, 1e-50, 0]}]');

-- ===================================================================== upsert_vectors (arrays)
-- For bulk loads from SQL: record_ids[i] gets vectors[i]; any array type that casts to the key.
SELECT strata.upsert_vectors(2, ARRAY[1, 2, 3], ARRAY['[1,0,0]', '[0,1,0]', '[0,0,1]']::vector[]) AS written;
SELECT strata.upsert_vectors(2, ARRAY['3'], ARRAY['[0,0,3]'::vector]) AS written_text_ids;
SELECT * FROM vecs(2);
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[1, 2], ARRAY['[1,0,0]']::vector[])$$) AS lengths_differ;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[1, NULL], ARRAY['[1,0,0]', '[0,1,0]']::vector[])$$) AS null_id;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[1, 2], ARRAY['[1,0,0]', NULL]::vector[])$$) AS null_vector;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[1, 2], ARRAY['[1,0,0]', '[0,1]']::vector[])$$) AS wrong_dims;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[1, 7], ARRAY['[1,0,0]', '[0,1,0]']::vector[])$$) AS unknown_record;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY['1', 'one'], ARRAY['[1,0,0]', '[0,1,0]']::vector[])$$) AS bad_id;
SELECT try($$SELECT strata.upsert_vectors(2, ARRAY[[1], [2]], ARRAY['[1,0,0]', '[0,1,0]']::vector[])$$) AS two_dims;
SELECT * FROM vecs(2);
-- A plain INSERT followed by upsert_vectors in one transaction.
BEGIN;
INSERT INTO article (title, body) VALUES ('Bread', 'Wild yeast') RETURNING id;
SELECT strata.upsert_vectors(2, ARRAY[currval('article_id_seq')], ARRAY['[1,1,0]'::vector]) AS written;
COMMIT;
SELECT * FROM vecs(2) WHERE record_id = '4';
-- Text keys (through a domain) work the same way.
INSERT INTO product VALUES ('AB-1', 'kettle'), ('AB-2', 'teapot');
SELECT strata.upsert_vectors(5, '[{"recordId": "AB-1", "vector": [1, 0]}, {"recordId": "AB-2", "vector": [0, 1]}]') AS written;
SELECT try($$SELECT strata.upsert_vectors(5, '[{"recordId": "ab-1", "vector": [1, 0]}]')$$) AS unknown_sku;

-- ===================================================================== insert_records
-- One record and its vectors in one call; the record's other columns get their defaults.
-- body has three indexes (cosine 3 and 4 dimensions, euclidean 3): the similarity picks the
-- cosine ones and the vector's length the 3-dimensional one.
SELECT * FROM strata.insert_records('article', '{"title": "Warp bubbles", "body": "Negative energy"}',
    '[{"propertyName": "body", "vector": [0.9, 0.1, 0], "similarity": "cosine"},
      {"propertyName": "title", "vector": [1, 1, 1]}]');
SELECT * FROM article WHERE id = 5;
SELECT * FROM vecs(1) WHERE record_id = '5';
SELECT * FROM vecs(4) WHERE record_id = '5';
-- Several records: vectors as one list per record (null for none), or inline as "__vectors"
-- (RushDB's createMany form).
SELECT * FROM strata.insert_records('article',
    '[{"title": "Lasers", "category": "physics"}, {"title": "Rye", "body": "Dark bread"}]',
    '[null, [{"propertyName": "body", "vector": [0, 0.2, 1], "similarity": "euclidean"}]]');
SELECT * FROM strata.insert_records('article',
    '[{"title": "Dark matter", "body": "Missing mass", "__vectors": [{"propertyName": "body", "vector": [1, 0, 0, 0], "similarity": "cosine"}]},
      {"title": "Focaccia", "body": "Olive oil", "__vectors": [{"propertyName": "body", "vector": [0, 0.1, 1], "similarity": "cosine"}]}]');
SELECT id, title, body, category FROM article WHERE id > 5 ORDER BY id;
SELECT * FROM vecs(2) WHERE record_id::int > 5;
SELECT * FROM vecs(3);
SELECT * FROM vecs(1) WHERE record_id::int > 5;
-- Several indexes match and no similarity is given: 22023 "specify similarity"; nothing is
-- written, not even the record.
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "body", "vector": [1, 0, 0]}]')$$)
    AS ambiguous;
SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "body", "vector": [1, 0, 0]}]');
SELECT count(*) AS still_9_records FROM article;
-- Other errors, all before anything is written.
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten", "Body": "x"}')$$) AS unknown_column;
SELECT strata.insert_records('article', '{"title": "Gluten", "Body": "x"}');
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "category", "vector": [1, 0, 0]}]')$$)
    AS no_index;
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": "dot"}]')$$)
    AS no_dot_index;
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "title", "vector": [1, 0]}]')$$)
    AS wrong_dims;
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": "cosine"}, {"propertyName": "title", "vector": [1, "x", 0]}]')$$)
    AS bad_element;
SELECT try($$SELECT strata.insert_records('article', '{"title": "Gluten"}', '[{"vector": [1, 0, 0]}]')$$) AS no_property;
SELECT try($$SELECT strata.insert_records('article', '[{"title": "Gluten"}, 3]')$$) AS record_not_object;
SELECT try($$SELECT strata.insert_records('article', '"Gluten"')$$) AS records_not_json_object;
SELECT try($$SELECT strata.insert_records('article', '[{"title": "A"}, {"title": "B"}]', '[[]]')$$) AS lists_differ;
SELECT try($$SELECT strata.insert_records('article', '[{"title": "A", "__vectors": []}]', '[[]]')$$) AS vectors_twice;
SELECT try($$SELECT strata.insert_records('article', '{"body": "no title"}', '[{"propertyName": "title", "vector": [1, 0, 0]}]')$$)
    AS not_null_violation;
SELECT try($$SELECT strata.insert_records('article', '{"id": 1, "title": "again"}')$$) AS duplicate_key;
SELECT count(*) AS still_9_records FROM article;
SELECT (SELECT count(*) FROM strata.vectors_1) AS v1, (SELECT count(*) FROM strata.vectors_2) AS v2,
       (SELECT count(*) FROM strata.vectors_3) AS v3, (SELECT count(*) FROM strata.vectors_4) AS v4;

-- ===================================================================== search
-- Cosine: score = 1 - cosine distance, 1.0 for the same direction; best first.
SELECT * FROM strata.search('article', 'body', '[1, 0, 0]', similarity => 'cosine', k => 3);
-- Scores by hand: [1,0,0] vs [0,0.5,0.5] is orthogonal (0); [0.9,0.1,0] has cosine 0.9/sqrt(0.82).
SELECT record_id, score, round(0.9 / sqrt(0.82), 6) AS expected FROM strata.search('article', 'body', '[1, 0, 0]', similarity => 'cosine')
 WHERE record_id = '5';
SELECT record_id, score AS opposite FROM strata.search('article', 'body', '[-1, 0, 0]', similarity => 'cosine')
 WHERE record_id = '1';
-- Euclidean: score = 1 / (1 + distance): 1 for the same point, decreasing with distance.
-- [1,0,0] to [0,1,0] is sqrt(2) away: 1 / (1 + 1.414214) = 0.414214.
SELECT record_id, score FROM strata.search('article', 'body', '[1, 0, 0]', similarity => 'l2');
-- Dot: score = the dot product. Similarity picks the index, the query's length its dimensions.
SELECT record_id, score FROM strata.search('article', 'title', '[1, 2, 3]');
SELECT record_id, score FROM strata.search('article', 'body', '[1, 0, 0, 0]', similarity => 'cosine');
-- The record comes back as JSON.
SELECT record FROM strata.search('article', 'body', '[0, 1, 0]', similarity => 'euclidean', k => 1);
-- Pagination: skip + k give non-overlapping pages in one order (ties by record id).
INSERT INTO article (id, title) SELECT g, 'Twin ' || g FROM generate_series(100, 104) g;
SELECT strata.upsert_vectors(2, ARRAY[104, 102, 100, 103, 101], array_fill('[5,5,5]'::vector, ARRAY[5])) AS twins;
SELECT record_id, score FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 7);
SELECT 1 AS page, record_id FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 3, skip => 0)
UNION ALL
SELECT 2, record_id FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 3, skip => 3)
UNION ALL
SELECT 3, record_id FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 3, skip => 6)
UNION ALL
SELECT 4, record_id FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 3, skip => 9);
SELECT count(*) AS total, count(DISTINCT record_id) AS distinct_ids
  FROM generate_series(0, 9, 3) s, strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 3, skip => s);
SELECT count(*) AS k_zero FROM strata.search('article', 'body', '[5, 5, 5]', similarity => 'euclidean', k => 0);
-- An index without vectors finds nothing (and is not an error).
SELECT count(*) AS nothing_yet FROM strata.search('article', 'body', '[1, 0, 0, 0]', similarity => 'cosine', skip => 1);
-- Errors.
SELECT try($$SELECT * FROM strata.search('article', 'body', '[1, 0, 0]')$$) AS ambiguous;
SELECT * FROM strata.search('article', 'body', '[1, 0, 0]');
SELECT try($$SELECT * FROM strata.search('article', 'title', '[1, 0]')$$) AS wrong_dims;
SELECT * FROM strata.search('article', 'title', '[1, 0]');
SELECT try($$SELECT * FROM strata.search('article', 'body', '[1, 0]', similarity => 'cosine')$$) AS wrong_dims;
SELECT try($$SELECT * FROM strata.search('article', 'body', '[1, 0, 0]', similarity => 'dot')$$) AS no_dot_index;
SELECT try($$SELECT * FROM strata.search('article', 'category', '[1, 0, 0]')$$) AS no_index;
SELECT try($$SELECT * FROM strata.search('article', 'title', '[1, 0, 0]', similarity => 'hamming')$$) AS unknown_similarity;
SELECT try($$SELECT * FROM strata.search('article', 'title', '[1, 0, 0]', k => -1)$$) AS negative_k,
       try($$SELECT * FROM strata.search('article', 'title', '[1, 0, 0]', skip => -1)$$) AS negative_skip;
SELECT try($$SELECT * FROM strata.search('article', 'title', NULL)$$) AS null_query;

-- ===================================================================== consistency
-- Deleting records deletes their vectors in every index: no orphans.
DELETE FROM article WHERE id IN (1, 2, 100);
SELECT i.id, (SELECT count(*) FROM vecs(i.id) v WHERE v.record_id::bigint NOT IN (SELECT id FROM article)) AS orphans,
       i.records, i.vectors
  FROM strata.indexes i WHERE i.label = 'article'::regclass ORDER BY i.id;
-- Rolled back deletes keep them.
BEGIN;
DELETE FROM article;
SELECT count(*) AS inside FROM strata.vectors_2;
ROLLBACK;
SELECT count(*) AS after_rollback FROM strata.vectors_2;
-- Changing a record id carries its vectors along.
UPDATE article SET id = 30 WHERE id = 3;
SELECT * FROM vecs(1);
-- Vectors cannot point at missing records, written directly either.
SELECT try($$INSERT INTO strata.vectors_1 VALUES (77, '[1,2,3]')$$) AS orphan_insert;
SELECT try($$UPDATE strata.vectors_1 SET record_id = 77 WHERE record_id = 30$$) AS orphan_update;
INSERT INTO strata.vectors_1 VALUES (77, '[1,2,3]');
-- Truncating the label empties its indexes; they stay ready.
TRUNCATE article;
SELECT id, status, records, vectors FROM strata.indexes WHERE label = 'article'::regclass ORDER BY id;
SELECT count(*) AS found FROM strata.search('article', 'body', '[1, 0, 0]', similarity => 'cosine');
-- ... and TRUNCATE ... CASCADE, RESTART IDENTITY as well.
SELECT * FROM strata.insert_records('article', '{"title": "New", "__vectors": [{"propertyName": "title", "vector": [1, 1, 1]}]}');
TRUNCATE article RESTART IDENTITY CASCADE;
SELECT count(*) AS title_vectors FROM strata.vectors_4;

-- ===================================================================== drop_index
SELECT strata.drop_index(3);
SELECT id, property, similarity, dimensions FROM strata.indexes ORDER BY id;
SELECT to_regclass('strata.vectors_3') AS table_gone,
       (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'strata_vectors_3_%') AS triggers_gone;
SELECT try($$SELECT strata.drop_index(3)$$) AS again;
SELECT strata.drop_index(3, if_exists => true);
-- Dropping the property column drops the indexes on it ...
DROP VIEW article_view;
ALTER TABLE article DROP COLUMN title;
SELECT id, property, similarity, dimensions FROM strata.indexes ORDER BY id;
SELECT to_regclass('strata.vectors_4') AS table_gone;
-- ... and dropping the label drops them all, storage included.
DROP TABLE article;
SELECT id, label, property FROM strata.indexes ORDER BY id;
SELECT relname FROM pg_class WHERE relnamespace = 'strata'::regnamespace AND relkind = 'r' ORDER BY 1;
-- Ids are never reused.
CREATE TABLE note (id int PRIMARY KEY, body text);
SELECT id, label FROM strata.create_index('note', 'body', 2);

-- The extension can be dropped with indexes in place: their storage and triggers go with it.
SET client_min_messages = warning;
DROP EXTENSION strata CASCADE;
RESET client_min_messages;
SELECT count(*) AS strata_tables_left FROM pg_class WHERE relname LIKE 'vectors\_%';
SELECT tgname FROM pg_trigger WHERE tgrelid IN ('note'::regclass, 'product'::regclass);
