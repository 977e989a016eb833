"""pgvector-python (the `pgvector` package on PyPI) against strata's `vector`, with psycopg 3.

What pgvector's users write: register_vector, numpy arrays in, pgvector.Vector out (and
to_numpy(); text and binary),
ORDER BY embedding <-> %s through a vectors index, and binary COPY in both directions.
pgvector's HalfVector and SparseVector adapters look for the types halfvec and sparsevec,
which strata calls vecf16 and svector: register_vector skips them, and those values come back
as text (checked below, so a change is noticed). Run by scripts/test (tier "clients") with
PGHOST/PGPORT/PGDATABASE set; prints one line per check.
"""

import numpy as np
import psycopg
from pgvector import Vector
from pgvector.psycopg import register_vector

checks = 0


def check(name, ok):
    global checks
    if not ok:
        raise AssertionError(name)
    checks += 1
    print(f"ok {name}")


conn = psycopg.connect(autocommit=True)
conn.execute("CREATE EXTENSION IF NOT EXISTS strata")
register_vector(conn)
conn.execute("DROP TABLE IF EXISTS items")
conn.execute("CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3))")

# numpy in (text and binary parameters), numpy out.
rows = [np.array([1, 2, 3]), np.array([1, 1, 1]), np.array([-1.5, 0.25, 1e-3], dtype=np.float32)]
conn.execute("INSERT INTO items (embedding) VALUES (%s), (%s)", rows[:2])
conn.cursor(binary=True).execute("INSERT INTO items (embedding) VALUES (%s)", (rows[2],))
# Results are pgvector.Vector objects (pgvector-python 0.4 and later); to_numpy() gives float32.
got = [r[0] for r in conn.execute("SELECT embedding FROM items ORDER BY id")]
check("numpy round trip, text", all(isinstance(v, Vector) and np.array_equal(v.to_numpy(), e.astype(np.float32)) for v, e in zip(got, rows)))
got = [r[0] for r in conn.cursor(binary=True).execute("SELECT embedding FROM items ORDER BY id")]
check("numpy round trip, binary", all(np.array_equal(v.to_numpy(), e.astype(np.float32)) for v, e in zip(got, rows)))
check("float32 elements", got[0].to_numpy().dtype == np.float32)
# pgvector's Vector class as a parameter.
one = conn.execute("SELECT %s::vector <-> '[1,2,4]'", (Vector([1, 2, 3]),)).fetchone()[0]
check("Vector parameter", one == 1.0)

# ORDER BY embedding <-> %s LIMIT k, through the index.
conn.execute("INSERT INTO items (embedding) SELECT ARRAY[i % 17, i % 5, i % 3]::real[] FROM generate_series(1, 500) i")
conn.execute("CREATE INDEX ON items USING vectors (embedding vector_l2_ops)")
conn.execute("SET enable_seqscan = off")
conn.execute("SET strata.ef_search = 1000")  # above the row count: the graph search sees every row
query = np.array([3, 2, 1])
plan = "\n".join(r[0] for r in conn.execute("EXPLAIN SELECT id FROM items ORDER BY embedding <-> %s LIMIT 5", (query,)))
check("index scan used", "items_embedding_idx" in plan)
near = conn.execute("SELECT embedding FROM items ORDER BY embedding <-> %s LIMIT 5", (query,)).fetchall()
conn.execute("RESET enable_seqscan")
exact = sorted(float(np.sum((r[0].to_numpy() - query) ** 2)) for r in conn.execute("SELECT embedding FROM items"))
check("nearest rows", [float(np.sum((r[0].to_numpy() - query) ** 2)) for r in near] == exact[:5])

# Binary COPY in (pgvector's write_row with set_types) and out.
conn.execute("CREATE TABLE copied (embedding vector(3))")
with conn.cursor().copy("COPY copied (embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
    copy.set_types(["vector"])
    for e in rows:
        copy.write_row([e])
check("binary COPY in", conn.execute("SELECT count(*) FROM copied c JOIN items i ON i.embedding = c.embedding AND i.id <= 3").fetchone()[0] == 3)
out = []
with conn.cursor().copy("COPY (SELECT embedding FROM items WHERE id <= 3 ORDER BY id) TO STDOUT WITH (FORMAT BINARY)") as copy:
    copy.set_types(["vector"])
    out = [row[0] for row in copy.rows()]
check("binary COPY out", len(out) == 3 and all(np.array_equal(a.to_numpy(), e.astype(np.float32)) for a, e in zip(out, rows)))

# Not adapted: strata's vecf16 and svector are not pgvector's halfvec and sparsevec.
check("vecf16 comes back as text", conn.execute("SELECT '[1,2]'::vecf16").fetchone()[0] == "[1,2]")
check("svector comes back as text", conn.execute("SELECT '{1:1}/3'::svector").fetchone()[0] == "{1:1}/3")
conn.execute("DROP TABLE items, copied")
print(f"pgvector-python {__import__('importlib.metadata').metadata.version('pgvector')}: {checks} checks passed")
