#!/usr/bin/env python3
"""End-to-end benchmark of strata, and pgvector beside it, through SQL (run
by scripts/bench-e2e).

Connects to a running throwaway server (--host socket dir, --port) and runs
the same workload for each engine, each in its own database of that server
(both extensions define a type named `vector`), each on ONE psycopg
connection. Engines: strata (`USING vectors`, opclass vector_cos_ops,
strata.ef_search) and, with --pgvector, pgvector (`USING hnsw`, opclass
vector_cosine_ops, hnsw.ef_search; filtered queries with
hnsw.iterative_scan = relaxed_order). For one dataset of bench/datasets.py:

- binary COPY of the base table (id int, cat int, emb vector(d)); `cat` is a
  uniform random integer in 0..99 (numpy seed 7); both engines read the same
  binary vector format;
- CREATE INDEX ... WITH (m = 16, ef_construction = 64), each after a
  CHECKPOINT, each engine on the
  machine's 2 cores: strata's build runs one engine thread per core
  (std::thread::available_parallelism), pgvector's runs the leader and
  max_parallel_maintenance_workers = 1 worker (the DEBUG1 messages that say
  how many workers it launched are kept in the JSON); time, index size,
  table size;
- pg_prewarm of table and index, then recall@10 and QPS of `SELECT id FROM
  items ORDER BY emb <=> $1::vector LIMIT 10` (a prepared statement, the
  query vector sent as a text parameter) over a sweep of ef_search, best of
  two passes over the queries; the engines alternate at each ef_search, so
  a change in the machine's load hits both; the same query with index scans
  disabled (exact search) as the in-run anchor;
- filtered top-10 `WHERE cat < s` at 10% and 1% selectivity: recall against
  the exact filtered answer (numpy brute force), rows returned, QPS;
- single-row autocommit INSERT throughput (vectors not in the table yet:
  convex combinations of random pairs of base rows) into the indexed table
  and into a table without the vector index (same columns and primary key), two
  rounds, engines and tables alternating (before each pgvector run, strata's
  background merge is waited for, so it does not take pgvector's CPU), with
  synchronous_commit on and then off; binary COPY throughput into the indexed table; for strata, the
  time until the background merge has folded all the inserted rows;
- hnswlib (m=16, ef_construction=64, one thread, in memory, same data and
  queries) as the ceiling curve.

With --dataset glove2m (the scale set) it runs `scale` instead: at each row
count of --steps, COPY, CREATE INDEX, index size and the ef_search sweep for
each engine, then again with shared_buffers at a quarter of that engine's
index (the server restarted through --pgdata/--pg-bin).

Writes a JSON file and a PNG plot of recall vs QPS, and prints a table.
"""
import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
from datasets import ensure, np  # noqa: E402

psycopg = ensure("psycopg", "psycopg[binary]")

RECALL_TARGETS = (0.90, 0.95, 0.98)
TITLES = {"glove50": "GloVe 6B 50d ({n:,} vectors)", "minilm": "all-MiniLM-L6-v2 384d ({n:,} texts)",
          "glove2m": "GloVe 6B 50d + convex combinations ({n:,} vectors)"}


class Engine:
    """How one engine is set up and queried; everything else is shared."""

    def __init__(self, name, db, extension, method, opclass, ef_guc, build_gucs=(), filter_gucs=()):
        self.name, self.db, self.extension = name, db, extension
        self.method, self.opclass, self.ef_guc = method, opclass, ef_guc
        self.build_gucs, self.filter_gucs = list(build_gucs), list(filter_gucs)
        self.conn = None

    def index_sql(self, table="items", index="items_emb"):
        return (f"CREATE INDEX {index} ON {table} USING {self.method} (emb {self.opclass}) "
                f"WITH (m = 16, ef_construction = 64)")


STRATA = dict(name="strata", db="bench_strata", extension="strata", method="vectors", opclass="vector_cos_ops",
              ef_guc="strata.ef_search")
# One parallel worker besides the leader: 2 processes for 2 cores, as strata's
# build runs one thread per core. relaxed_order: the iterative scan that keeps
# going until the filter has found LIMIT rows (pgvector's recommended mode
# for filtered queries; strict_order costs more).
PGVECTOR = dict(name="pgvector", db="bench_pgvector", extension="vector", method="hnsw", opclass="vector_cosine_ops",
                ef_guc="hnsw.ef_search",
                build_gucs=["SET max_parallel_maintenance_workers = 1", "SET client_min_messages = debug1"],
                filter_gucs=["SET hnsw.iterative_scan = relaxed_order"])


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_now():
    return list(os.getloadavg())


def vec_text(v):
    return "[" + ",".join("%.9g" % x for x in v.tolist()) + "]"


def copy_binary_payload(ids, cats, vecs):
    """PostgreSQL binary COPY data for rows (id int4, cat int4, emb vector).
    strata's and pgvector's binary vector formats are the same: int16 dims,
    int16 zero, then the float4 elements."""
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
    """QPS at `target` recall, linear between the two sweep points around it
    (None when the sweep does not reach it). Points are taken in ef order and
    the first crossing counts, so noise in recall cannot pick a later one."""
    pts = [(c["recall"], c["qps"]) for c in sorted(curve, key=lambda c: c["ef"])]
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    return None


