#!/usr/bin/env python3
"""End-to-end benchmark of strata through SQL (run by scripts/bench-e2e).

Connects to a running throwaway server (--host socket dir, --port) with
psycopg on ONE connection and measures, for one dataset of bench/datasets.py:

- binary COPY of the base table (id int, cat int, emb vector(d)); `cat` is a
  uniform random integer in 0..99 (numpy seed 7);
- CREATE INDEX ... USING vectors (emb vector_cos_ops) WITH (m = 16,
  ef_construction = 64): time, index size, table size;
- recall@10 and QPS of `SELECT id FROM items ORDER BY emb <=> $1::vector
  LIMIT 10` (a prepared statement, the query vector sent as a text
  parameter, as pgvector-style clients do) over a sweep of strata.ef_search,
  best of two passes over the queries after a warm-up; the same query with
  index scans disabled (exact search) as the in-run anchor;
- filtered top-10 `WHERE cat < s` at 10% and 1% selectivity: recall against
  the exact filtered answer (numpy brute force), rows returned, QPS;
- single-row autocommit INSERT throughput into the indexed table and into a
  table without the vectors index (same columns and primary key), two
  alternating rounds each; binary COPY throughput into the indexed table;
  the time until the background merge has folded all the inserted rows
  (no growing segment left, no merge running);
- hnswlib (m=16, ef_construction=64, one thread, in memory, same data and
  queries) as the ceiling curve.

Writes a JSON file and a PNG plot of recall vs QPS, and prints a table.
"""
import argparse
import json
import os
import platform
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
from datasets import ensure, np  # noqa: E402

psycopg = ensure("psycopg", "psycopg[binary]")

# Goals and pgvector 0.8.6 reference figures quoted from issue 9 (same
# machine class, one client, m=16, ef_construction=64). Not measured here.
REFERENCE = {
    "glove50": {
        "pgvector_curve": [[0.939, 231], [0.95, 210], [0.976, 145]],
        "pgvector_build_s": 227,
        "pgvector_insert_rows_s": [125, 195],
        "pgvector_insert_unindexed_rows_s": 760,
        "hnswlib_reported": [[0.95, 1200]],
        "goal_qps_at_095": 525,
    },
    "minilm": {
        "pgvector_curve": [[0.965, 455]],
        "pgvector_build_s": 40,
        "hnswlib_reported": [[0.958, 3500]],
    },
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def vec_text(v):
    return "[" + ",".join("%.9g" % x for x in v.tolist()) + "]"


def copy_binary_payload(ids, cats, vecs):
    """PostgreSQL binary COPY data for rows (id int4, cat int4, emb vector)."""
    n, d = vecs.shape
    dt = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("cat", ">i4"),
                   ("l3", ">i4"), ("dims", ">u2"), ("z", ">u2"), ("v", ">f4", (d,))])
    a = np.zeros(n, dtype=dt)
    a["nf"], a["l1"], a["l2"], a["l3"] = 3, 4, 4, 4 + 4 * d
    a["id"], a["cat"], a["dims"], a["v"] = ids, cats, d, vecs
    return b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + a.tobytes() + struct.pack(">h", -1)


def copy_in(conn, table, payload):
    t = time.perf_counter()
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} (id, cat, emb) FROM STDIN WITH (FORMAT binary)") as cp:
            for s in range(0, len(payload), 1 << 20):
                cp.write(payload[s:s + (1 << 20)])
    return time.perf_counter() - t


def recall(got, truth, k=10):
    hits = tot = 0
    for g, t in zip(got, truth):
        t = [x for x in t[:k] if x >= 0]
        hits += len(set(g) & set(t))
        tot += len(t)
    return hits / tot if tot else 1.0


def run_queries(conn, sql, params_list, passes=2):
    """Best-of-passes wall time for running every query once, and the ids."""
    best, res = float("inf"), None
    with conn.cursor() as cur:
        for _ in range(passes):
            out = []
            t = time.perf_counter()
            for p in params_list:
                cur.execute(sql, p, prepare=True)
                out.append([r[0] for r in cur.fetchall()])
            best = min(best, time.perf_counter() - t)
            res = out
    return best, res


def interp_qps(curve, target=0.95):
    pts = sorted((c["recall"], c["qps"]) for c in curve)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    return None


