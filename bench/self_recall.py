#!/usr/bin/env python3
"""Self-recall of the vectors index through SQL on GloVe-50, issue 14's shape
(run by scripts/bench-self-recall; not a test).

Connects to a running throwaway server (--host socket dir, --port) and, in a
fresh database `self_recall`:

1. loads the glove50 base rows of bench/datasets.py (399,000 x 50 f32; row
   number = id) into `items (id int PRIMARY KEY, cat int, emb vector(50))`, the old
   90% first: every row whose number % 10 != 0, by binary COPY;
2. `CREATE INDEX items_idx ON items USING vectors (emb vector_cos_ops)
   WITH (m = 16, ef_construction = 64)` (timed: build_seconds), then, unless
   --skip-build-check, the self-recall of the old rows after the build alone;
3. inserts the late 10% (row number % 10 == 0) sorted by their first
   coordinate (the adversarial order), --batch rows per transaction
   (insert_seconds), waits for the background merge to go idle
   (merge_wait_seconds), then `SELECT strata_optimize('items_idx')`
   (optimize_seconds), which folds every segment into one sealed segment;
4. the self-recall of every late row and of the old rows (--sample N of
   them, the same ones as in step 2; default all).

Self-recall: with enable_seqscan = off and strata.ef_search = --ef (40), the
prepared statement `SELECT id FROM items ORDER BY emb <=> $1 LIMIT 1` runs
with each row's own vector (sent in binary, so bit-exact), on --clients
connections in parallel. A row is not found when its own id does not come
back first; a row whose vector has an exact duplicate elsewhere in the table
counts as found when the returned row's vector equals its own (duplicate
groups computed here with numpy, -0.0 equal to 0.0). The JSON also says, per
check, how many of the rows not found got back a vector at cosine distance
< 1e-6 (collinear, a tie the rule above does not forgive) and how many come
back first at ef_search 400 (reachable, an approximate miss).

Prints one JSON object and writes it to --out (and to --save-dir when given).
"""
import argparse
import concurrent.futures
import json
import os
import platform
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import datasets  # noqa: E402
from datasets import np  # noqa: E402
from e2e import copy_binary_payload, copy_in, load_now, log, psycopg, server_settings, stat, wait_merge  # noqa: E402

from psycopg.adapt import Dumper  # noqa: E402
from psycopg.pq import Format  # noqa: E402
from psycopg.types import TypeInfo  # noqa: E402

DB = "self_recall"
INDEX = "items_idx"
QUERY = "SELECT id FROM items ORDER BY emb <=> %b LIMIT 1"
RECHECK_EF = 400


class Vec:
    """A float32 row sent as strata's binary vector (u16 dims, u16 0, then
    big-endian f32): exactly the stored bits, no decimal round trip."""
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


class VecDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        return struct.pack(">HH", obj.a.shape[0], 0) + obj.a.astype(">f4").tobytes()


def connect(a, vec_oid=None, dbname=DB):
    conn = psycopg.connect(host=a.host, port=a.port, user="postgres", dbname=dbname, autocommit=True)
    if vec_oid is not None:
        dumper = type("StrataVecDumper", (VecDumper,), {"oid": vec_oid})
        conn.adapters.register_dumper(Vec, dumper)
    return conn