def qps_at(curve):
    return {f"{t:.2f}": interp_qps(curve, t) for t in RECALL_TARGETS}


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def hnswlib_curve(ds, efs, queries, gt, m=16, efc=64, n=None):
    hnswlib = ensure("hnswlib", "hnswlib")
    base = ds["base"] if n is None else ds["base"][:n]
    path = os.path.join(ds["dir"], f"hnswlib-m{m}-efc{efc}" + ("" if n is None else f"-{n}") + ".bin")
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


def fresh_vectors(base, count, rng):
    """Vectors for the write tests that are not in the table yet: convex
    combinations t*a + (1-t)*b of random pairs of base rows, t in [0.2, 0.8].
    Re-inserting base rows would measure something else: pgvector stores an
    exact duplicate as one more heap pointer on the existing graph element."""
    a = rng.integers(0, base.shape[0], size=count)
    b = rng.integers(0, base.shape[0], size=count)
    t = rng.uniform(0.2, 0.8, size=(count, 1)).astype(np.float32)
    return (t * base[a] + (1 - t) * base[b]).astype(np.float32)


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


def server_settings(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT version(), current_setting('shared_buffers'), current_setting('maintenance_work_mem'), "
                    "current_setting('max_parallel_workers_per_gather'), current_setting('jit'), "
                    "current_setting('max_parallel_workers'), current_setting('synchronous_commit')")
        v = cur.fetchone()
    return {"version": v[0], "shared_buffers": v[1], "maintenance_work_mem": v[2],
            "max_parallel_workers_per_gather": v[3], "jit": v[4], "max_parallel_workers": v[5],
            "synchronous_commit": v[6]}


def make_engines(with_pgvector):
    return [Engine(**STRATA)] + ([Engine(**PGVECTOR)] if with_pgvector else [])


def open_databases(host, port, engines):
    """A fresh database per engine with its extension (and pg_prewarm), and
    one autocommit connection to each."""
    admin = psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True)
    versions = {}
    for e in engines:
        admin.execute(f"DROP DATABASE IF EXISTS {e.db}")
        admin.execute(f"CREATE DATABASE {e.db}")
        e.conn = psycopg.connect(host=host, port=port, user="postgres", dbname=e.db, autocommit=True)
        e.notices = []
        e.conn.add_notice_handler(lambda d, e=e: e.notices.append(d.message_primary))
        e.conn.execute(f"CREATE EXTENSION {e.extension}")
        e.conn.execute("CREATE EXTENSION pg_prewarm")
        versions[e.name] = e.conn.execute("SELECT extversion FROM pg_extension WHERE extname = %s",
                                          (e.extension,)).fetchone()[0]
    settings = server_settings(admin)
    admin.close()
    return settings, versions


def create_tables(e, d, tables=("items", "plain")):
    for t in tables:
        e.conn.execute(f"DROP TABLE IF EXISTS {t}")
        e.conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, cat int NOT NULL, emb vector({d}) NOT NULL)")


def build_index(e, table="items", index="items_emb"):
    """CREATE INDEX with the engine's build settings; time, sizes, and what
    the server said (pgvector: parallel workers launched, memory)."""
    for g in e.build_gucs:
        e.conn.execute(g)
    # Flush what the COPYs and VACUUMs left dirty first: strata's build ran
    # first, right after both engines' tables were loaded, and shared the
    # two cores with their writeback (MiniLM, 2026-12-01: 2.5 s here against
    # 1.9 s for the same build on a quiet server); pgvector's, a minute
    # later, did not.
    e.conn.execute("CHECKPOINT")
    e.notices.clear()
    load = load_now()
    t = time.perf_counter()
    e.conn.execute(e.index_sql(table, index))
    secs = time.perf_counter() - t
    said = list(e.notices)
    e.conn.execute("RESET client_min_messages")
    e.conn.execute("RESET max_parallel_maintenance_workers")
    isz, tsz, heap, pk = e.conn.execute(
        f"SELECT pg_relation_size('{index}'), pg_table_size('{table}'), pg_relation_size('{table}'), "
        f"pg_relation_size('{table}_pkey')").fetchone()
    out = {"seconds": secs, "index_bytes": isz, "table_bytes": tsz, "heap_bytes": heap, "pkey_bytes": pk,
           "load_before": load, "load_after": load_now(),
           "server_messages": [m for m in said if "parallel" in m or "processed" in m or "memory" in m
                               or "maintenance_work_mem" in m]}
    if e.name == "strata":
        out["stat"] = stat(e.conn, index)
        out["threads"] = os.cpu_count()
    else:
        out["parallel_workers"] = next((int(m.split()[1]) for m in said if m.startswith("using ")), 0)
    return out


