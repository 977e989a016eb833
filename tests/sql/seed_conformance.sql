CREATE EXTENSION strata;
-- Every SQL example of the pgvecto.rs articles (shared/seeds/003), verbatim
-- where the article gives runnable SQL, each in its own schema because the
-- articles reuse table names. Where an article shows pseudo-SQL (elided
-- columns, placeholders), the closest runnable form follows it and the
-- comment says what was filled in.

-- ------------------------------------------------------------------
-- "My binary vector search is better than your FP32 vectors"
-- (Its second index names the table public.openai3072, so this section
-- runs in schema public.)
CREATE TABLE openai3072 (
  id bigserial PRIMARY KEY,
  text_embedding_3_large_3072_embedding vector(3072),
  text_embedding_3_large_3072_bvector bvector(3072)
);
CREATE INDEX openai_vector_index on openai3072 using vectors(text_embedding_3_large_3072_embedding vector_l2_ops);
CREATE INDEX openai_vector_index_bvector ON public.openai3072 USING vectors (text_embedding_3_large_3072_bvector bvector_l2_ops);
CREATE OR REPLACE FUNCTION match_documents_adaptive(
  query_embedding vector(3072),
  match_count int
)
RETURNS SETOF openai3072
LANGUAGE SQL
AS $$
-- Step 1: Query binary vector index to retrieve match_count * 2 candidates
WITH shortlist AS (
  SELECT *
  FROM openai3072
  ORDER BY text_embedding_3_large_3072_bvector <-> binarize(query_embedding)
  LIMIT match_count * 2
)
-- Step 2: Rerank the candidates using a KNN query to retrieve the top candidates
SELECT *
FROM shortlist
ORDER BY text_embedding_3_large_3072_embedding <-> query_embedding
LIMIT match_count;
$$;
-- Data for it: 300 deterministic 3072-dim vectors and their binary forms.
INSERT INTO openai3072 (text_embedding_3_large_3072_embedding, text_embedding_3_large_3072_bvector)
SELECT v, binarize(v) FROM (
  SELECT (SELECT array_agg(sin(i * 0.7 + j * 0.013 * (1 + i % 5)) ORDER BY j) FROM generate_series(1, 3072) j)::vector AS v
  FROM generate_series(1, 300) i) t;
-- The shortlist step uses the binary index, and the adaptive answer equals
-- exact search here: the true top 5 are among the 10 binary candidates.
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM openai3072
  ORDER BY text_embedding_3_large_3072_bvector <-> binarize((SELECT text_embedding_3_large_3072_embedding FROM openai3072 WHERE id = 42)) LIMIT 10;
SELECT array_agg(id ORDER BY ord) AS adaptive
  FROM match_documents_adaptive((SELECT text_embedding_3_large_3072_embedding FROM openai3072 WHERE id = 42), 5) WITH ORDINALITY t(id, e, b, ord);
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) AS exact FROM (SELECT id FROM openai3072
  ORDER BY text_embedding_3_large_3072_embedding <-> (SELECT text_embedding_3_large_3072_embedding FROM openai3072 WHERE id = 42) LIMIT 5) t;
RESET enable_indexscan;
-- The binary index is far smaller than the f32 one (1 bit against 32 per dimension).
SELECT pg_relation_size('openai_vector_index') > 10 * pg_relation_size('openai_vector_index_bvector') AS binary_index_much_smaller;

-- ------------------------------------------------------------------
-- "pgvector vs. pgvecto.rs in 2024": sparse vectors
CREATE SCHEMA comparison_sparse; SET search_path = comparison_sparse, public;
CREATE TABLE items (
  id bigserial PRIMARY KEY,
  embedding svector(10) NOT NULL
);
INSERT INTO items (embedding) VALUES ('[0.1,0,0,0,0,0,0,0,0,0]');
CREATE INDEX your_index_name ON items USING vectors (embedding svector_l2_ops);
SELECT * FROM items ORDER BY embedding <-> '[0.3,0,0,0,0,0,0,0,0,0]' LIMIT 1;

-- Same article: binary vectors
CREATE SCHEMA comparison_binary; SET search_path = comparison_binary, public;
CREATE TABLE items (
  id bigserial PRIMARY KEY,
  embedding bvector(3) NOT NULL
);
INSERT INTO items (embedding) VALUES ('[1,0,1]'), ('[0,1,0]');
CREATE INDEX your_index_name ON items USING vectors (embedding bvector_l2_ops);
SELECT * FROM items ORDER BY embedding <-> '[1,0,1]' LIMIT 5;

