CREATE EXTENSION strata;
\set SHOW_CONTEXT never
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE q; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- The vector entries of strata.insert_records, parsed for all records at once
-- (strata._parse_vector_entries): many entries in one call, and which error a call reports
-- when several records or entries are wrong. The order is the one of a loop over the records
-- that checks each record's columns, then each of its entries (shape, keys, vector) and
-- resolves that entry's index before going on; this file's expected output was first produced
-- by that PL/pgSQL loop.
CREATE TABLE doc (id int PRIMARY KEY, title text, body text,
                  a_property_name_that_is_exactly_sixty_three_bytes_long_abcdefgh text);
SELECT id, property, similarity, dimensions FROM strata.create_index('doc', 'body', 3);
SELECT id, property, similarity, dimensions FROM strata.create_index('doc', 'body', 3, 'euclidean');
SELECT id, property, similarity, dimensions FROM strata.create_index('doc', 'title', 2);
SELECT id, property, similarity, dimensions
  FROM strata.create_index('doc', 'a_property_name_that_is_exactly_sixty_three_bytes_long_abcdefgh', 2);

-- ===================================================================== many entries
-- 300 records with three entries each (two indexes of body, one of title), in the vectors
-- argument; then 200 more with theirs inline.
SELECT count(*) AS inserted FROM strata.insert_records('doc',
    (SELECT jsonb_agg(jsonb_build_object('id', i, 'title', 't' || i) ORDER BY i) FROM generate_series(1, 300) i),
    (SELECT jsonb_agg(jsonb_build_array(
                jsonb_build_object('propertyName', 'body', 'vector', jsonb_build_array(i, 1, -i), 'similarity', 'cosine'),
                jsonb_build_object('propertyName', 'body', 'vector', jsonb_build_array(i, 2, 0.5), 'similarityFunction', 'l2'),
                jsonb_build_object('propertyName', 'title', 'vector', jsonb_build_array(i, i + 0.25)))
            ORDER BY i) FROM generate_series(1, 300) i));
SELECT count(*) AS inserted FROM strata.insert_records('doc',
    (SELECT jsonb_agg(jsonb_build_object('id', i, '__vectors', CASE WHEN i % 2 = 0 THEN jsonb_build_array(
                jsonb_build_object('propertyName', 'body', 'vector', jsonb_build_array(i, 1e-3, 1e30),
                                   'similarityFunction', 'euclidean', 'similarity', 'euclidean')) END)
            ORDER BY i) FROM generate_series(301, 500) i));
-- Each index got its vectors, each record its own.
SELECT (SELECT count(*) FROM strata.vectors_1) AS body_cosine, (SELECT count(*) FROM strata.vectors_2) AS body_l2,
       (SELECT count(*) FROM strata.vectors_3) AS title, (SELECT count(*) FROM strata.vectors_4) AS long_name;
SELECT count(*) FILTER (WHERE vec = format('[%s,1,%s]', record_id, -record_id)::vector) AS body_cosine_right
  FROM strata.vectors_1;
SELECT count(*) FILTER (WHERE record_id <= 300 AND vec = format('[%s,2,0.5]', record_id)::vector
                           OR record_id > 300 AND record_id % 2 = 0 AND vec = format('[%s,0.001,1e30]', record_id)::vector)
       AS body_l2_right
  FROM strata.vectors_2;
SELECT count(*) FILTER (WHERE vec = format('[%s,%s]', record_id, record_id + 0.25)::vector) AS title_right
  FROM strata.vectors_3;
-- A propertyName longer than a name is cut to 63 bytes, as ::name cuts it.
SELECT * FROM strata.insert_records('doc', '{"id": 1001}',
    '[{"propertyName": "a_property_name_that_is_exactly_sixty_three_bytes_long_abcdefgh_and_more", "vector": [1, 2]}]');
SELECT record_id, vec FROM strata.vectors_4;

-- ===================================================================== one error each
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": "cosine", "simlarity": "cosine"}]')$$) AS unknown_key;
SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": "cosine", "simlarity": "cosine"}]');
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 1e39, 0], "similarity": "cosine"}]')$$) AS out_of_range;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 1e-50, 0], "similarity": "cosine"}]')$$) AS too_small;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, "2", 0], "similarity": "cosine"}]')$$) AS string_element;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [], "similarity": "cosine"}]')$$) AS no_elements;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": null, "similarity": "cosine"}]')$$) AS null_vector;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "similarity": "cosine"}]')$$) AS no_vector;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": ["cosine"]}]')$$) AS similarity_not_a_string;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarity": null, "similarityFunction": null}]')$$) AS no_similarity_is_ambiguous;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[[{"propertyName": "body", "vector": [1, 0, 0]}]]')$$) AS entry_not_an_object;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}]', '[{"propertyName": "body", "vector": [1, 0, 0]}]')$$) AS list_not_an_array;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001, "__vectors": {"propertyName": "body"}}]')$$) AS inline_list_not_an_array;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}', '[{"propertyName": "body", "vector": [1, 0, 0], "similarityFunction": "\u0063osine", "similarity": "euclidean"}]')$$) AS disagree;