def duplicate_groups(base):
    """Group number per row (rows with equal vectors share one) and the size
    of each row's group."""
    key = np.ascontiguousarray(base + np.float32(0))  # -0.0 -> 0.0
    rows = key.view(np.dtype((np.void, key.dtype.itemsize * key.shape[1]))).ravel()
    _, inv, cnt = np.unique(rows, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    return inv, cnt[inv]


def session_setup(conn, ef):
    # Load the library first, so strata.ef_search is a known, checked setting.
    conn.execute("SELECT '[1]'::vector")
    conn.execute("SET enable_seqscan = off")
    conn.execute(f"SET strata.ef_search = {int(ef)}")
    got = conn.execute("SHOW strata.ef_search").fetchone()[0]
    if int(got) != int(ef):
        raise SystemExit(f"strata.ef_search is {got}, wanted {ef}")


def self_query(a, vec_oid, base, rows, ef, label):
    """Runs QUERY for every row number in `rows` with its own vector on
    a.clients connections; returns {row: returned id or -1} and seconds."""
    rows = np.asarray(rows)
    parts = [rows[i::a.clients] for i in range(a.clients)]
    done = [0] * a.clients
    out = [None] * a.clients
    stop = threading.Event()

    def work(k):
        conn = connect(a, vec_oid)
        session_setup(conn, ef)
        got = np.full(len(parts[k]), -1, dtype=np.int64)
        with conn.cursor() as cur:
            for j, r in enumerate(parts[k]):
                if stop.is_set():
                    break
                cur.execute(QUERY, (Vec(base[r]),), prepare=True)
                one = cur.fetchone()
                if one is not None:
                    got[j] = one[0]
                done[k] = j + 1
        conn.close()
        out[k] = got

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.clients) as ex:
        futs = [ex.submit(work, k) for k in range(a.clients)]
        while True:
            finished, pending = concurrent.futures.wait(futs, timeout=30,
                                                        return_when=concurrent.futures.FIRST_EXCEPTION)
            if not pending or any(f.exception() for f in finished):
                break
            n = sum(done)
            log(f"{label}: {n:,}/{len(rows):,} queries, {n / (time.perf_counter() - t0):.0f}/s")
        stop.set()  # a client failed: the others stop too (no-op when all are done)
        for f in futs:
            f.result()
    secs = time.perf_counter() - t0
    got = {}
    for k in range(a.clients):
        got.update(zip(parts[k].tolist(), out[k].tolist()))
    return got, secs


def cosine(u, v):
    u, v = u.astype(np.float64), v.astype(np.float64)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 1.0
    return 1.0 - float(u @ v) / (nu * nv)


def check(a, vec_oid, base, group, gsize, rows, label):
    """Self-recall of `rows`: how many are not found, with diagnostics."""
    got, secs = self_query(a, vec_oid, base, rows, a.ef, label)
    missed = []
    for r in rows.tolist():
        t = got[r]
        if t == r:
            continue
        if t >= 0 and gsize[r] > 1 and group[t] == group[r]:
            continue
        missed.append((r, t))
    collinear = sum(1 for r, t in missed if t >= 0 and cosine(base[r], base[t]) < 1e-6)
    found_wider = None
    if missed and a.recheck:
        again, _ = self_query(a, vec_oid, base, [r for r, _ in missed], RECHECK_EF, label + f" (ef {RECHECK_EF})")
        found_wider = sum(1 for r, _ in missed
                          if again[r] == r or (again[r] >= 0 and gsize[r] > 1 and group[again[r]] == group[r]))
    res = {"rows": len(rows), "not_found": len(missed), "seconds": round(secs, 1),
           "queries_per_s": round(len(rows) / secs, 1) if secs else None,
           "not_found_collinear": collinear, f"not_found_first_at_ef_{RECHECK_EF}": found_wider,
           "not_found_examples": [[int(r), int(t)] for r, t in missed[:10]]}
    log(f"{label}: {len(missed):,} of {len(rows):,} not found first ({secs:.0f} s, "
        f"{res['queries_per_s']}/s; collinear {collinear}; first at ef {RECHECK_EF}: {found_wider})")
    return res


