CREATE EXTENSION strata;
\set SHOW_CONTEXT never
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Roles are cluster-wide: unique names, dropped at the end.
CREATE ROLE byov_owner;
CREATE ROLE byov_reader;
CREATE ROLE byov_writer;
CREATE ROLE byov_stranger;
GRANT CREATE ON SCHEMA public TO byov_owner, byov_stranger;

-- The owner of a table registers indexes on it and writes vectors.
SET ROLE byov_owner;
CREATE TABLE memo (id int PRIMARY KEY, body text, author text);
INSERT INTO memo VALUES (1, 'quarterly numbers', 'byov_reader'), (2, 'team offsite', 'byov_writer'),
                        (3, 'layoff plan', 'byov_owner');
SELECT id, label, status FROM strata.create_index('memo', 'body', 2);
SELECT strata.upsert_vectors(1, ARRAY[1, 2, 3], ARRAY['[1,0]', '[0,1]', '[1,1]']::vector[]) AS written;
GRANT SELECT ON memo TO byov_reader;
GRANT SELECT, INSERT, UPDATE ON memo TO byov_writer;
RESET ROLE;
-- The vector table belongs to the extension (its owner), not to the label's owner.
SELECT tableowner FROM pg_tables WHERE schemaname = 'strata' AND tablename = 'vectors_1';

-- ===================================================================== a reader (SELECT)
SET ROLE byov_reader;
SELECT record_id, score FROM strata.search('memo', 'body', '[1, 0]');
SELECT id, status, records, vectors FROM strata.indexes;
-- The vectors are readable exactly as the label is.
SELECT record_id, vec FROM strata.vectors_1 ORDER BY 1;
-- Writing needs INSERT and UPDATE (and SELECT) on the label: 42501.
SELECT try($$SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5]}]')$$) AS upsert;
SELECT strata.upsert_vectors(1, '[{"recordId": 1, "vector": [5, 5]}]');
SELECT try($$SELECT strata.upsert_vectors(1, ARRAY[1], ARRAY['[5,5]'::vector])$$) AS upsert_arrays;
SELECT try($$SELECT strata.insert_records('memo', '{"id": 9, "body": "x"}')$$) AS insert_records;
-- Registering and dropping indexes needs ownership of the label.
SELECT try($$SELECT strata.create_index('memo', 'author', 2)$$) AS create_index;
SELECT try($$SELECT strata.drop_index(1)$$) AS drop_index;
-- Going around the functions does not help: the vector table's row level security mirrors the
-- label's privileges (updates and deletes see no rows), TRUNCATE is not granted, and the
-- catalog only lets label owners register and unregister.
SELECT try($$INSERT INTO strata.vectors_1 VALUES (1, '[5,5]') ON CONFLICT (record_id) DO NOTHING$$) AS insert;
SELECT try($$UPDATE strata.vectors_1 SET vec = '[5,5]'$$) AS "update (no rows)",
       try($$DELETE FROM strata.vectors_1$$) AS "delete (no rows)";
SELECT try($$TRUNCATE strata.vectors_1$$) AS truncate;
SELECT try($$INSERT INTO strata.indexes_catalog (label, property, similarity, dimensions)
             VALUES ('memo', 'author', 'cosine', 2)$$) AS register;
SELECT try($$UPDATE strata.indexes_catalog SET dimensions = 3$$) AS change_signature,
       try($$UPDATE strata.indexes_catalog SET status = 'awaiting_vectors'$$) AS "reset status (no rows)",
       try($$DELETE FROM strata.indexes_catalog$$) AS "unregister (no rows)";
SELECT try($$SELECT strata._drop_storage(1)$$) AS "drop storage (registered: no-op)",
       try($$SELECT strata._create_storage(1)$$) AS "create storage (exists: no-op)";
RESET ROLE;
SELECT id, status, (SELECT count(*) FROM strata.vectors_1) AS vectors, (SELECT vec FROM strata.vectors_1 WHERE record_id = 1)
  FROM strata.indexes_catalog;

-- ===================================================================== a writer (SELECT, INSERT, UPDATE)
SET ROLE byov_writer;
SELECT strata.upsert_vectors(1, '[{"recordId": 2, "vector": [0, 2]}]') AS written;
SELECT * FROM strata.insert_records('memo', '{"id": 4, "body": "hiring", "author": "byov_writer"}',
                                    '[{"propertyName": "body", "vector": [0.5, 0.5]}]');