-- ===================================================================== which error first
-- A record's columns before its vectors, and an earlier record's vectors before a later
-- record's columns.
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001, "titel": "x"}, {"id": 2002}]',
    '[[{"propertyName": "body", "vector": [1e39]}], [{"propertyName": "body", "bad": 1}]]')$$) AS columns_first;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002, "titel": "x"}]',
    '[[{"propertyName": "body", "vector": [1e39]}], null]')$$) AS earlier_vector_first;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002, "titel": "x"}]',
    '[{"x": 1}, null]')$$) AS earlier_list_first;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, 5]',
    '[[{"propertyName": "nothing", "vector": [1, 2]}], [{"propertyName": "body", "vector": [1e39]}]]')$$) AS earlier_index_first;
-- An entry's index is resolved before the next entry is checked, and before the next record.
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "body", "vector": [1, 0, 0]}, {"propertyName": "body", "vectr": [1, 0, 0]}]')$$) AS index_before_next_entry;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002}]',
    '[[{"propertyName": "title", "vector": [1, 0, 0]}], [{"propertyName": 7}]]')$$) AS index_before_next_record;
-- Later records: their columns, lists and entries in record order.
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002, "titel": "x"}, {"id": 2003}]',
    '[[{"propertyName": "title", "vector": [1, 0]}], null, [{"propertyName": "title", "vector": [1e39, 0]}]]')$$) AS second_record_columns;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002}, {"id": 2003, "titel": "x"}]',
    '[[{"propertyName": "title", "vector": [1, 0]}], [{"propertyName": "title", "vector": [1, 0]}, {"propertyName": "title", "vector": [0, 1], "extra": 1}], null]')$$) AS second_record_entry;
SELECT try($$SELECT strata.insert_records('doc',
    '[{"id": 2001, "__vectors": [{"propertyName": "title", "vector": [1, 0]}]}, {"id": 2002}, {"id": 2003, "__vectors": 7}, {"id": 2004, "__vectors": [{}]}]')$$) AS third_record_list;
SELECT try($$SELECT strata.insert_records('doc', '[{"id": 2001}, {"id": 2002}]',
    '[[{"propertyName": "title", "vector": [1, 0]}], [{"propertyName": "title", "vector": [1, 0]}, {"propertyName": "title", "vector": [1, 0, 0]}, {"propertyName": "title", "vector": [1, "x"]}]]')$$) AS second_record_index;
-- Within an entry: shape, then unknown keys, then disagreement, then the vector, then the index.
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [1e39], "similarity": 1, "extra": 1}]')$$) AS shape;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [1e39], "similarity": "cosine", "similarityFunction": "dot", "extra": 1}]')$$) AS key;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [1e39], "similarity": "cosine", "similarityFunction": "dot"}]')$$) AS disagreement;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [true, 1e39]}]')$$) AS element;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [1e39]}]')$$) AS number;
SELECT try($$SELECT strata.insert_records('doc', '{"id": 2001}',
    '[{"propertyName": "nothing", "vector": [1]}]')$$) AS index;
-- The 400th of 400 entries is reported with its place.
SELECT try(format($f$SELECT strata.insert_records('doc', %L, %L)$f$,
    (SELECT jsonb_agg(jsonb_build_object('id', 3000 + i) ORDER BY i) FROM generate_series(1, 200) i),
    (SELECT jsonb_agg(jsonb_build_array(
                jsonb_build_object('propertyName', 'title', 'vector', jsonb_build_array(i, 1)),
                jsonb_build_object('propertyName', 'title', 'vector', jsonb_build_array(i, CASE WHEN i = 200 THEN 1e39 ELSE 2 END)))
            ORDER BY i) FROM generate_series(1, 200) i))) AS last_entry;
-- Nothing was written by the refused calls.
SELECT count(*) AS records FROM doc;
SELECT (SELECT count(*) FROM strata.vectors_1) + (SELECT count(*) FROM strata.vectors_2)
       + (SELECT count(*) FROM strata.vectors_3) + (SELECT count(*) FROM strata.vectors_4) AS vectors;