def git(*args):
    try:
        return subprocess.run(["git", "-C", datasets.REPO, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None


def sha256(path):
    import hashlib
    if not path or not os.path.exists(path):
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()[:16]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--limit", type=int, help="use only the first N base rows (a quick run)")
    ap.add_argument("--sample", type=int, help="check only N of the old rows (random, seed 14; default all)")
    ap.add_argument("--skip-build-check", action="store_true", help="no self-recall after the build alone")
    ap.add_argument("--clients", type=int, default=2, help="parallel client connections for the self-queries")
    ap.add_argument("--batch", type=int, default=1000, help="late rows per INSERT transaction")
    ap.add_argument("--ef", type=int, default=40, help="strata.ef_search of the self-queries")
    ap.add_argument("--no-recheck", dest="recheck", action="store_false",
                    help=f"do not query the rows not found again at ef_search {RECHECK_EF}")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--save-dir", help="also write the JSON into this directory (dated name)")
    ap.add_argument("--profile", help="cargo profile the extension was built with (recorded)")
    ap.add_argument("--library", help="path of the installed strata.so (its hash is recorded)")
    a = ap.parse_args()

    d = datasets.prepare_glove50()
    base = datasets.read_matrix(os.path.join(d, "base.bin"), "<f4")
    if a.limit:
        base = base[:a.limit]
    base = np.ascontiguousarray(base)
    n, dims = base.shape
    idx = np.arange(n)
    old = idx[idx % 10 != 0]
    late = idx[idx % 10 == 0]
    late = late[np.lexsort((late, base[late, 0]))]  # by first coordinate, ties by row number
    check_old = old
    if a.sample and a.sample < len(old):
        check_old = np.sort(np.random.default_rng(14).choice(old, size=a.sample, replace=False))
    group, gsize = duplicate_groups(base)
    dup_rows = int((gsize > 1).sum())
    log(f"glove50: {n:,} rows x {dims}, {len(old):,} old, {len(late):,} late; {dup_rows} rows have an exact "
        f"duplicate ({len(np.unique(group[gsize > 1]))} groups); checking {len(check_old):,} old rows, "
        f"{a.clients} clients, ef_search {a.ef}")

    dirty = git("status", "--porcelain", "--untracked-files=no")
    res = {"commit": git("rev-parse", "--short", "HEAD"),
           "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "dataset": "glove50", "limit": a.limit, "dims": dims,
           "n_old": int(len(old)), "n_late": int(len(late)), "n_old_checked": int(len(check_old)),
           "not_found_after_build": None, "not_found_late_after_merge": None, "not_found_old_after_merge": None,
           "build_seconds": None, "insert_seconds": None, "optimize_seconds": None,
           "ef_search": a.ef, "m": 16, "ef_construction": 64, "clients": a.clients, "insert_batch": a.batch,
           "duplicate_rows": dup_rows,
           "tree_changes": dirty.splitlines() if dirty else [],
           "profile": a.profile, "library_sha256": sha256(a.library),
           "cpu": next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
                       "?"),
           "cores": os.cpu_count(), "python": platform.python_version(), "psycopg": psycopg.__version__,
           "load_before": load_now()}

    admin = connect(a, dbname="postgres")
    admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    admin.execute(f"CREATE DATABASE {DB}")
    res["server"] = server_settings(admin)
    admin.close()
    conn = connect(a)
    conn.execute("CREATE EXTENSION strata")
    conn.execute("CREATE EXTENSION pg_prewarm")
    res["extension_version"] = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'strata'").fetchone()[0]
    vec_oid = TypeInfo.fetch(conn, "vector").oid
    conn.close()
    conn = connect(a, vec_oid)
    # `cat` (always 0) only so that bench/e2e.py's binary COPY serves here too.
    conn.execute(f"CREATE TABLE items (id int PRIMARY KEY, cat int, emb vector({dims}))")

    # 1. The old 90%.
    t = time.perf_counter()
    copy_in(conn, "items", copy_binary_payload(old, np.zeros(len(old), dtype=np.int64), base[old]))
    res["copy_seconds"] = round(time.perf_counter() - t, 2)
    conn.execute("VACUUM ANALYZE items")
    log(f"COPY {len(old):,} old rows: {res['copy_seconds']} s")

    # 2. The index, on the old rows.
    res["load_before_build"] = load_now()
    t = time.perf_counter()
    conn.execute(f"CREATE INDEX {INDEX} ON items USING vectors (emb vector_cos_ops) "
                 f"WITH (m = 16, ef_construction = 64)")
    res["build_seconds"] = round(time.perf_counter() - t, 2)
    res["stat_after_build"] = stat(conn, INDEX)
    log(f"CREATE INDEX: {res['build_seconds']} s, segments {res['stat_after_build']}")
    conn.execute("ANALYZE items")
    conn.execute(f"SELECT pg_prewarm('items'), pg_prewarm('{INDEX}')")
    session_setup(conn, a.ef)
    plan = [r[0] for r in conn.execute("EXPLAIN " + QUERY, (Vec(base[old[0]]),)).fetchall()]
    if not any(INDEX in line for line in plan):
        raise SystemExit("the self-query does not use the index:\n" + "\n".join(plan))
    res["plan"] = plan
    checks = res["checks"] = {}
    if not a.skip_build_check:
        checks["old_after_build"] = check(a, vec_oid, base, group, gsize, check_old, "old rows after the build")
        res["not_found_after_build"] = checks["old_after_build"]["not_found"]

    # 3. The late 10%, sorted by the first coordinate, then one merge.
    sql = "INSERT INTO items (id, emb) VALUES (%s, %b)"
    res["load_before_insert"] = load_now()
    t = time.perf_counter()
    with conn.cursor() as cur:
        for s in range(0, len(late), a.batch):
            chunk = late[s:s + a.batch]
            with conn.transaction():
                cur.executemany(sql, [(int(r), Vec(base[r])) for r in chunk])
    res["insert_seconds"] = round(time.perf_counter() - t, 2)
    res["stat_after_insert"] = stat(conn, INDEX)
    log(f"INSERT {len(late):,} late rows ({a.batch} per transaction): {res['insert_seconds']} s, "
        f"segments {res['stat_after_insert']}")
    w = wait_merge(conn, INDEX, timeout=600)
    res["merge_wait_seconds"] = None if w is None else round(w, 2)
    res["stat_before_optimize"] = stat(conn, INDEX)
    log(f"background merge idle after {res['merge_wait_seconds']} s, segments {res['stat_before_optimize']}")
    res["load_before_optimize"] = load_now()
    t = time.perf_counter()
    res["optimize_returned"] = conn.execute(f"SELECT strata_optimize('{INDEX}')").fetchone()[0]
    res["optimize_seconds"] = round(time.perf_counter() - t, 2)
    st = res["stat_after_optimize"] = stat(conn, INDEX)
    log(f"strata_optimize: {res['optimize_returned']} in {res['optimize_seconds']} s, segments {st}")
    if st["sealed"] != [n] or st["growing"] or st["write"]:
        log(f"warning: after strata_optimize the index is not one sealed segment of {n} rows: {st}")
    conn.execute(f"SELECT pg_prewarm('{INDEX}')")

    # 4. Every late row and the old rows.
    checks["late_after_merge"] = check(a, vec_oid, base, group, gsize, late, "late rows after the merge")
    res["not_found_late_after_merge"] = checks["late_after_merge"]["not_found"]
    checks["old_after_merge"] = check(a, vec_oid, base, group, gsize, check_old, "old rows after the merge")
    res["not_found_old_after_merge"] = checks["old_after_merge"]["not_found"]
    res["load_after"] = load_now()
    conn.close()

    text = json.dumps(res, indent=1)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text + "\n")
    paths = [a.out]
    if a.save_dir:
        os.makedirs(a.save_dir, exist_ok=True)
        name = f"self-recall-glove50-{time.strftime('%Y-%m-%d-%H%M', time.gmtime())}"
        if a.limit:
            name += f"-limit{a.limit}"
        p = os.path.join(a.save_dir, name + ".json")
        with open(p, "w") as f:
            f.write(text + "\n")
        paths.append(p)
    print(text)
    log("wrote " + ", ".join(paths))


if __name__ == "__main__":
    main()