def hnswlib_curve(ds, efs, m=16, efc=64):
    hnswlib = ensure("hnswlib", "hnswlib")
    base, queries, gt = ds["base"], ds["queries"], ds["gt"]
    path = os.path.join(ds["dir"], f"hnswlib-m{m}-efc{efc}.bin")
    meta_path = path + ".json"
    idx = hnswlib.Index(space="cosine", dim=base.shape[1])
    if os.path.exists(path) and os.path.exists(meta_path):
        idx.load_index(path, max_elements=base.shape[0])
        build = json.load(open(meta_path))["build_s"]
        cached = True
    else:
        log(f"hnswlib: building m={m} ef_construction={efc}, one thread")
        idx.init_index(max_elements=base.shape[0], M=m, ef_construction=efc, random_seed=100)
        idx.set_num_threads(1)
        t = time.perf_counter()
        idx.add_items(base, np.arange(base.shape[0]), num_threads=1)
        build = time.perf_counter() - t
        idx.save_index(path)
        json.dump({"build_s": build}, open(meta_path, "w"))
        cached = False
    idx.set_num_threads(1)
    idx.set_ef(efs[0])
    idx.knn_query(queries, k=10, num_threads=1)
    curve = []
    for ef in efs:
        idx.set_ef(max(ef, 10))
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            labels, _ = idx.knn_query(queries, k=10, num_threads=1)
            best = min(best, time.perf_counter() - t)
        curve.append({"ef": ef, "recall": recall(labels.tolist(), gt), "qps": len(queries) / best})
    return {"build_s": build, "build_cached": cached, "curve": curve}


def wait_merge(conn, index, timeout=1800):
    t = time.perf_counter()
    with conn.cursor() as cur:
        while time.perf_counter() - t < timeout:
            cur.execute("SELECT idx_growing = '{}' AND NOT idx_indexing FROM pg_vector_index_stat WHERE indexname = %s",
                        (index,))
            if cur.fetchone()[0]:
                return time.perf_counter() - t
            time.sleep(0.1)
    return None


def stat(conn, index):
    with conn.cursor() as cur:
        cur.execute("SELECT idx_tuples, idx_sealed, idx_growing, idx_write, idx_size FROM pg_vector_index_stat "
                    "WHERE indexname = %s", (index,))
        r = cur.fetchone()
    return {"tuples": r[0], "sealed": list(r[1] or []), "growing": list(r[2] or []), "write": r[3], "size": r[4]}


def insert_rate(conn, table, rows, seconds):
    """Single-row autocommit INSERTs for `seconds`; ids continue after the
    table's largest id, vectors and cat values cycle through `rows`."""
    sql = f"INSERT INTO {table} (id, cat, emb) VALUES (%s, %s, %s::vector)"
    with conn.cursor() as cur:
        cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
        start = max(cur.fetchone()[0], 10_000_000)
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            cat, vec = rows[n % len(rows)]
            cur.execute(sql, (start + n, cat, vec), prepare=True)
            n += 1
        return n / (time.perf_counter() - t0), n


