"""Top-k over postgres_fdw shards against one server (issue 21), one run.

Three PostgreSQL servers on this machine (started by scripts/bench-sharded):
a coordinator that also holds the whole table as the single-server
reference, and two shards holding the hash partitions, each with its own
`vectors` index. For an ef_search sweep it measures recall@10 and the
latency of `ORDER BY emb <=> q LIMIT 10` on the single table and on the
partitioned table (through postgres_fdw), and, from EXPLAIN ANALYZE VERBOSE
on the coordinator, the time each shard's foreign scan took.
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import datasets  # noqa: E402
from e2e import copy_binary_payload, recall, run_queries, vec_text, log, load_now  # noqa: E402

import numpy as np  # noqa: E402
import psycopg  # noqa: E402


def connect(sock, port, db="postgres"):
    return psycopg.connect(host=sock, port=port, dbname=db, user="postgres", autocommit=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coordinator", required=True, help="socket dir:port")
    ap.add_argument("--shards", required=True, help="comma-separated socket dir:port")
    ap.add_argument("--rows", type=int, default=399000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--ef", default="40,80,160")
    ap.add_argument("--fetch-size", type=int, default=20)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    ds = datasets.load("glove50")
    base, queries, gt = ds["base"][:a.rows], ds["queries"][:a.queries], ds["gt"][:a.queries]
    if a.rows < len(ds["base"]):
        gt = datasets.exact_topk(datasets.unit(base), datasets.unit(queries), 10)
    n, d = base.shape
    csock, cport = a.coordinator.rsplit(":", 1)
    shards = [s.rsplit(":", 1) for s in a.shards.split(",")]
    res = {"rows": n, "dims": d, "queries": len(queries), "shards": len(shards), "fetch_size": a.fetch_size,
           "load_before": load_now(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    ddl = f"CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, emb vector({d}) NOT NULL)"
    for sock, port in shards:
        with connect(sock, port) as c:
            c.execute("DROP TABLE IF EXISTS items")
            c.execute("CREATE EXTENSION IF NOT EXISTS strata")
            c.execute(ddl)
    c = connect(csock, cport)
    c.execute("CREATE EXTENSION IF NOT EXISTS strata")
    c.execute("CREATE EXTENSION IF NOT EXISTS postgres_fdw")
    c.execute("DROP TABLE IF EXISTS items, single CASCADE")
    for i, (sock, port) in enumerate(shards):
        c.execute(f"DROP SERVER IF EXISTS shard{i} CASCADE")
        c.execute(f"CREATE SERVER shard{i} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{sock}', port '{port}', "
                  f"dbname 'postgres', extensions 'strata', fetch_size '{a.fetch_size}')")
        c.execute(f"CREATE USER MAPPING FOR CURRENT_USER SERVER shard{i} OPTIONS (user 'postgres')")
    c.execute(f"CREATE TABLE items (id int NOT NULL, cat int NOT NULL, emb vector({d}) NOT NULL) PARTITION BY HASH (id)")
    for i in range(len(shards)):
        c.execute(f"CREATE FOREIGN TABLE items_{i} PARTITION OF items FOR VALUES WITH (MODULUS {len(shards)}, "
                  f"REMAINDER {i}) SERVER shard{i} OPTIONS (table_name 'items')")
    c.execute(ddl.replace("items", "single"))
    payload = copy_binary_payload(np.arange(n), datasets.cat_column(n), base)
    for table in ("single", "items"):
        t = time.perf_counter()
        with c.cursor() as cur:
            with cur.copy(f"COPY {table} (id, cat, emb) FROM STDIN WITH (FORMAT binary)") as cp:
                for s in range(0, len(payload), 1 << 20):
                    cp.write(payload[s:s + (1 << 20)])
        log(f"COPY {n} rows into {table}: {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    c.execute("CREATE INDEX single_emb ON single USING vectors (emb vector_cos_ops)")
    res["single_build_s"] = time.perf_counter() - t
    res["shard_build_s"] = []
    for sock, port in shards:
        with connect(sock, port) as s:
            t = time.perf_counter()
            s.execute("CREATE INDEX items_emb ON items USING vectors (emb vector_cos_ops)")
            res["shard_build_s"].append(time.perf_counter() - t)
            s.execute("ANALYZE items")
            s.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            s.execute("SELECT pg_prewarm('items'), pg_prewarm('items_emb')")
    c.execute("ANALYZE single")
    c.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    c.execute("SELECT pg_prewarm('single'), pg_prewarm('single_emb')")
    log(f"builds: single {res['single_build_s']:.1f} s, shards {res['shard_build_s']}")
    qtext = [vec_text(q) for q in queries]
    sql = {t: f"SELECT id FROM {t} ORDER BY emb <=> %s::vector LIMIT 10" for t in ("single", "items")}
    res["sweep"] = []
    for ef in [int(x) for x in a.ef.split(",")]:
        # The shards read strata.ef_search from their own sessions: set it
        # for the user, which postgres_fdw's connections pick up on connect.
        for sock, port in shards:
            with connect(sock, port) as s:
                s.execute(f"ALTER ROLE postgres SET strata.ef_search = {ef}")
        c.execute("SELECT postgres_fdw_disconnect_all()")
        c.execute(f"SET strata.ef_search = {ef}")
        row = {"ef": ef}
        for t in ("single", "items"):
            run_queries(c, sql[t], [(q,) for q in qtext[:50]], passes=1)  # warm-up, connections
            secs, got = run_queries(c, sql[t], [(q,) for q in qtext], passes=2)
            row[t] = {"recall": recall(got, gt), "ms": 1000 * secs / len(qtext)}
        # Time per shard: the foreign scans' actual times in one query's plan.
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (ANALYZE, VERBOSE) " + sql["items"].replace("%s", "'" + qtext[0] + "'")).fetchall())
        row["shard_scan_ms"] = [float(m) for m in re.findall(r"Foreign Scan on public\.items_\d+ .*?actual time=[\d.]+\.\.([\d.]+)", plan)]
        row["plan"] = plan
        res["sweep"].append(row)
        log(f"ef {ef}: one server recall {row['single']['recall']:.4f} {row['single']['ms']:.2f} ms; "
            f"{len(shards)} shards recall {row['items']['recall']:.4f} {row['items']['ms']:.2f} ms; "
            f"shard scans {row['shard_scan_ms']} ms")
    for sock, port in shards:
        with connect(sock, port) as s:
            s.execute("ALTER ROLE postgres RESET strata.ef_search")
    res["load_after"] = load_now()
    json.dump(res, open(a.out, "w"), indent=1)
    print(f"{'ef':>4} | {'one server R@10':>15} {'ms':>6} | {str(len(shards)) + ' shards R@10':>15} {'ms':>6} | shard scan ms")
    for r in res["sweep"]:
        print(f"{r['ef']:>4} | {r['single']['recall']:>15.4f} {r['single']['ms']:>6.2f} | {r['items']['recall']:>15.4f} "
              f"{r['items']['ms']:>6.2f} | {', '.join(f'{x:.2f}' for x in r['shard_scan_ms'])}")


if __name__ == "__main__":
    main()
