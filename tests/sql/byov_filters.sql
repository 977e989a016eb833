CREATE EXTENSION strata;
\set SHOW_CONTEXT never
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Filters are RushDB's `where`, over the label's columns. Every job has the same vector, so
-- search returns the matching records in record id order and the filter alone decides.
CREATE TABLE job (
    id int PRIMARY KEY, title text, location varchar(40), "salaryMin" int, remote boolean,
    posted date, tags jsonb, rating numeric(3, 1)
);
INSERT INTO job VALUES
    (1, 'Backend engineer',  'Berlin, DE',    85000, false, '2024-01-10', '{"lang": "go"}',   4.5),
    (2, 'Frontend engineer', 'berlin',        70000, true,  '2024-02-01', '{"lang": "ts"}',   3.9),
    (3, 'Data scientist',    'Munich, DE',    90000, NULL,  '2024-03-15', NULL,               NULL),
    (4, 'SRE',               'Remote',        NULL,  true,  NULL,         '{"lang": "go"}',   4.1),
    (5, '50% off_the_shelf', 'Zurich, CH',    120000, false, '2024-01-20', '[1, 2]',          5.0),
    (6, NULL,                NULL,            60000, false, '2023-12-31', '{}',               2.0);
SELECT id FROM strata.create_index('job', 'title', 2);
SELECT strata.upsert_vectors(1, ARRAY[1, 2, 3, 4, 5, 6], array_fill('[1,1]'::vector, ARRAY[6])) AS written;
CREATE FUNCTION ids(filter jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(record_id, ',' ORDER BY record_id::int), '(none)')
      FROM strata.search('job', 'title', '[1,1]', filter, k => 100)