def plot(res, path):
    ensure("matplotlib", "matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    h = res["hnswlib"]["curve"]
    ax.plot([c["recall"] for c in h], [c["qps"] for c in h], "o--", color="gray",
            label="hnswlib, in memory, 1 thread (ceiling)")
    s = res["sweep"]
    ax.plot([c["recall"] for c in s], [c["qps"] for c in s], "o-", color="C0", lw=2,
            label="strata through SQL, 1 connection")
    for c in s:
        ax.annotate(str(c["ef"]), (c["recall"], c["qps"]), textcoords="offset points", xytext=(4, 4),
                    fontsize=7, color="C0")
    e = res["exact"]
    ax.plot([e["recall"]], [e["qps"]], "s", color="C3", ms=8, label="exact search (index scans off)")
    ref = REFERENCE.get(res["dataset"], {})
    if ref.get("pgvector_curve"):
        p = ref["pgvector_curve"]
        ax.plot([x[0] for x in p], [x[1] for x in p], "^:", color="C2",
                label="pgvector 0.8.6 HNSW (figures from issue 9, not run here)")
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (log)")
    ax.set_title(f"{res['title']}: ORDER BY emb <=> q LIMIT 10, m=16, ef_construction=64\n"
                 f"labels: strata.ef_search; load {res['load_before'][0]:.1f} at start", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, choices=["glove50", "minilm"])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--png")
    ap.add_argument("--quick", action="store_true", help="fewer queries, shorter insert runs")
    ap.add_argument("--ef", default="10,20,40,80,120,200,400")
    ap.add_argument("--filter-ef", default="40,100,200")
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",")]
    nq = 200 if a.quick else 1000
    nq_exact = 30 if a.quick else 200
    nq_filter = 100 if a.quick else 500
    insert_s = 5 if a.quick else 20
    copy_rows = 20000 if a.quick else 50000

    ds = datasets.load(a.dataset)
    base, queries, gt = ds["base"], ds["queries"], ds["gt"]
    n, d = base.shape
    title = {"glove50": f"GloVe 6B 50d ({n:,} vectors)", "minilm": f"all-MiniLM-L6-v2 384d ({n:,} texts)"}[a.dataset]
    res = {"dataset": a.dataset, "title": title, "n": n, "dims": d, "queries": nq, "quick": a.quick,
           "load_before": list(os.getloadavg()), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
           "cores": os.cpu_count(), "python": platform.python_version(), "psycopg": psycopg.__version__}
    log(f"{title}, {nq} queries, load {res['load_before']}")
    cats = datasets.cat_column(n)
    qtext = [vec_text(q) for q in queries[:nq]]

    conn = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname="postgres", autocommit=True)
    cur = conn.cursor()
    cur.execute("SELECT version(), current_setting('shared_buffers'), current_setting('maintenance_work_mem'), "
                "current_setting('max_parallel_workers_per_gather'), current_setting('jit')")
    v = cur.fetchone()
    res["server"] = {"version": v[0], "shared_buffers": v[1], "maintenance_work_mem": v[2],
                     "max_parallel_workers_per_gather": v[3], "jit": v[4]}
    cur.execute("DROP TABLE IF EXISTS items, plain")
    cur.execute("CREATE EXTENSION IF NOT EXISTS strata")
    cur.execute(f"CREATE TABLE items (id int PRIMARY KEY, cat int NOT NULL, emb vector({d}) NOT NULL)")
    cur.execute(f"CREATE TABLE plain (id int PRIMARY KEY, cat int NOT NULL, emb vector({d}) NOT NULL)")

    payload = copy_binary_payload(np.arange(n), cats, base)
    t = copy_in(conn, "items", payload)
    res["copy_no_index"] = {"rows": n, "seconds": t, "rows_per_s": n / t}
    log(f"COPY {n} rows (no index): {t:.1f} s")
    cur.execute("VACUUM ANALYZE items")

    t = time.perf_counter()
    cur.execute("CREATE INDEX items_emb ON items USING vectors (emb vector_cos_ops) WITH (m = 16, ef_construction = 64)")
    build = time.perf_counter() - t
    cur.execute("SELECT pg_relation_size('items_emb'), pg_table_size('items'), pg_relation_size('items'), "
                "pg_relation_size('items_pkey')")
    isz, tsz, heap, pk = cur.fetchone()
    res["build"] = {"seconds": build, "index_bytes": isz, "table_bytes": tsz, "heap_bytes": heap, "pkey_bytes": pk,
                    "stat": stat(conn, "items_emb")}
    log(f"CREATE INDEX: {build:.1f} s, index {isz / 2**20:.1f} MiB, table {tsz / 2**20:.1f} MiB")
    cur.execute("ANALYZE items")

    knn = "SELECT id FROM items ORDER BY emb <=> %s::vector LIMIT 10"
    cur.execute("SET strata.ef_search = 40")
    run_queries(conn, knn, [(q,) for q in qtext[:100]], passes=1)  # warm-up
    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + knn.replace("%s", "'" + qtext[0] + "'"))
    res["explain_knn"] = [r[0] for r in cur.fetchall()]
    res["sweep"] = []
    for ef in efs:
        cur.execute(f"SET strata.ef_search = {ef}")
        secs, got = run_queries(conn, knn, [(q,) for q in qtext])
        r = {"ef": ef, "recall": recall(got, gt[:nq]), "qps": nq / secs, "ms": 1000 * secs / nq}
        res["sweep"].append(r)
        log(f"ef_search {ef}: recall@10 {r['recall']:.4f}, {r['qps']:.0f} QPS")

    # A separately prepared statement: a cached plan keeps the index scan
    # it was planned with, whatever enable_indexscan says later.
    cur.execute("SET enable_indexscan = off")
    exact = "/* exact */ " + knn
    cur.execute("EXPLAIN " + knn.replace("%s", "'" + qtext[0] + "'"))
    res["explain_exact"] = [r[0] for r in cur.fetchall()]
    secs, got = run_queries(conn, exact, [(q,) for q in qtext[:nq_exact]], passes=1)
    res["exact"] = {"queries": nq_exact, "recall": recall(got, gt[:nq_exact]), "qps": nq_exact / secs,
                    "ms": 1000 * secs / nq_exact}
    log(f"exact: recall@10 {res['exact']['recall']:.4f}, {res['exact']['qps']:.2f} QPS")
    cur.execute("RESET enable_indexscan")

    # Filtered top-10.
    bu, qu = datasets.unit(base), datasets.unit(queries[:nq_filter])
    fsql = "SELECT id FROM items WHERE cat < %s ORDER BY emb <=> %s::vector LIMIT 10"
    res["filtered"] = []
    for sel in (10, 1):
        truth = datasets.exact_topk(bu, qu, 10, mask=cats < sel)
        params = [(sel, q) for q in qtext[:nq_filter]]
        for ef in [int(x) for x in a.filter_ef.split(",")]:
            cur.execute(f"SET strata.ef_search = {ef}")
            secs, got = run_queries(conn, fsql, params, passes=1)
            r = {"selectivity": sel, "ef": ef, "queries": len(params), "recall": recall(got, truth),
                 "rows": sum(map(len, got)) / len(got), "qps": len(params) / secs}
            res["filtered"].append(r)
            log(f"filtered {sel}% ef {ef}: recall {r['recall']:.4f}, rows {r['rows']:.2f}, {r['qps']:.0f} QPS")
        cur.execute("SET enable_indexscan = off")
        k = min(nq_exact, len(params))
        secs, got = run_queries(conn, "/* exact */ " + fsql, params[:k], passes=1)
        r = {"selectivity": sel, "ef": None, "queries": k, "recall": recall(got, truth[:k]),
             "rows": sum(map(len, got)) / len(got), "qps": k / secs}
        res["filtered"].append(r)
        log(f"filtered {sel}% exact: recall {r['recall']:.4f}, {r['qps']:.1f} QPS")
        cur.execute("RESET enable_indexscan")
    cur.execute("RESET strata.ef_search")

    # Writes.
    rng = np.random.default_rng(3)
    pick = rng.integers(0, n, size=20000)
    rows = [(int(cats[j]), vec_text(base[j])) for j in pick]
    rounds = {"plain": [], "indexed": []}
    done = {"plain": 0, "indexed": 0}
    for rnd in range(2):
        for kind, table in (("plain", "plain"), ("indexed", "items")):
            rate, cnt = insert_rate(conn, table, rows, insert_s)
            done[kind] += cnt
            rounds[kind].append(rate)
            log(f"single-row INSERT into {kind}: {rate:.0f} rows/s")
    ins = {k: sum(v) / len(v) for k, v in rounds.items()}
    res["insert"] = {"seconds_each": insert_s, "rounds": rounds, "plain_rows_per_s": ins["plain"],
                     "indexed_rows_per_s": ins["indexed"], "ratio": ins["plain"] / ins["indexed"],
                     "indexed_rows": done["indexed"]}
    # The same without waiting for the commit's WAL flush: on a shared disk
    # the fsync dominates and swings tenfold; this isolates the index's cost.
    cur.execute("SET synchronous_commit = off")
    arounds = {"plain": [], "indexed": []}
    for rnd in range(2):
        for kind, table in (("plain", "plain"), ("indexed", "items")):
            rate, cnt = insert_rate(conn, table, rows, insert_s / 2)
            done[kind] += cnt
            arounds[kind].append(rate)
            log(f"single-row INSERT into {kind}, synchronous_commit off: {rate:.0f} rows/s")
    cur.execute("RESET synchronous_commit")
    a_ins = {k: sum(v) / len(v) for k, v in arounds.items()}
    res["insert_async"] = {"seconds_each": insert_s / 2, "rounds": arounds, "plain_rows_per_s": a_ins["plain"],
                           "indexed_rows_per_s": a_ins["indexed"], "ratio": a_ins["plain"] / a_ins["indexed"]}
    pick = rng.integers(0, n, size=copy_rows)
    payload = copy_binary_payload(20_000_000 + np.arange(copy_rows), cats[pick], base[pick])
    t = copy_in(conn, "items", payload)
    res["copy_indexed"] = {"rows": copy_rows, "seconds": t, "rows_per_s": copy_rows / t}
    log(f"COPY {copy_rows} rows into the indexed table: {copy_rows / t:.0f} rows/s")
    before = stat(conn, "items_emb")
    m = wait_merge(conn, "items_emb")
    after = stat(conn, "items_emb")
    res["merge"] = {"rows_inserted": done["indexed"] + copy_rows, "seconds_after_copy": m,
                    "stat_before": before, "stat_after": after}
    log(f"background merge of {done['indexed'] + copy_rows} inserted rows done {m} s after the COPY")
    cur.execute("SELECT pg_relation_size('items_emb')")
    res["merge"]["index_bytes_after"] = cur.fetchone()[0]

    conn.close()
    log("hnswlib ceiling")
    res["hnswlib"] = hnswlib_curve(ds, efs)
    res["load_after"] = list(os.getloadavg())
    res["qps_at_095"] = {"strata": interp_qps(res["sweep"]), "hnswlib": interp_qps(res["hnswlib"]["curve"])}
    res["reference"] = REFERENCE.get(a.dataset, {})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    if a.png:
        plot(res, a.png)
    print(report(res))