def prewarm(e, table="items", index="items_emb"):
    e.conn.execute(f"SELECT pg_prewarm('{table}'), pg_prewarm('{index}')")


def sweep(engines, sql, qtext, truth, efs, passes=2):
    """recall/QPS per ef_search per engine; the engines alternate at each ef."""
    out = {e.name: [] for e in engines}
    for ef in efs:
        for e in engines:
            e.conn.execute(f"SET {e.ef_guc} = {ef}")
            secs, got = run_queries(e.conn, sql, [(q,) for q in qtext], passes=passes)
            r = {"ef": ef, "recall": recall(got, truth), "qps": len(qtext) / secs, "ms": 1000 * secs / len(qtext)}
            out[e.name].append(r)
            log(f"{e.name} ef_search {ef}: recall@10 {r['recall']:.4f}, {r['qps']:.0f} QPS")
    for e in engines:
        e.conn.execute(f"RESET {e.ef_guc}")
    return out


KNN = "SELECT id FROM items ORDER BY emb <=> %s::vector LIMIT 10"
FILTERED = "SELECT id FROM items WHERE cat < %s ORDER BY emb <=> %s::vector LIMIT 10"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True, choices=["glove50", "minilm", "glove2m"])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--png")
    ap.add_argument("--pgvector", action="store_true", help="run pgvector beside strata")
    ap.add_argument("--quick", action="store_true", help="fewer queries, shorter insert runs")
    ap.add_argument("--ef", default="10,20,40,60,80,120,160,200,400")
    ap.add_argument("--filter-ef", default="40,100,200")
    ap.add_argument("--default-settings", action="store_true",
                    help="also rebuild each index with PostgreSQL's default maintenance_work_mem (64MB) and sweep again")
    ap.add_argument("--steps", default="400000,2000000", help="glove2m: row counts")
    ap.add_argument("--pgdata", help="glove2m: data directory, to restart with smaller shared_buffers")
    ap.add_argument("--pg-bin", help="glove2m: PostgreSQL bin directory")
    a = ap.parse_args()
    if a.dataset == "glove2m":
        return scale(a)
    efs = [int(x) for x in a.ef.split(",")]
    nq = 200 if a.quick else 1000
    nq_exact = 30 if a.quick else 200
    nq_filter = 100 if a.quick else 500
    insert_s = 5 if a.quick else 20
    copy_rows = 20000 if a.quick else 50000

    ds = datasets.load(a.dataset)
    base, queries, gt = ds["base"], ds["queries"], ds["gt"]
    n, d = base.shape
    title = TITLES[a.dataset].format(n=n)
    engines = make_engines(a.pgvector)
    res = {"dataset": a.dataset, "title": title, "n": n, "dims": d, "queries": nq, "quick": a.quick,
           "engines_run": [e.name for e in engines],
           "load_before": load_now(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
           "cores": os.cpu_count(), "python": platform.python_version(), "psycopg": psycopg.__version__,
           "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    log(f"{title}, {nq} queries, engines {res['engines_run']}, load {res['load_before']}")
    cats = datasets.cat_column(n)
    qtext = [vec_text(q) for q in queries[:nq]]
    res["server"], res["extension_versions"] = open_databases(a.host, a.port, engines)
    R = res["engines"] = {e.name: {} for e in engines}

    payload = copy_binary_payload(np.arange(n), cats, base)
    for e in engines:
        create_tables(e, d)
        t = copy_in(e.conn, "items", payload)
        R[e.name]["copy_no_index"] = {"rows": n, "seconds": t, "rows_per_s": n / t}
        log(f"{e.name}: COPY {n} rows (no index): {t:.1f} s")
        e.conn.execute("VACUUM ANALYZE items")
    del payload

    for e in engines:
        log(f"{e.name}: CREATE INDEX")
        b = R[e.name]["build"] = build_index(e)
        log(f"{e.name}: CREATE INDEX {b['seconds']:.1f} s, index {b['index_bytes'] / 2**20:.1f} MiB, "
            f"table {b['table_bytes'] / 2**20:.1f} MiB {b['server_messages']}")
        e.conn.execute("ANALYZE items")

    for e in engines:
        prewarm(e)
        e.conn.execute(f"SET {e.ef_guc} = 40")
        run_queries(e.conn, KNN, [(q,) for q in qtext[:200]], passes=1)  # warm-up (plans, caches)
        R[e.name]["explain_knn"] = [r[0] for r in e.conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS) " + KNN.replace("%s", "'" + qtext[0] + "'")).fetchall()]
    res["load_sweep_start"] = load_now()
    for name, curve in sweep(engines, KNN, qtext, gt[:nq], efs).items():
        R[name]["sweep"] = curve
    res["load_sweep_end"] = load_now()
    if a.default_settings:
        default_settings(engines, R, qtext, gt[:nq], efs)

    # A separately prepared statement: a cached plan keeps the index scan
    # it was planned with, whatever enable_indexscan says later.
    for e in engines:
        e.conn.execute("SET enable_indexscan = off")
        secs, got = run_queries(e.conn, "/* exact */ " + KNN, [(q,) for q in qtext[:nq_exact]], passes=1)
        R[e.name]["exact"] = {"queries": nq_exact, "recall": recall(got, gt[:nq_exact]), "qps": nq_exact / secs,
                              "ms": 1000 * secs / nq_exact}
        log(f"{e.name} exact: recall@10 {R[e.name]['exact']['recall']:.4f}, {R[e.name]['exact']['qps']:.2f} QPS")
        e.conn.execute("RESET enable_indexscan")

    # Filtered top-10, engines alternating at each ef_search.
    bu, qu = datasets.unit(base), datasets.unit(queries[:nq_filter])
    for e in engines:
        R[e.name]["filtered"] = []
        for g in e.filter_gucs:
            e.conn.execute(g)
    for sel in (10, 1):
        truth = datasets.exact_topk(bu, qu, 10, mask=cats < sel)
        params = [(sel, q) for q in qtext[:nq_filter]]
        for ef in [int(x) for x in a.filter_ef.split(",")]:
            for e in engines:
                e.conn.execute(f"SET {e.ef_guc} = {ef}")
                secs, got = run_queries(e.conn, FILTERED, params, passes=1)
                r = {"selectivity": sel, "ef": ef, "queries": len(params), "recall": recall(got, truth),
                     "rows": sum(map(len, got)) / len(got), "qps": len(params) / secs}
                R[e.name]["filtered"].append(r)
                log(f"{e.name} filtered {sel}% ef {ef}: recall {r['recall']:.4f}, rows {r['rows']:.2f}, "
                    f"{r['qps']:.0f} QPS")
        for e in engines:
            e.conn.execute("SET enable_indexscan = off")
            k = min(nq_exact, len(params))
            secs, got = run_queries(e.conn, "/* exact */ " + FILTERED, params[:k], passes=1)
            r = {"selectivity": sel, "ef": None, "queries": k, "recall": recall(got, truth[:k]),
                 "rows": sum(map(len, got)) / len(got), "qps": k / secs}
            R[e.name]["filtered"].append(r)
            log(f"{e.name} filtered {sel}% exact: recall {r['recall']:.4f}, {r['qps']:.1f} QPS")
            e.conn.execute("RESET enable_indexscan")
    for e in engines:
        e.conn.execute(f"RESET {e.ef_guc}")
        e.conn.execute("RESET ALL")

    # Writes: rounds alternate engines and tables, so a slow disk moment
    # does not land on one engine only.
    rng = np.random.default_rng(3)
    fresh = fresh_vectors(base, 20000 + copy_rows, rng)
    pick = rng.integers(0, n, size=20000 + copy_rows)
    rows = [(int(cats[j]), vec_text(v)) for j, v in zip(pick[:20000], fresh[:20000])]
    done = {e.name: 0 for e in engines}
    for mode, secs_each in (("on", insert_s), ("off", insert_s / 2)):
        rounds = {e.name: {"plain": [], "indexed": []} for e in engines}
        for e in engines:
            e.conn.execute(f"SET synchronous_commit = {mode}")
        for rnd in range(2):
            for e in engines:
                if e.name != "strata":
                    # strata's background merge of the rows it just took
                    # would run on the cores during pgvector's inserts.
                    w = wait_merge(engines[0].conn, "items_emb")
                    log(f"strata's background merge quiet after {w} s")
                for kind, table in (("plain", "plain"), ("indexed", "items")):
                    rate, cnt = insert_rate(e.conn, table, rows, secs_each)
                    if kind == "indexed":
                        done[e.name] += cnt
                    rounds[e.name][kind].append(rate)
                    log(f"{e.name}: single-row INSERT into {kind}, synchronous_commit {mode}: {rate:.0f} rows/s")
        for e in engines:
            e.conn.execute("RESET synchronous_commit")
            rr = rounds[e.name]
            ins = {k: sum(v) / len(v) for k, v in rr.items()}
            R[e.name]["insert" if mode == "on" else "insert_async"] = {
                "synchronous_commit": mode, "seconds_each": secs_each, "rounds": rr,
                "plain_rows_per_s": ins["plain"], "indexed_rows_per_s": ins["indexed"],
                "ratio": ins["plain"] / ins["indexed"]}
    payload = copy_binary_payload(20_000_000 + np.arange(copy_rows), cats[pick[20000:]], fresh[20000:])
    for e in reversed(engines):  # strata last: its merge is timed right after its COPY
        t = copy_in(e.conn, "items", payload)
        R[e.name]["copy_indexed"] = {"rows": copy_rows, "seconds": t, "rows_per_s": copy_rows / t}
        log(f"{e.name}: COPY {copy_rows} rows into the indexed table: {copy_rows / t:.0f} rows/s")
    s = engines[0]
    before = stat(s.conn, "items_emb")
    m = wait_merge(s.conn, "items_emb")
    after = stat(s.conn, "items_emb")
    R["strata"]["merge"] = {"rows_inserted": done["strata"] + copy_rows, "seconds_after_copy": m,
                            "stat_before": before, "stat_after": after}
    log(f"strata: background merge of {done['strata'] + copy_rows} inserted rows done {m} s after the COPY")
    for e in engines:
        R[e.name]["rows_inserted"] = done[e.name] + copy_rows
        R[e.name]["index_bytes_after_inserts"] = e.conn.execute("SELECT pg_relation_size('items_emb')").fetchone()[0]
        R[e.name]["index_bytes_per_row_after_inserts"] = R[e.name]["index_bytes_after_inserts"] / (n + done[e.name]
                                                                                                   + copy_rows)
        e.conn.close()

    log("hnswlib ceiling")
    res["hnswlib"] = hnswlib_curve(ds, efs, queries[:nq], gt[:nq])
    res["load_after"] = load_now()
    res["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    for name in R:
        R[name]["qps_at"] = qps_at(R[name]["sweep"])
    res["hnswlib"]["qps_at"] = qps_at(res["hnswlib"]["curve"])
    res["qps_at_095"] = {"strata": R["strata"]["qps_at"]["0.95"], "hnswlib": res["hnswlib"]["qps_at"]["0.95"]}
    if "pgvector" in R:
        res["qps_at_095"]["pgvector"] = R["pgvector"]["qps_at"]["0.95"]
        res["ratios"] = ratios(R["strata"], R["pgvector"])
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    if a.png:
        plot(res, a.png)
    print(report(res))


DEFAULT_MAINTENANCE_WORK_MEM = "64MB"  # PostgreSQL's default


def default_settings(engines, R, qtext, truth, efs):
    """Each index rebuilt with the maintenance_work_mem most users keep
    (strata then spills its build to temporary files, pgvector builds on
    disk), swept again, then rebuilt as before for the rest of the run."""
    for e in engines:
        e.conn.execute("DROP INDEX items_emb")
        e.conn.execute(f"SET maintenance_work_mem = '{DEFAULT_MAINTENANCE_WORK_MEM}'")
        log(f"{e.name}: CREATE INDEX at maintenance_work_mem {DEFAULT_MAINTENANCE_WORK_MEM}")
        b = R[e.name]["default_build"] = build_index(e)
        e.conn.execute("RESET maintenance_work_mem")
        b["maintenance_work_mem"] = DEFAULT_MAINTENANCE_WORK_MEM
        log(f"{e.name}: CREATE INDEX {b['seconds']:.1f} s" + (f", sealed {b['stat']['sealed']}" if "stat" in b else ""))
        e.conn.execute("ANALYZE items")
        prewarm(e)
        e.conn.execute(f"SET {e.ef_guc} = 40")
        run_queries(e.conn, KNN, [(q,) for q in qtext[:200]], passes=1)
    for name, curve in sweep(engines, KNN, qtext, truth, efs).items():
        R[name]["default_sweep"] = curve
        R[name]["default_qps_at"] = qps_at(curve)
    for e in engines:
        e.conn.execute("DROP INDEX items_emb")
        build_index(e)
        e.conn.execute("ANALYZE items")
        prewarm(e)


def ratios(s, p):
    """strata / pgvector for every compared measure."""
    out = {"qps_at": {k: ratio(s["qps_at"][k], p["qps_at"][k]) for k in s["qps_at"]},
           "build_seconds": ratio(s["build"]["seconds"], p["build"]["seconds"]),
           "index_bytes": ratio(s["build"]["index_bytes"], p["build"]["index_bytes"]),
           # Per row: the engines take different numbers of rows in the timed inserts.
           "index_bytes_per_row_after_inserts": ratio(s["index_bytes_per_row_after_inserts"],
                                                      p["index_bytes_per_row_after_inserts"]),
           "copy_indexed_rows_per_s": ratio(s["copy_indexed"]["rows_per_s"], p["copy_indexed"]["rows_per_s"])}
    for k in ("insert", "insert_async"):
        out[k] = {"indexed_rows_per_s": ratio(s[k]["indexed_rows_per_s"], p[k]["indexed_rows_per_s"]),
                  "plain_rows_per_s": ratio(s[k]["plain_rows_per_s"], p[k]["plain_rows_per_s"])}
    pf = {(f["selectivity"], f["ef"]): f for f in p["filtered"]}
    out["filtered_qps"] = [{"selectivity": f["selectivity"], "ef": f["ef"],
                            "qps": ratio(f["qps"], pf[(f["selectivity"], f["ef"])]["qps"]),
                            "strata_recall": f["recall"], "pgvector_recall": pf[(f["selectivity"], f["ef"])]["recall"]}
                           for f in s["filtered"] if f["ef"] is not None]
    return out


# ----------------------------------------------------------------------------- scale set


def restart(a, shared_buffers):
    """ALTER SYSTEM shared_buffers and restart the server (as postgres)."""
    c = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname="postgres", autocommit=True)
    c.execute(f"ALTER SYSTEM SET shared_buffers = '{shared_buffers}'")
    c.close()
    subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(a.pg_bin, "pg_ctl"), "-D", a.pgdata,
                    "-m", "fast", "-w", "-t", "120", "-l", os.path.join(os.path.dirname(a.pgdata), "server.log"),
                    "restart"], check=True, stdout=subprocess.DEVNULL)
    c = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname="postgres", autocommit=True)
    sb = c.execute("SELECT current_setting('shared_buffers')").fetchone()[0]
    c.close()
    return sb