-- ------------------------------------------------------------------
-- "pgvecto.rs 0.2": the immich schema. The article elides columns with
-- "...", leaves the dimension as "n" and the query's values as :params,
-- and its query aliases two tables as "e" and orders by an undefined "s".
-- Runnable form: the listed columns, n = 3, the ExifInfo alias renamed to
-- "x" and the embedding's alias to "s", values filled in.
CREATE SCHEMA immich; SET search_path = immich, public;
CREATE TABLE AssetEntity (
  id UUID PRIMARY KEY,
  ownerId VARCHAR NOT NULL,
  createdAt TIMESTAMPTZ NOT NULL,
  updatedAt TIMESTAMPTZ NOT NULL,
  deletedAt TIMESTAMPTZ,
  isArchived BOOLEAN DEFAULT false,
  isVisible BOOLEAN DEFAULT true
);
CREATE TABLE ExifInfo (
  id INT PRIMARY KEY,
  assetId UUID,
  lat FLOAT,
  long FLOAT,
  city VARCHAR(255),
  state VARCHAR(255),
  country VARCHAR(255),
  description TEXT
);
CREATE TABLE ImageEmbedding (
  id INT PRIMARY KEY,
  assetId UUID,
  embedding vector(3) -- assuming 'n' is the dimensionality of the vector
);
INSERT INTO AssetEntity (id, ownerId, createdAt, updatedAt)
  SELECT ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid, 'user' || (i % 3), now() - interval '1 day', now()
  FROM generate_series(1, 60) i;
INSERT INTO ImageEmbedding SELECT i, ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid,
  ARRAY[cos(i), sin(i), i % 4]::real[]::vector FROM generate_series(1, 60) i;
INSERT INTO ExifInfo (id, assetId, city) SELECT i, ('00000000-0000-0000-0000-' || lpad(i::text, 12, '0'))::uuid,
  CASE WHEN i % 2 = 0 THEN 'Lisbon' ELSE 'Porto' END FROM generate_series(1, 60) i;
CREATE INDEX ON ImageEmbedding USING vectors (embedding vector_cos_ops);
SET enable_seqscan = off;
SELECT a.id, s.id AS embedding_id, x.city
FROM AssetEntity AS a
INNER JOIN ImageEmbedding AS s ON s.assetId = a.id
LEFT JOIN ExifInfo AS x ON x.assetId = a.id
WHERE a.ownerId IN ('user1', 'user2')
  AND a.isArchived = false
  AND a.isVisible = true
  AND a.createdAt < NOW()
  AND x.city = 'Lisbon'
ORDER BY s.embedding <=> '[1, 0, 2]'
LIMIT 5;
RESET enable_seqscan;

-- ------------------------------------------------------------------
-- "pgvecto.rs: vector similarity search in Postgres" (getting started)
CREATE SCHEMA getting_started; SET search_path = getting_started, public;
CREATE TABLE items (id bigserial PRIMARY KEY, emb vector(4));
INSERT INTO items (emb)
VALUES ('[1.1, 2.2, 3.3, 4.4]');
CREATE INDEX ON items USING vectors (emb l2_ops)
WITH (options = $$
capacity = 2097152
size_ram = 4294967296
storage_vectors = "ram"
[algorithm.hnsw]
storage = "ram"
m = 32
ef = 256
$$);
SELECT *, emb <-> '[0, 0, 0, 0]' AS score
FROM items
ORDER BY emb <-> '[0, 0, 0, 0]'
LIMIT 10;

-- ------------------------------------------------------------------
-- "Do we really need a specialized vector database?": the array operators.
CREATE SCHEMA arrays; SET search_path = arrays, public;
-- call the distance function through operators
-- square Euclidean distance
SELECT array[1, 2, 3] <-> array[3, 2, 1];
-- dot product distance
SELECT array[1, 2, 3] <#> array[3, 2, 1];
-- cosine distance
SELECT array[1, 2, 3] <=> array[3, 2, 1];
-- create table
CREATE TABLE items (id bigserial PRIMARY KEY, emb numeric[]);
-- insert values
INSERT INTO items (emb) VALUES (ARRAY[1,2,3]), (ARRAY[4,5,6]);
-- query the similar embeddings
SELECT * FROM items ORDER BY emb <-> ARRAY[3,2,1] LIMIT 5;
-- query the neighbors within a certain distance
SELECT * FROM items WHERE emb <-> ARRAY[3,2,1] < 5;

-- Same article, pgvector's example: the documents table and the
-- openai_embedding() function are the reader's (a deterministic stand-in
-- here), and the index is pgvector's ivfflat. strata has no ivfflat method,
-- and pgvector's "length(embedding) = 0" stands for "not computed yet"; the
-- same statements with strata's vectors index and IS NULL:
CREATE SCHEMA documents_example; SET search_path = documents_example, public;
CREATE TABLE documents (id int PRIMARY KEY, content text, embedding vector(3));
CREATE FUNCTION openai_embedding(t text) RETURNS vector LANGUAGE sql IMMUTABLE AS
  $$ SELECT ARRAY[length(t), ascii(t), ascii(reverse(t))]::real[]::vector $$;
INSERT INTO documents (id, content) VALUES (1, 'hello world'), (2, 'vector search'), (3, 'hello there');
-- Update the embedding column for the documents table
UPDATE documents SET embedding = openai_embedding(content) WHERE embedding IS NULL;
-- Create an index on the embedding column
CREATE INDEX ON documents USING vectors (embedding vector_l2_ops);
-- Query the similar embeddings
SELECT * FROM documents ORDER BY embedding <-> openai_embedding('hello world') LIMIT 5;
RESET search_path;