def report(r):
    L = []
    L.append(f"{r['title']}, d={r['dims']}, {r['queries']} queries, m=16 ef_construction=64, one connection; "
             f"load {r['load_before'][0]:.2f} at start, {r['load_after'][0]:.2f} at end")
    L.append(f"COPY (binary) {r['n']:,} rows, no index: {r['copy_no_index']['seconds']:.1f} s "
             f"({r['copy_no_index']['rows_per_s']:,.0f} rows/s)")
    b = r["build"]
    L.append(f"CREATE INDEX: {b['seconds']:.1f} s; index {b['index_bytes'] / 2**20:.1f} MiB, "
             f"table {b['table_bytes'] / 2**20:.1f} MiB (heap {b['heap_bytes'] / 2**20:.1f}), "
             f"{len(b['stat']['sealed'])} sealed segment(s)")
    h = {c["ef"]: c for c in r["hnswlib"]["curve"]}
    L.append("")
    L.append(f"{'ef_search':>9} | {'strata R@10':>11} {'QPS':>7} {'ms':>6} | {'hnswlib R@10':>12} {'QPS':>7}")
    L.append("-" * 64)
    for c in r["sweep"]:
        x = h.get(c["ef"])
        L.append(f"{c['ef']:>9} | {c['recall']:>11.4f} {c['qps']:>7.0f} {c['ms']:>6.2f} | "
                 f"{x['recall']:>12.4f} {x['qps']:>7.0f}")
    e = r["exact"]
    L.append(f"{'exact':>9} | {e['recall']:>11.4f} {e['qps']:>7.1f} {e['ms']:>6.1f} | (index scans off, "
             f"{e['queries']} queries)")
    q = r["qps_at_095"]
    L.append("QPS at recall@10 0.95 (interpolated): strata " + (f"{q['strata']:.0f}" if q["strata"] else "n/a")
             + ", hnswlib " + (f"{q['hnswlib']:.0f}" if q["hnswlib"] else "n/a")
             + f"; hnswlib build {r['hnswlib']['build_s']:.1f} s" + (" (cached)" if r["hnswlib"]["build_cached"] else ""))
    L.append("")
    L.append(f"{'filter':>8} {'ef_search':>9} | {'recall':>7} {'rows':>5} {'QPS':>7}")
    for f in r["filtered"]:
        L.append(f"{'cat<' + str(f['selectivity']):>8} {f['ef'] if f['ef'] else 'exact':>9} | "
                 f"{f['recall']:>7.4f} {f['rows']:>5.2f} {f['qps']:>7.1f}")
    i = r["insert"]
    L.append("")
    L.append(f"single-row autocommit INSERT: {i['plain_rows_per_s']:.0f} rows/s without the vectors index, "
             f"{i['indexed_rows_per_s']:.0f} with it (unindexed/indexed {i['ratio']:.2f}x)")
    if "insert_async" in r:
        i = r["insert_async"]
        L.append(f"  with synchronous_commit = off: {i['plain_rows_per_s']:.0f} rows/s without, "
                 f"{i['indexed_rows_per_s']:.0f} with it ({i['ratio']:.2f}x)")
    c = r["copy_indexed"]
    L.append(f"COPY (binary) {c['rows']:,} rows into the indexed table: {c['rows_per_s']:,.0f} rows/s")
    m = r["merge"]
    L.append(f"background merge of the {m['rows_inserted']:,} inserted rows: done "
             + (f"{m['seconds_after_copy']:.1f} s" if m["seconds_after_copy"] is not None else "not within 30 min")
             + " after the COPY")
    return "\n".join(L)


if __name__ == "__main__":
    main()
