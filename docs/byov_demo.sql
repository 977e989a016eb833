-- Bring Your Own Vectors in practice: the job-search walk-through (RushDB's "BYOV in Practice"
-- tutorial) in SQL. Run it in a scratch database: psql -f docs/byov_demo.sql
--
-- A team has job postings in PostgreSQL and an on-premise embedding model fine-tuned on job
-- descriptions (768 dimensions, cosine). Raw descriptions must not leave their infrastructure,
-- so strata never sees the model: the team computes vectors and hands them over.
-- tests/sql/byov_demo.sql runs this file, so its output is checked on every test run.
CREATE EXTENSION IF NOT EXISTS strata;

-- The model stands in as a deterministic function: a 768-dimensional bag of words (each word
-- hashed to a dimension, then normalized). Texts sharing words are close under cosine.
CREATE FUNCTION embed(doc text) RETURNS vector LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT vector_normalize(array_agg(coalesce(n, 0)::real ORDER BY d)::vector)
      FROM generate_series(0, 767) d
      LEFT JOIN (SELECT ('x' || substr(md5(w), 1, 8))::bit(32)::bigint % 768 AS d, count(*) AS n
                   FROM regexp_split_to_table(lower(doc), '[^a-z0-9+#]+') w
                  WHERE w <> '' GROUP BY 1) words USING (d)
$$;

-- The postings: 240 synthetic jobs (a label is a table; its primary key is the record id).
CREATE TABLE job (
    id          bigint PRIMARY KEY,
    title       text NOT NULL,
    description text NOT NULL,
    company     text NOT NULL,
    location    text NOT NULL,
    salary_min  integer,
    salary_max  integer
);
INSERT INTO job
SELECT i,
       (ARRAY['Backend engineer', 'Frontend developer', 'Data scientist', 'DevOps engineer',
              'Mobile developer', 'Machine learning engineer'])[1 + i % 6],
       format('%s %s at %s. %s %s',
              (ARRAY['Senior', 'Junior', 'Staff', 'Mid-level', 'Lead'])[1 + i % 5],
              lower((ARRAY['Backend engineer', 'Frontend developer', 'Data scientist', 'DevOps engineer',
                           'Mobile developer', 'Machine learning engineer'])[1 + i % 6]),
              (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark'])[1 + i % 7 % 6],
              (ARRAY['Build distributed systems and APIs in Go and Kafka on PostgreSQL.',
                     'Ship React and TypeScript interfaces with a design system.',
                     'Model demand with Python, statistics and experiments.',
                     'Run Kubernetes, Terraform and CI pipelines for distributed systems.',
                     'Build iOS and Android apps in Swift and Kotlin.',
                     'Train and serve ranking models with PyTorch on GPUs.'])[1 + i % 6],
              (ARRAY['Remote-friendly team.', 'Equity and a yearly bonus.', 'Four-day week.',
                     'Learning budget and conference travel.', 'Relocation support.',
                     'Small team, large impact, on-call one week a month.', 'Hybrid office.'])[1 + i % 7]),
       (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark'])[1 + i % 7 % 6],
       (ARRAY['Berlin, Germany', 'Munich, Germany', 'Amsterdam, Netherlands', 'Remote (EU)',
              'Berlin-Kreuzberg (hybrid)', 'London, UK', 'Paris, France', 'Lisbon, Portugal'])[1 + i % 8],
       50000 + (i * 7919 % 61) * 1000,
       80000 + (i * 7919 % 61) * 1000
  FROM generate_series(1, 240) i;

-- Step 1: create the external index. It waits for vectors.
SELECT id, label, property, source_type, similarity, dimensions, status
  FROM strata.create_index('job', 'description', 768, 'cosine');

-- Step 2: backfill. The pipeline embeds the existing rows on-premise and pushes the vectors in
-- batches of 100: one upsert_vectors call per batch, with arrays of record ids and vectors.
SELECT batch, strata.upsert_vectors(i.id, ARRAY(SELECT id FROM job ORDER BY id LIMIT 100 OFFSET batch * 100),
                                    ARRAY(SELECT embed(description) FROM job ORDER BY id LIMIT 100 OFFSET batch * 100))
              AS imported
  FROM strata.indexes i, generate_series(0, 2) batch
 WHERE i.label = 'job'::regclass AND i.property = 'description'
 ORDER BY batch;
SELECT id, status, records, vectors FROM strata.indexes WHERE label = 'job'::regclass;

-- Step 3: keep the pipeline current. A new job and its vector are written together, in one
-- transaction (RushDB's records.create with __vectors).
SELECT * FROM strata.insert_records('job',
    jsonb_build_object('id', 241, 'title', 'Backend engineer', 'company', 'Hooli', 'location', 'Berlin, Germany',
                       'salary_min', 95000, 'salary_max', 120000,
                       'description', 'Senior backend engineer at Hooli. Build distributed systems in Rust and Go.'),
    jsonb_build_array(jsonb_build_object(
        'propertyName', 'description',
        'vector', embed('Senior backend engineer at Hooli. Build distributed systems in Rust and Go.')::real[])));
-- Or, from SQL, a plain INSERT and upsert_vectors in the same transaction.
BEGIN;
INSERT INTO job VALUES (242, 'Data scientist', 'Lead data scientist at Acme. Forecast demand with Python and statistics.',
                        'Acme', 'Berlin, Germany', 90000, 110000);
SELECT strata.upsert_vectors((SELECT id FROM strata.indexes WHERE label = 'job'::regclass), ARRAY[242],
                             ARRAY[embed(description)]) AS written
  FROM job WHERE id = 242;
COMMIT;

-- Step 4: search with a query vector embedded on-premise by the same model, and a filter:
-- "senior backend engineer distributed systems" in Berlin.
SELECT record_id, round(score::numeric, 3) AS score, record ->> 'title' AS title,
       record ->> 'location' AS location, record ->> 'salary_min' AS salary_min
  FROM strata.search('job', 'description', embed('senior backend engineer distributed systems'),
                     '{"location": {"$contains": "berlin"}}', k => 5);
-- "Jobs semantically similar to X, in Berlin, salary > 80k".
SELECT record_id, round(score::numeric, 3) AS score, record ->> 'title' AS title,
       record ->> 'location' AS location, record ->> 'salary_min' AS salary_min
  FROM strata.search('job', 'description', embed('senior backend engineer distributed systems'),
                     '{"location": {"$contains": "berlin"}, "salary_min": {"$gt": 80000}}', k => 5);
-- The next page of the first search.
SELECT record_id, round(score::numeric, 3) AS score, record ->> 'title' AS title
  FROM strata.search('job', 'description', embed('senior backend engineer distributed systems'),
                     '{"location": {"$contains": "berlin"}}', k => 5, skip => 5);
-- Remote machine learning roles, any seniority.
SELECT record_id, round(score::numeric, 3) AS score, record ->> 'title' AS title, record ->> 'location' AS location
  FROM strata.search('job', 'description', embed('train ranking models pytorch'),
                     '{"$or": [{"location": {"$startsWith": "Remote"}}, {"location": {"$contains": "hybrid"}}]}', k => 3);

-- A posting is filled: deleting the record deletes its vector.
DELETE FROM job WHERE id = 241;
SELECT id, status, records, vectors FROM strata.indexes WHERE label = 'job'::regclass;