$$;
CREATE FUNCTION try_ids(filter text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN RETURN ids(filter::jsonb);
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- No filter, null and {} match everything.
SELECT ids(NULL) AS no_filter, ids('null') AS json_null, ids('{}') AS empty;
-- Plain values are equality; several keys are a conjunction; null is IS NULL.
SELECT ids('{"location": "Berlin, DE"}') AS eq_text, ids('{"salaryMin": 70000}') AS eq_int,
       ids('{"remote": true}') AS eq_bool, ids('{"posted": "2024-01-20"}') AS eq_date,
       ids('{"rating": 4.5}') AS eq_numeric, ids('{"remote": false, "salaryMin": 60000}') AS both,
       ids('{"remote": null}') AS is_null;
-- $eq and $ne; as in SQL (and RushDB's Cypher) a NULL column never matches a comparison.
SELECT ids('{"salaryMin": {"$eq": 90000}}') AS eq, ids('{"salaryMin": {"$ne": 90000}}') AS ne,
       ids('{"salaryMin": {"$eq": null}}') AS eq_null, ids('{"salaryMin": {"$ne": null}}') AS ne_null;
-- Ranges, combined in one condition object: all must hold.
SELECT ids('{"salaryMin": {"$gt": 70000}}') AS gt, ids('{"salaryMin": {"$gte": 70000}}') AS gte,
       ids('{"salaryMin": {"$lt": 70000}}') AS lt, ids('{"salaryMin": {"$lte": 70000}}') AS lte,
       ids('{"salaryMin": {"$gte": 70000, "$lt": 100000}}') AS between;
SELECT ids('{"posted": {"$gte": "2024-01-15"}}') AS since, ids('{"rating": {"$gt": 4.1}}') AS rating,
       ids('{"title": {"$lt": "E"}}') AS text_order, ids('{"salaryMin": {"$gt": "80000"}}') AS numeric_string;
-- $in and $nin take arrays (null elements are ignored, empty arrays match nothing / all non-null).
SELECT ids('{"id": {"$in": [2, 4, 9]}}') AS in_ids, ids('{"location": {"$in": ["berlin", "Remote"]}}') AS in_text,
       ids('{"salaryMin": {"$nin": [70000, 85000]}}') AS nin, ids('{"salaryMin": {"$in": [null, 60000]}}') AS in_null,
       ids('{"salaryMin": {"$in": []}}') AS in_empty, ids('{"salaryMin": {"$nin": []}}') AS nin_empty;
-- Strings: $contains ignores case (as in RushDB); $startsWith and $endsWith do not.
-- Values are data, never patterns: % and _ match themselves.
SELECT ids('{"location": {"$contains": "BERLIN"}}') AS contains, ids('{"location": {"$startsWith": "Berlin"}}') AS starts,
       ids('{"location": {"$endsWith": ", DE"}}') AS ends, ids('{"title": {"$contains": "engineer"}}') AS contains2;
SELECT ids('{"title": {"$contains": "%"}}') AS percent, ids('{"title": {"$contains": "_"}}') AS underscore,
       ids('{"title": {"$startsWith": "50%"}}') AS starts_percent, ids('{"title": {"$endsWith": "_shelf"}}') AS ends_underscore,
       ids('{"title": {"$startsWith": ""}}') AS starts_empty, ids('{"title": {"$contains": "''; DROP TABLE job; --"}}') AS quote;
-- $exists: IS NOT NULL / IS NULL.
SELECT ids('{"salaryMin": {"$exists": true}}') AS exists, ids('{"salaryMin": {"$exists": false}}') AS missing,
       ids('{"tags": {"$exists": true}}') AS tags;
-- jsonb columns compare as JSON: objects and arrays are operands of $eq, $ne, $in, $nin (a
-- plain object is a condition, so equality with an object needs $eq).
SELECT ids('{"tags": {"$eq": {"lang": "go"}}}') AS eq_object, ids('{"tags": [1, 2]}') AS eq_array,
       ids('{"tags": {"$ne": {"lang": "go"}}}') AS ne_object, ids('{"tags": {"$in": [{"lang": "ts"}, {}]}}') AS in_objects,
       ids('{"tags": "{\"lang\": \"go\"}"}') AS a_json_string;
SELECT ids('{"tags": {"lang": "go"}}') AS plain_object_is_a_condition;
-- Logical operators: $and, $or (arrays, or objects of conditions), $not (the complement: it
-- also matches records whose columns are NULL), nested.
SELECT ids('{"$and": [{"remote": false}, {"salaryMin": {"$gt": 70000}}]}') AS and_array,
       ids('{"$or": [{"location": "Remote"}, {"salaryMin": {"$gte": 100000}}]}') AS or_array,
       ids('{"$or": {"location": "Remote", "salaryMin": 60000}}') AS or_object,
       ids('{"$and": []}') AS and_empty, ids('{"$or": []}') AS or_empty;
SELECT ids('{"$not": {"remote": true}}') AS not_remote, ids('{"$not": {"salaryMin": {"$gt": 70000}}}') AS not_gt,
       ids('{"salaryMin": {"$not": {"$gt": 70000}}}') AS field_not, ids('{"location": {"$not": "berlin"}}') AS field_not_value,
       ids('{"$not": {}}') AS not_everything;
SELECT ids('{"$or": [{"$and": [{"location": {"$contains": "de"}}, {"salaryMin": {"$gte": 85000}}]},
                     {"$not": {"$or": [{"remote": false}, {"remote": null}]}}],
             "id": {"$ne": 4}}') AS nested;

-- $startsWith and $endsWith are case-sensitive (as in RushDB); $contains is not.
SELECT ids('{"location": {"$startsWith": "berlin"}}') AS starts_lower, ids('{"location": {"$startsWith": "BERLIN"}}') AS starts_upper,
       ids('{"location": {"$endsWith": ", de"}}') AS ends_lower, ids('{"location": {"$contains": "mUnIcH"}}') AS contains_mixed;
-- $id is the record id (the primary key), with any condition.
SELECT ids('{"$id": 3}') AS id_eq, ids('{"$id": {"$in": [1, 5, 7]}}') AS id_in,
       ids('{"$id": {"$gte": 5}, "remote": false}') AS id_and_column, ids('{"$not": {"$id": {"$lte": 4}}}') AS id_not;
SELECT try_ids('{"$id": "x"}') AS id_not_an_int;
-- $type: string, number, boolean, datetime, null. A typed column has one type (matching its
-- non-null values); jsonb values are tested one by one.
SELECT ids('{"salaryMin": {"$type": "number"}}') AS int_number, ids('{"salaryMin": {"$type": "string"}}') AS int_string,
       ids('{"salaryMin": {"$type": "null"}}') AS int_null, ids('{"rating": {"$type": "number"}}') AS numeric_number,
       ids('{"title": {"$type": "string"}}') AS text_string, ids('{"remote": {"$type": "boolean"}}') AS bool_boolean,
       ids('{"posted": {"$type": "datetime"}}') AS date_datetime;
SELECT ids('{"tags": {"$type": "null"}}') AS jsonb_null, ids('{"tags": {"$type": "number"}}') AS jsonb_number,
       ids('{"$or": [{"tags": {"$type": "string"}}, {"tags": {"$type": "boolean"}}]}') AS jsonb_scalars;
SELECT try_ids('{"title": {"$type": "text"}}') AS unknown_type, try_ids('{"title": {"$type": ["string"]}}') AS type_array;

-- Errors: unknown columns (42703, with a hint when only the case differs) and operators
-- (22023), and operands of the wrong shape (22023) or type (from the cast, e.g. 22P02).
SELECT try_ids('{"salary": 1}') AS unknown_column;
SELECT ids('{"salarymin": 1}');
SELECT ids('{"$and": [{"remote": true}, {"ctid": {"$exists": true}}]}');
SELECT try_ids('{"salaryMin": {"$between": [1, 2]}}') AS unknown_operator;
SELECT try_ids('{"$xor": [{"remote": true}]}') AS unknown_logical;
SELECT ids('{"$nor": [{"remote": true}]}');
SELECT try_ids('{"COMPANY": {"name": "Acme"}}') AS related_records;
SELECT ids('{"title": {"name": "Acme"}}');
SELECT try_ids('[{"remote": true}]') AS filter_array, try_ids('"remote"') AS filter_string;
SELECT try_ids('{"$and": [1]}') AS and_number, try_ids('{"$and": "x"}') AS and_string,
       try_ids('{"$not": [{"remote": true}]}') AS not_array;
SELECT try_ids('{"salaryMin": {"$gt": null}}') AS gt_null, try_ids('{"salaryMin": {"$gt": [1]}}') AS gt_array,
       try_ids('{"salaryMin": {}}') AS empty_condition;
SELECT try_ids('{"salaryMin": [70000, 85000]}') AS plain_array;
SELECT ids('{"salaryMin": [70000, 85000]}');
SELECT try_ids('{"salaryMin": {"$in": 70000}}') AS in_scalar, try_ids('{"salaryMin": {"$in": [[1]]}}') AS in_nested;
SELECT try_ids('{"salaryMin": {"$contains": "7"}}') AS contains_on_int,
       try_ids('{"title": {"$contains": 7}}') AS contains_number, try_ids('{"title": {"$exists": "yes"}}') AS exists_string;
SELECT try_ids('{"salaryMin": "lots"}') AS bad_int, try_ids('{"posted": {"$gt": "soon"}}') AS bad_date,
       try_ids('{"remote": "maybe"}') AS bad_bool, ids('{"remote": "yes"}') AS boolean_text;
-- Injection attempts are just names or values: unknown columns, or strings compared as data.
SELECT try_ids('{"id\" = 1 OR \"id": 1}') AS column_injection;
SELECT try_ids('{"title": "x''); DROP TABLE job; --"}') AS value_injection;
SELECT try_ids('{"title": {"$eq": "x", "$contains) OR (true": "y"}}') AS operator_injection;
SELECT count(*) AS job_still_there FROM job;

-- Filtered top-k is exact: k rows come back whenever k records match, however selective the
-- filter and however far the matches are from the query.
CREATE TABLE item (id int PRIMARY KEY, color text, body text);
INSERT INTO item SELECT g, CASE WHEN g % 100 = 0 THEN 'red' ELSE 'blue' END, 'item ' || g FROM generate_series(1, 2000) g;
SELECT id FROM strata.create_index('item', 'body', 2);
-- Item g points at angle g / 1000 (0.001 to 2 radians); the query at 1.03 radians.
SELECT strata.upsert_vectors(2, array_agg(g ORDER BY g),
                             array_agg(format('[%s,%s]', cos(g / 1000.0), sin(g / 1000.0))::vector ORDER BY g))
       AS written
  FROM generate_series(1, 2000) g;
\set q '(SELECT format(''[%s,%s]'', cos(1.03), sin(1.03))::vector)'
-- The 10 nearest overall are all blue; the 10 nearest red ones are the 10 reds closest in angle.
SELECT count(*) AS top10, count(*) FILTER (WHERE record ->> 'color' = 'red') AS red_among_them
  FROM strata.search('item', 'body', :q, k => 10);
SELECT string_agg(record_id, ',') AS red_top10, count(*) FROM strata.search('item', 'body', :q, '{"color": "red"}', k => 10);
SELECT string_agg(id::text, ',' ORDER BY abs(id / 1000.0 - 1.03)) AS expected
  FROM (SELECT id FROM item WHERE color = 'red' ORDER BY abs(id / 1000.0 - 1.03) LIMIT 10) s;
SELECT count(*) AS all_20_red FROM strata.search('item', 'body', :q, '{"color": "red"}', k => 50);
SELECT string_agg(record_id, ',') AS red_page_2 FROM strata.search('item', 'body', :q, '{"color": "red"}', k => 5, skip => 5);

-- Array columns: a condition on a single value holds when it holds for any element; $ne and
-- $nin when it holds for no element. An array operand compares the whole array.
CREATE TABLE post (id int PRIMARY KEY, tags text[], scores int[], body text);
INSERT INTO post VALUES (1, '{typescript,Rust}', '{1,5}', 'a'), (2, '{go}', '{7}', 'b'), (3, '{}', '{}', 'c'),
                        (4, NULL, NULL, 'd'), (5, '{TypeScript,go}', '{3,9}', 'e');
SELECT id FROM strata.create_index('post', 'body', 2);
SELECT strata.upsert_vectors(3, ARRAY[1, 2, 3, 4, 5], array_fill('[1,1]'::vector, ARRAY[5])) AS written;
CREATE FUNCTION post_ids(filter jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(record_id, ',' ORDER BY record_id::int), '(none)')
      FROM strata.search('post', 'body', '[1,1]', filter, k => 100)
$$;
SELECT post_ids('{"tags": "typescript"}') AS any_eq, post_ids('{"tags": {"$ne": "go"}}') AS none_eq,
       post_ids('{"tags": {"$in": ["go", "Rust"]}}') AS any_in, post_ids('{"tags": {"$nin": ["go"]}}') AS none_in,
       post_ids('{"tags": {"$contains": "SCRIPT"}}') AS any_contains, post_ids('{"tags": {"$startsWith": "Type"}}') AS any_starts;
SELECT post_ids('{"scores": {"$gt": 6}}') AS any_gt, post_ids('{"scores": {"$gte": 3, "$lte": 5}}') AS each_any,
       post_ids('{"tags": ["typescript", "Rust"]}') AS whole_array, post_ids('{"tags": {"$ne": ["go"]}}') AS whole_ne,
       post_ids('{"tags": {"$exists": false}}') AS missing, post_ids('{"tags": {"$type": "string"}}') AS typed,
       post_ids('{"$not": {"tags": "go"}}') AS not_any;
SELECT try($$SELECT post_ids('{"tags": {"$gt": ["a"]}}')$$) AS gt_array;
SELECT try($$SELECT post_ids('{"scores": "x"}')$$) AS bad_element;

-- Column names and filter keys that need quoting, in the SQL and in each operand's path
-- (quotes, a comma, braces, a backslash, a space, the word NULL).
CREATE TABLE odd (id int PRIMARY KEY, "it's ""odd"", {x}\" text, "NULL" int, "a b" text[], body text);
INSERT INTO odd VALUES (1, 'yes', 1, '{p,q}', 'a'), (2, 'no', NULL, '{q}', 'b'), (3, NULL, 3, NULL, 'c');
SELECT count(*) AS index_created FROM strata.create_index('odd', 'body', 2);
SELECT strata.upsert_vectors((SELECT id FROM strata.indexes_catalog WHERE label = 'odd'::regclass),
                             ARRAY[1, 2, 3], array_fill('[1,1]'::vector, ARRAY[3])) AS written;
CREATE FUNCTION odd_ids(filter jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(record_id, ',' ORDER BY record_id::int), '(none)')
      FROM strata.search('odd', 'body', '[1,1]', filter, k => 100)
$$;
SELECT odd_ids('{"it''s \"odd\", {x}\\": "yes"}') AS quoted_eq,
       odd_ids('{"it''s \"odd\", {x}\\": {"$in": ["no", "maybe"]}}') AS quoted_in,
       odd_ids('{"NULL": {"$gte": 2}}') AS null_word, odd_ids('{"a b": "q"}') AS space_any,
       odd_ids('{"$or": [{"a b": ["p", "q"]}, {"NULL": 3}]}') AS nested_paths;
-- Operands beyond f64 are compared by PostgreSQL, not parsed by the compiler.
SELECT odd_ids('{"NULL": {"$lt": 1e400}}') AS huge_bound, odd_ids('{"NULL": {"$gt": -1e400}}') AS huge_negative;
