#!/usr/bin/env python3
"""Adaptive retrieval benchmark (run by scripts/bench-adaptive).

Reproduces in shape the seed article's claim: a binary vector index takes a
fraction of the f32 index's memory; binary-only recall drops; a binary
shortlist re-ranked exactly by the f32 vectors recovers it. On the MiniLM
data (bench/datasets.py), a table docs (id, emb vector(384), bemb
bvector(384) = binarize(emb)), both columns indexed USING vectors (emb with
vector_l2_ops: the vectors are unit length, so squared L2 ranks as cosine;
bemb with bvector_l2_ops, Hamming distance), and on one psycopg connection:

- index sizes (pg_relation_size) and their ratio, build times;
- recall@10 (against the exact f32 top-10) and QPS of the f32 index alone,
  the binary index alone, and match_documents_adaptive(q, 10, f): the seed's
  SQL function with the shortlist LIMIT match_count * f, f = 2, 4, 10.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
from datasets import np  # noqa: E402
from e2e import copy_binary_payload, copy_in, log, psycopg, recall, run_queries, vec_text  # noqa: E402

FUNCTION = """
CREATE OR REPLACE FUNCTION match_documents_adaptive(query_embedding vector(384), match_count int,
                                                    shortlist_factor int DEFAULT 2)
RETURNS SETOF docs LANGUAGE SQL AS $$
WITH shortlist AS (SELECT * FROM docs ORDER BY bemb <-> binarize(query_embedding) LIMIT match_count * shortlist_factor)
SELECT * FROM shortlist ORDER BY emb <-> query_embedding LIMIT match_count; $$
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--ef", default="40,100,200")
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",")]
    nq = 200 if a.quick else 1000

    ds = datasets.load("minilm")
    base, queries, gt = ds["base"], ds["queries"], ds["gt"]
    n, d = base.shape
    res = {"dataset": "minilm", "n": n, "dims": d, "queries": nq, "quick": a.quick,
           "load_before": list(os.getloadavg()), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    log(f"adaptive: MiniLM {n} x {d}, {nq} queries, load {res['load_before']}")
    qtext = [vec_text(q) for q in queries[:nq]]

    conn = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname="postgres", autocommit=True)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS docs, raw CASCADE")
    cur.execute("CREATE EXTENSION IF NOT EXISTS strata")
    cur.execute(f"CREATE TEMP TABLE raw (id int, cat int, emb vector({d}))")
    copy_in(conn, "raw", copy_binary_payload(np.arange(n), np.zeros(n, dtype=np.int64), base))
    cur.execute(f"CREATE TABLE docs (id int PRIMARY KEY, emb vector({d}) NOT NULL, bemb bvector({d}) NOT NULL)")
    cur.execute("INSERT INTO docs SELECT id, emb, binarize(emb) FROM raw")
    cur.execute("DROP TABLE raw")
    cur.execute("VACUUM ANALYZE docs")
    res["build"] = {}
    for col, ops in (("emb", "vector_l2_ops"), ("bemb", "bvector_l2_ops")):
        t = time.perf_counter()
        cur.execute(f"CREATE INDEX docs_{col} ON docs USING vectors ({col} {ops}) WITH (m = 16, ef_construction = 64)")
        secs = time.perf_counter() - t
        cur.execute(f"SELECT pg_relation_size('docs_{col}')")
        res["build"][col] = {"opclass": ops, "seconds": secs, "index_bytes": cur.fetchone()[0]}
        log(f"CREATE INDEX on {col} ({ops}): {secs:.1f} s, {res['build'][col]['index_bytes'] / 2**20:.1f} MiB")
    cur.execute("SELECT pg_table_size('docs'), pg_column_size(emb), pg_column_size(bemb) FROM docs LIMIT 1")
    tsz, esz, bsz = cur.fetchone()
    res["table_bytes"], res["emb_datum_bytes"], res["bemb_datum_bytes"] = tsz, esz, bsz
    res["size_ratio"] = res["build"]["emb"]["index_bytes"] / res["build"]["bemb"]["index_bytes"]
    cur.execute(FUNCTION)
    cur.execute("ANALYZE docs")

    runs = [
        ("f32 index alone", "SELECT id FROM docs ORDER BY emb <-> %s::vector LIMIT 10"),
        ("binary index alone", "SELECT id FROM docs ORDER BY bemb <-> binarize(%s::vector) LIMIT 10"),
    ] + [(f"adaptive, shortlist k*{f}", f"SELECT id FROM match_documents_adaptive(%s::vector, 10, {f})")
         for f in (2, 4, 10)]
    cur.execute("SET strata.ef_search = 100")
    run_queries(conn, runs[0][1], [(q,) for q in qtext[:100]], passes=1)
    run_queries(conn, runs[1][1], [(q,) for q in qtext[:100]], passes=1)
    res["explain"] = {}
    for label, sql in runs:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + sql.replace("%s", "'" + qtext[0] + "'"))
        res["explain"][label] = [r[0] for r in cur.fetchall()]
    # The plan inside the SQL function (is the shortlist an index scan on
    # bemb?), from auto_explain's nested-statement log sent to this client.
    notes = []
    conn.add_notice_handler(lambda d: notes.append(d.message_primary))
    cur.execute("LOAD 'auto_explain'")
    cur.execute("SET auto_explain.log_min_duration = 0")
    cur.execute("SET auto_explain.log_nested_statements = on")
    cur.execute("SET client_min_messages = log")
    cur.execute("/* plan */ SELECT id FROM match_documents_adaptive(%s::vector, 10, 2)", (qtext[0],))
    cur.fetchall()
    cur.execute("RESET client_min_messages")
    cur.execute("SET auto_explain.log_min_duration = -1")
    res["explain_inside_function"] = [ln[:200] for n in notes for ln in n.splitlines()]
    res["results"] = []
    for label, sql in runs:
        for ef in efs:
            cur.execute(f"SET strata.ef_search = {ef}")
            secs, got = run_queries(conn, sql, [(q,) for q in qtext])
            r = {"method": label, "ef": ef, "recall": recall(got, gt[:nq]), "qps": nq / secs,
                 "rows": sum(map(len, got)) / len(got)}
            res["results"].append(r)
            log(f"{label}, ef_search {ef}: recall@10 {r['recall']:.4f}, {r['qps']:.0f} QPS")
    # Binary-only recall without the graph: exact Hamming top-10 (numpy),
    # separating the quantisation loss from the index's.
    bits = np.packbits(base > 0, axis=1)
    qbits = np.packbits(queries[:nq] > 0, axis=1)
    pop = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(1)
    ham_got = []
    for q in qbits:
        h = pop[np.bitwise_xor(bits, q)].sum(1)
        ham_got.append(np.argsort(h, kind="stable")[:10].tolist())
    res["binary_exact_recall"] = recall(ham_got, gt[:nq])
    log(f"exact Hamming top-10 (numpy, ties by row order): recall@10 {res['binary_exact_recall']:.4f}")
    conn.close()
    res["load_after"] = list(os.getloadavg())
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    print(report(res))