SELECT record_id, score FROM strata.search('memo', 'body', '[0, 1]', k => 2);
SELECT try($$DELETE FROM memo WHERE id = 4$$) AS delete_record;
SELECT try($$SELECT strata.drop_index(1)$$) AS drop_index;
RESET ROLE;

-- ===================================================================== a stranger (no privileges)
SET ROLE byov_stranger;
SELECT try($$SELECT * FROM strata.search('memo', 'body', '[1, 0]')$$) AS search;
SELECT * FROM strata.search('memo', 'body', '[1, 0]');
SELECT count(*) AS vectors_seen FROM strata.vectors_1;
-- The catalog is public; the stats are not.
SELECT id, label, property, status, records, vectors FROM strata.indexes;
-- strata's trigger functions refuse to work for another table, so they cannot be borrowed to
-- truncate someone else's index.
CREATE TABLE decoy (id int PRIMARY KEY);
CREATE TRIGGER borrow AFTER TRUNCATE ON decoy FOR EACH STATEMENT EXECUTE FUNCTION strata._label_truncated('1');
SELECT try($$TRUNCATE decoy$$) AS borrowed_trigger;
-- Owners of other tables index them as they like.
SELECT id, label FROM strata.create_index('decoy', 'id', 2);
RESET ROLE;
SELECT count(*) AS memo_vectors_intact FROM strata.vectors_1;

-- ===================================================================== privileges are live
REVOKE SELECT ON memo FROM byov_reader;
SET ROLE byov_reader;
SELECT try($$SELECT * FROM strata.search('memo', 'body', '[1, 0]')$$) AS search_after_revoke;
SELECT count(*) AS vectors_seen FROM strata.vectors_1;
RESET ROLE;
GRANT SELECT ON memo TO byov_reader;
-- Row level security on the label applies to search too.
SET ROLE byov_owner;
ALTER TABLE memo ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_memos ON memo USING (author = current_user);
RESET ROLE;
SET ROLE byov_reader;
SELECT record_id, record ->> 'author' AS author FROM strata.search('memo', 'body', '[1, 0]');
RESET ROLE;
SET ROLE byov_writer;
SELECT record_id FROM strata.search('memo', 'body', '[1, 0]');
-- A record hidden by the label's policies does not exist for upserts.
SELECT try($$SELECT strata.upsert_vectors(1, ARRAY[1], ARRAY['[9,9]'::vector])$$) AS hidden_record;
RESET ROLE;
ALTER TABLE memo DISABLE ROW LEVEL SECURITY;

-- Deleting or truncating records removes their vectors even when the role doing it cannot read
-- the vectors (the maintenance triggers run with the extension owner's rights).
GRANT SELECT (id), DELETE, TRUNCATE ON memo TO byov_stranger;
SET ROLE byov_stranger;
DELETE FROM memo WHERE id = 1;
RESET ROLE;
SELECT record_id FROM strata.vectors_1 ORDER BY 1;
SET ROLE byov_stranger;
TRUNCATE memo;
RESET ROLE;
SELECT count(*) AS after_truncate FROM strata.vectors_1;

-- The owner drops the index.
SET ROLE byov_owner;
SELECT strata.drop_index(1);
RESET ROLE;
SELECT id, label FROM strata.indexes;

-- Unregistering the indexes of a dropped table never stands in the way of the DROP: here the
-- stranger cannot reach schema strata, the drop goes through with a warning, and the index
-- left behind can be unregistered by anyone.
REVOKE USAGE ON SCHEMA strata FROM PUBLIC;
SET ROLE byov_stranger;
DROP TABLE decoy;
RESET ROLE;
GRANT USAGE ON SCHEMA strata TO PUBLIC;
SELECT id, property, to_regclass('strata.vectors_' || id) IS NOT NULL AS storage FROM strata.indexes;
SET ROLE byov_reader;
SELECT strata.drop_index(3);
RESET ROLE;
SELECT count(*) AS indexes, to_regclass('strata.vectors_3') AS storage FROM strata.indexes;

-- Clean up the roles (DROP OWNED drops their tables, and with them their indexes).
DROP OWNED BY byov_owner, byov_reader, byov_writer, byov_stranger;
DROP ROLE byov_owner, byov_reader, byov_writer, byov_stranger;
SELECT count(*) AS indexes_left FROM strata.indexes;
