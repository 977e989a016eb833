CREATE EXTENSION strata;
-- BYOV with the `vectors` access method: create_index builds an HNSW index on each vector
-- table (strata._ann_index_ddl). Search streams the index, filters applied as it goes, so a
-- selective filter still gets its k rows, and pages must not overlap. The index is
-- approximate, so results are compared with the exact scan (index scans off) only loosely
-- (recall), and everything pinned below holds for any recall.
CREATE TABLE item (id int PRIMARY KEY, color text, body text);
INSERT INTO item SELECT g, CASE WHEN g % 10 = 0 THEN 'red' ELSE 'blue' END, 'item ' || g
  FROM generate_series(1, 200) g;
SELECT id, similarity FROM strata.create_index('item', 'body', 2);
SELECT id, similarity FROM strata.create_index('item', 'body', 2, 'euclidean');
SELECT id, similarity FROM strata.create_index('item', 'color', 2, 'dot');
-- Item g points at angle g / 100 (0.01 to 2 radians), on the unit circle.
CREATE FUNCTION at(angle float8) RETURNS vector LANGUAGE sql IMMUTABLE
    AS $$ SELECT format('[%s,%s]', cos(angle), sin(angle))::vector $$;
SELECT i, strata.upsert_vectors(i, array_agg(g ORDER BY g), array_agg(at(g / 100.0) ORDER BY g))
  FROM generate_series(1, 200) g, generate_series(1, 3) i GROUP BY i ORDER BY i;

-- Searches to compare: three query angles (a third of the way between two items, so no ties),
-- each index, with and without filters, two pages.
CREATE TABLE probe (n serial, property name, similarity text, angle float8, filter jsonb, k int, skip int);
INSERT INTO probe (property, similarity, angle, filter, k, skip)
SELECT p.property, p.similarity, a, f, 10, s
  FROM (VALUES ('body', 'cosine'), ('body', 'euclidean'), ('color', NULL)) p(property, similarity),
       unnest(ARRAY[0.2033, 1.0333, 1.7733]) a,
       unnest(ARRAY[NULL, '{"color": "red"}', '{"id": {"$lt": 40}}']::jsonb[]) f,
       unnest(ARRAY[0, 10]) s;
CREATE FUNCTION run_probes() RETURNS TABLE (n int, rank bigint, record_id text) LANGUAGE sql AS $$
    SELECT p.n, row_number() OVER (PARTITION BY p.n), r.record_id
      FROM probe p, strata.search('item', p.property, at(p.angle), p.filter, p.k, p.skip, p.similarity) r
$$;
SET enable_indexscan = off;
CREATE TABLE exact AS SELECT * FROM run_probes();
SELECT count(DISTINCT n) AS probes, count(*) AS rows FROM exact;
-- The plans search runs, for the red filter: the exact ranking (ORDER BY the score, which no
-- index serves), and the stream strata._search_index reads from the index, k + skip + a half
-- + 16 rows at first (31 for k = 10).
CREATE FUNCTION plan(index_id bigint, exact boolean) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    i strata.indexes_catalog;
BEGIN
    SELECT * INTO i FROM strata.indexes_catalog c WHERE c.id = index_id;
    RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || strata._search_sql(i, '{"color": "red"}', exact)
                         || CASE WHEN exact THEN '' ELSE ' LIMIT 31' END
        USING '[1,0]'::vector, '{"color": "red"}'::jsonb, 10, 0;
END $$;
SELECT plan(1, true);
RESET enable_indexscan;
-- Every search below streams the index (small tables would otherwise be ranked exactly).
SET strata.exact_search_rows = 0;

-- The HNSW indexes create_index built.
SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
 WHERE x.indrelid IN (SELECT vector_table FROM strata.indexes) AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'vectors')
 ORDER BY 1;
ANALYZE item, strata.vectors_1, strata.vectors_2, strata.vectors_3;
-- Steer these small tables to the index, as large ones go on their own.
SET enable_seqscan = off;
SET enable_sort = off;
SELECT plan(1, false);
SELECT plan(3, false);
-- Every probe still fills its page (k = 10 matches exist for every filter, on both pages) ...
CREATE TABLE ann AS SELECT * FROM run_probes();
SELECT count(DISTINCT n) AS probes, count(*) AS rows FROM ann;
-- ... pages of the same search never overlap ...
SELECT count(*) AS overlapping FROM ann a JOIN probe pa USING (n) JOIN ann b ON a.record_id = b.record_id
  JOIN probe pb ON pb.n = b.n
 WHERE (pa.property, pa.similarity, pa.angle, pa.filter) IS NOT DISTINCT FROM (pb.property, pb.similarity, pb.angle, pb.filter)
   AND pa.skip = 0 AND pb.skip = 10;
-- ... and records match the filters.
SELECT count(*) AS filter_violations FROM ann JOIN probe USING (n) JOIN item i ON i.id = ann.record_id::int
 WHERE (probe.filter ->> 'color' IS NOT NULL AND i.color <> 'red') OR (probe.filter ? 'id' AND i.id >= 40);
-- Recall against the exact scan (per search, both pages).
SELECT count(*) FILTER (WHERE e.record_id IS NOT NULL)::float8 / count(*) >= 0.95 AS recall_at_least_95_percent
  FROM (SELECT p.property, p.similarity, p.angle, p.filter, a.record_id FROM ann a JOIN probe p USING (n)) a
  LEFT JOIN (SELECT p.property, p.similarity, p.angle, p.filter, e.record_id FROM exact e JOIN probe p USING (n)) e
    ON (a.property, a.similarity, a.angle, a.filter, a.record_id) IS NOT DISTINCT FROM
       (e.property, e.similarity, e.angle, e.filter, e.record_id);

-- Writes go through the index too: new and replaced vectors, deleted and truncated records.
-- 50 and 150 now sit exactly at angle 1.0, as 100 does; they come first.
SELECT strata.upsert_vectors(1, ARRAY[50, 150], ARRAY[at(1.0), at(1.0)]) AS written;
SELECT ARRAY['50', '150'] <@ array_agg(record_id) AS replaced_vectors_found
  FROM strata.search('item', 'body', at(1.0), similarity => 'cosine', k => 3);
DELETE FROM item WHERE id IN (50, 100);
SELECT count(*) FILTER (WHERE record_id IN ('50', '100')) AS deleted_returned, count(*) AS rows
  FROM strata.search('item', 'body', at(1.0), similarity => 'cosine', k => 50);
SELECT count(*) AS red_rows, count(*) FILTER (WHERE record ->> 'color' = 'red') AS red
  FROM strata.search('item', 'body', at(1.0333), '{"color": "red"}', k => 30, similarity => 'euclidean');
TRUNCATE item;
SELECT count(*) AS after_truncate FROM strata.search('item', 'body', at(1.0), similarity => 'cosine');
RESET enable_seqscan;
RESET enable_sort;
RESET strata.exact_search_rows;