def reconnect(a, e):
    e.conn = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname=e.db, autocommit=True)
    e.notices = []
    e.conn.add_notice_handler(lambda d, e=e: e.notices.append(d.message_primary))


def scale(a):
    """Build time, index size and QPS at recall 0.95 from 400k to 2M rows,
    with the index in shared_buffers and with shared_buffers at a quarter of
    the engine's index (restarting the server for each engine)."""
    steps = [int(x) for x in a.steps.split(",")]
    efs = [int(x) for x in a.ef.split(",")]
    nq = 100 if a.quick else 500
    ds = datasets.load("glove2m")
    base, queries = ds["base"], ds["queries"]
    d = base.shape[1]
    engines = make_engines(a.pgvector)
    qtext = [vec_text(q) for q in queries[:nq]]
    cats = datasets.cat_column(base.shape[0])
    res = {"dataset": "glove2m", "title": TITLES["glove2m"].format(n=base.shape[0]), "n": base.shape[0], "dims": d,
           "queries": nq, "quick": a.quick, "engines_run": [e.name for e in engines], "steps": [],
           "load_before": load_now(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
           "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
           "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
           "cores": os.cpu_count(), "python": platform.python_version(), "psycopg": psycopg.__version__}
    res["server"], res["extension_versions"] = open_databases(a.host, a.port, engines)
    full_sb = res["server"]["shared_buffers"]
    for n in steps:
        gt = datasets.gt_prefix(ds, n)[:nq]
        step = {"rows": n, "engines": {}}
        res["steps"].append(step)
        log(f"scale step {n:,} rows")
        for e in engines:
            S = step["engines"][e.name] = {}
            create_tables(e, d, tables=("items",))
            t = copy_in(e.conn, "items", copy_binary_payload(np.arange(n), cats[:n], base[:n]))
            S["copy_seconds"] = t
            e.conn.execute("VACUUM ANALYZE items")
            S["build"] = build_index(e)
            log(f"{e.name} {n:,}: COPY {t:.1f} s, CREATE INDEX {S['build']['seconds']:.1f} s, "
                f"index {S['build']['index_bytes'] / 2**20:.1f} MiB {S['build']['server_messages']}")
            e.conn.execute("ANALYZE items")
            prewarm(e)
            e.conn.execute(f"SET {e.ef_guc} = 40")
            run_queries(e.conn, KNN, [(q,) for q in qtext], passes=1)
        for name, curve in sweep(engines, KNN, qtext, gt, efs).items():
            step["engines"][name]["sweep"] = curve
            step["engines"][name]["qps_at"] = qps_at(curve)
        # Small shared_buffers: one engine at a time, a quarter of its index.
        for e in engines:
            S = step["engines"][e.name]
            sb_kb = max(S["build"]["index_bytes"] // 4 // 1024, 128 * 8)
            for x in engines:
                x.conn.close()
            S["small_buffers"] = {"shared_buffers": restart(a, f"{sb_kb}kB")}
            for x in engines:
                reconnect(a, x)
            e.conn.execute(f"SET {e.ef_guc} = 40")
            run_queries(e.conn, KNN, [(q,) for q in qtext], passes=1)  # warm-up, as a steady state
            curve = sweep([e], KNN, qtext, gt, efs)[e.name]
            S["small_buffers"].update({"sweep": curve, "qps_at": qps_at(curve)})
            log(f"{e.name} {n:,} with shared_buffers {S['small_buffers']['shared_buffers']}: "
                f"QPS@0.95 {S['small_buffers']['qps_at']['0.95']}")
        for x in engines:
            x.conn.close()
        restart(a, full_sb)
        for x in engines:
            reconnect(a, x)
            x.conn.execute("DROP TABLE items")  # free the buffers and disk for the next step
        step["load_after"] = load_now()
        # Written after every step, so an interrupted run keeps what it measured.
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        json.dump(res, open(a.out, "w"), indent=1)
    for e in engines:
        e.conn.close()
    res["load_after"] = load_now()
    res["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    json.dump(res, open(a.out, "w"), indent=1)
    if a.png:
        plot_scale(res, a.png)
    print(scale_report(res))


# ----------------------------------------------------------------------------- output

COLORS = {"strata": "C0", "pgvector": "C2"}


def plot(res, path):
    ensure("matplotlib", "matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    h = res["hnswlib"]["curve"]
    ax.plot([c["recall"] for c in h], [c["qps"] for c in h], "o--", color="gray",
            label="hnswlib, in memory, 1 thread, batched (ceiling)")
    for name, E in res["engines"].items():
        s = E["sweep"]
        label = {"strata": "strata through SQL, 1 connection",
                 "pgvector": f"pgvector {res['extension_versions'].get('pgvector', '')} through SQL, 1 connection"}[name]
        ax.plot([c["recall"] for c in s], [c["qps"] for c in s], "o-" if name == "strata" else "^-",
                color=COLORS[name], lw=2, label=label)
        for c in s:
            ax.annotate(str(c["ef"]), (c["recall"], c["qps"]), textcoords="offset points",
                        xytext=(4, 4) if name == "strata" else (4, -10), fontsize=7, color=COLORS[name])
    e = res["engines"]["strata"]["exact"]
    ax.plot([e["recall"]], [e["qps"]], "s", color="C3", ms=8, label="exact search, strata (index scans off)")
    ax.axvline(0.95, color="k", lw=0.5, alpha=0.4)
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second (log)")
    eng = " and pgvector" if "pgvector" in res["engines"] else ""
    ax.set_title(f"{res['title']}: ORDER BY emb <=> q LIMIT 10, m=16, ef_construction=64\n"
                 f"strata{eng}, same server, same run; labels: ef_search; load {res['load_before'][0]:.1f} at start,"
                 f" {res['load_after'][0]:.1f} at end (2 shared cores)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_scale(res, path):
    ensure("matplotlib", "matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 3, figsize=(12, 4))
    rows = [s["rows"] for s in res["steps"]]
    for name in res["engines_run"]:
        E = [s["engines"][name] for s in res["steps"]]
        c = COLORS[name]
        axs[0].plot(rows, [x["build"]["seconds"] for x in E], "o-", color=c, label=name)
        axs[1].plot(rows, [x["build"]["index_bytes"] / 2**20 for x in E], "o-", color=c, label=name)
        axs[2].plot(rows, [x["qps_at"]["0.95"] or float("nan") for x in E], "o-", color=c,
                    label=f"{name}, index in shared_buffers")
        axs[2].plot(rows, [x["small_buffers"]["qps_at"]["0.95"] or float("nan") for x in E], "o--", color=c,
                    label=f"{name}, shared_buffers = index / 4")
    for ax, t in zip(axs, ("CREATE INDEX (s)", "index size (MiB)", "QPS at recall@10 0.95")):
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("rows")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"{res['title']}, measured on the first {' / '.join(f'{r:,}' for r in rows)} rows: "
                 f"m=16, ef_construction=64, same server, same run; load "
                 f"{res['load_before'][0]:.1f} at start, {res['load_after'][0]:.1f} at end (2 shared cores)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def fmt(x, spec="{:.0f}", none="n/a"):
    return none if x is None else spec.format(x)


def report(r):
    E = r["engines"]
    names = list(E)
    L = [f"{r['title']}, d={r['dims']}, {r['queries']} queries, m=16 ef_construction=64, one connection per engine, "
         f"engines {', '.join(f'{k} {v}' for k, v in r['extension_versions'].items())} on one server; "
         f"load {r['load_before'][0]:.2f} at start, {r['load_after'][0]:.2f} at end"]
    if "pgvector" not in E:
        L.append("pgvector not run (PGVECTOR_SRC not set): strata alone, no ratios.")
    else:
        L.append("")
        L.append(f"{'measure':<44} {'strata':>14} {'pgvector':>14} {'strata/pgv':>10}")
        L.append("-" * 85)
        s, p, q = E["strata"], E["pgvector"], r["ratios"]
        for t in ("0.90", "0.95", "0.98"):
            L.append(f"{'QPS at recall@10 ' + t + ' (interpolated)':<44} {fmt(s['qps_at'][t]):>14} "
                     f"{fmt(p['qps_at'][t]):>14} {fmt(q['qps_at'][t], '{:.2f}x'):>10}")
        L.append(f"{'CREATE INDEX (s), 2 cores each':<44} {s['build']['seconds']:>14.1f} {p['build']['seconds']:>14.1f} "
                 f"{q['build_seconds']:>9.2f}x")
        L.append(f"{'index size (MiB)':<44} {s['build']['index_bytes'] / 2**20:>14.1f} "
                 f"{p['build']['index_bytes'] / 2**20:>14.1f} {q['index_bytes']:>9.2f}x")
        pf = {(f["selectivity"], f["ef"]): f for f in p["filtered"]}
        for f in s["filtered"]:
            g = pf[(f["selectivity"], f["ef"])]
            lab = f"filtered {f['selectivity']}%, ef {f['ef'] or 'exact'} (QPS, recall)"
            L.append(f"{lab:<44} {f['qps']:>6.0f}, {f['recall']:.3f} {g['qps']:>6.0f}, {g['recall']:.3f} "
                     f"{f['qps'] / g['qps']:>9.2f}x")
        for k, lab in (("insert", "on"), ("insert_async", "off")):
            L.append(f"{'INSERT rows/s indexed, sync_commit ' + lab:<44} {s[k]['indexed_rows_per_s']:>14.0f} "
                     f"{p[k]['indexed_rows_per_s']:>14.0f} {q[k]['indexed_rows_per_s']:>9.2f}x")
            L.append(f"{'INSERT rows/s unindexed, sync_commit ' + lab:<44} {s[k]['plain_rows_per_s']:>14.0f} "
                     f"{p[k]['plain_rows_per_s']:>14.0f} {q[k]['plain_rows_per_s']:>9.2f}x")
        L.append(f"{'COPY into the indexed table (rows/s)':<44} {s['copy_indexed']['rows_per_s']:>14.0f} "
                 f"{p['copy_indexed']['rows_per_s']:>14.0f} {q['copy_indexed_rows_per_s']:>9.2f}x")
        L.append(f"{'index bytes per row after the inserts':<44} {s['index_bytes_per_row_after_inserts']:>14.0f} "
                 f"{p['index_bytes_per_row_after_inserts']:>14.0f} {q['index_bytes_per_row_after_inserts']:>9.2f}x")
        L.append(f"pgvector build: {p['build']['parallel_workers']} parallel worker(s) launched; "
                 f"strata build: {s['build']['threads']} engine threads")
    h = {c["ef"]: c for c in r["hnswlib"]["curve"]}
    L.append("")
    hdr = f"{'ef_search':>9} |" + "".join(f" {n + ' R@10':>14} {'QPS':>6} |" for n in names) + f" {'hnswlib R@10':>12} {'QPS':>6}"
    L.append(hdr)
    L.append("-" * len(hdr))
    for i, c in enumerate(E["strata"]["sweep"]):
        x = h.get(c["ef"])
        L.append(f"{c['ef']:>9} |" + "".join(f" {E[n]['sweep'][i]['recall']:>14.4f} {E[n]['sweep'][i]['qps']:>6.0f} |"
                                            for n in names) + f" {x['recall']:>12.4f} {x['qps']:>6.0f}")
    L.append(f"{'exact':>9} |" + "".join(f" {E[n]['exact']['recall']:>14.4f} {E[n]['exact']['qps']:>6.1f} |"
                                        for n in names) + " (index scans off)")
    L.append("QPS at recall@10 0.95: " + ", ".join(f"{n} {fmt(E[n]['qps_at']['0.95'])}" for n in names)
             + f", hnswlib {fmt(r['hnswlib']['qps_at']['0.95'])}")
    if "default_sweep" in E["strata"]:
        L.append("")
        L.append(f"default maintenance_work_mem ({DEFAULT_MAINTENANCE_WORK_MEM}), QPS at recall@10 0.90 / 0.95 / 0.98, "
                 f"against the run's own setting ({r['server']['maintenance_work_mem']}):")
        for n in names:
            d, m = E[n]["default_qps_at"], E[n]["qps_at"]
            b = E[n]["default_build"]
            segs = f", {len(b['stat']['sealed'])} sealed segments" if "stat" in b else ""
            L.append(f"  {n}: " + " / ".join(fmt(d[t]) for t in ("0.90", "0.95", "0.98"))
                     + " (vs " + " / ".join(fmt(m[t]) for t in ("0.90", "0.95", "0.98")) + "; at 0.95 "
                     + fmt(ratio(d["0.95"], m["0.95"]), "{:.2f}x") + f"), CREATE INDEX {b['seconds']:.1f} s{segs}")
        if "pgvector" in E:
            L.append("  strata/pgvector at 0.95, both at the default: "
                     + fmt(ratio(E["strata"]["default_qps_at"]["0.95"], E["pgvector"]["default_qps_at"]["0.95"]), "{:.2f}x"))
    s = E["strata"]
    L.append(f"strata: CREATE INDEX {s['build']['seconds']:.1f} s, {len(s['build']['stat']['sealed'])} sealed segment(s); "
             f"background merge of {s['merge']['rows_inserted']:,} inserted rows done "
             + (f"{s['merge']['seconds_after_copy']:.1f} s" if s["merge"]["seconds_after_copy"] is not None
                else "not within 30 min") + " after the COPY")
    return "\n".join(L)


def scale_report(r):
    L = [f"{r['title']}, {r['queries']} queries; load {r['load_before'][0]:.2f} at start, {r['load_after'][0]:.2f} at end"]
    L.append(f"{'rows':>9} {'engine':>9} | {'build s':>8} {'index MiB':>9} {'QPS@0.95':>9} | "
             f"{'shared_buffers':>14} {'QPS@0.95':>9}")
    for st in r["steps"]:
        for name, S in st["engines"].items():
            L.append(f"{st['rows']:>9,} {name:>9} | {S['build']['seconds']:>8.1f} {S['build']['index_bytes'] / 2**20:>9.1f} "
                     f"{fmt(S['qps_at']['0.95']):>9} | {S['small_buffers']['shared_buffers']:>14} "
                     f"{fmt(S['small_buffers']['qps_at']['0.95']):>9}")
    return "\n".join(L)


if __name__ == "__main__":
    main()