def report(r):
    b = r["build"]
    L = [f"MiniLM 384d, {r['n']:,} rows, {r['queries']} queries, m=16 ef_construction=64, one connection; "
         f"load {r['load_before'][0]:.2f} at start, {r['load_after'][0]:.2f} at end",
         f"f32 index (emb vector_l2_ops): {b['emb']['index_bytes'] / 2**20:.1f} MiB, built in {b['emb']['seconds']:.1f} s",
         f"binary index (bemb bvector_l2_ops): {b['bemb']['index_bytes'] / 2**20:.1f} MiB, built in "
         f"{b['bemb']['seconds']:.1f} s",
         f"size ratio f32/binary: {r['size_ratio']:.1f}x (datum sizes: vector {r['emb_datum_bytes']} B, "
         f"bvector {r['bemb_datum_bytes']} B)",
         f"exact Hamming top-10 recall (no index, numpy): {r['binary_exact_recall']:.4f}",
         "",
         f"{'method':<28} {'ef_search':>9} | {'recall@10':>9} {'QPS':>7}",
         "-" * 60]
    for x in r["results"]:
        L.append(f"{x['method']:<28} {x['ef']:>9} | {x['recall']:>9.4f} {x['qps']:>7.0f}")
    return "\n".join(L)


if __name__ == "__main__":
    main()
