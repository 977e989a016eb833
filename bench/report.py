#!/usr/bin/env python3
"""Markdown tables from the JSON files of bench/e2e.py (strata and, when it
was run, pgvector; the glove2m scale set) and bench/adaptive.py.

    python3 bench/report.py target/bench-results/e2e-glove50.json [...]
"""
import json
import sys


def mib(b):
    return f"{b / 2**20:.1f} MiB"


def fmt(x, spec="{:,.0f}"):
    return "n/a" if x is None else spec.format(x)


def per_row(r, engine):
    return engine["index_bytes_after_inserts"] / (r["n"] + engine["rows_inserted"])


def e2e(r):
    E = r["engines"]
    names = list(E)
    vers = ", ".join(f"{k} {v}" for k, v in r["extension_versions"].items())
    L = [f"### {r['title']}", "",
         f"Run started {r['started']}; engines {vers}, each in its own database of one server, one connection "
         f"each; `uptime` before: `{r['uptime_before']}`; after: `{r['uptime_after']}`; "
         f"{r['queries']} queries; server: shared_buffers {r['server']['shared_buffers']}, maintenance_work_mem "
         f"{r['server']['maintenance_work_mem']}, max_parallel_workers_per_gather "
         f"{r['server']['max_parallel_workers_per_gather']}, jit {r['server']['jit']}.", ""]
    if "pgvector" in E:
        s, p, q = E["strata"], E["pgvector"], r["ratios"]
        L += ["| measure | strata | pgvector | strata / pgvector |", "|---|---:|---:|---:|"]
        for t in ("0.90", "0.95", "0.98"):
            L.append(f"| QPS at recall@10 {t} (interpolated) | {fmt(s['qps_at'][t])} | {fmt(p['qps_at'][t])} | "
                     f"**{fmt(q['qps_at'][t], '{:.2f}x')}** |")
        L += [f"| CREATE INDEX, 2 cores each (strata {s['build']['threads']} threads; pgvector leader + "
              f"{p['build']['parallel_workers']} worker) | {s['build']['seconds']:.1f} s | {p['build']['seconds']:.1f} s | "
              f"{q['build_seconds']:.2f}x |",
              f"| index size | {mib(s['build']['index_bytes'])} | {mib(p['build']['index_bytes'])} | {q['index_bytes']:.2f}x |"]
        pf = {(f["selectivity"], f["ef"]): f for f in p["filtered"]}
        for f in s["filtered"]:
            g = pf[(f["selectivity"], f["ef"])]
            what = f"ef_search {f['ef']}" if f["ef"] else "exact (index scans off)"
            L.append(f"| filtered `cat < {f['selectivity']}` ({f['selectivity']}%), {what}: QPS, recall@10 | "
                     f"{f['qps']:,.0f}, {f['recall']:.3f} | {g['qps']:,.0f}, {g['recall']:.3f} | {f['qps'] / g['qps']:.2f}x |")
        for k, mode in (("insert", "on"), ("insert_async", "off")):
            L.append(f"| single-row INSERT into the indexed table, synchronous_commit {mode} | "
                     f"{s[k]['indexed_rows_per_s']:,.0f} rows/s | {p[k]['indexed_rows_per_s']:,.0f} rows/s | "
                     f"{q[k]['indexed_rows_per_s']:.2f}x |")
            L.append(f"| the same into the table without the vector index (control) | "
                     f"{s[k]['plain_rows_per_s']:,.0f} rows/s | {p[k]['plain_rows_per_s']:,.0f} rows/s | "
                     f"{q[k]['plain_rows_per_s']:.2f}x |")
        L += [f"| COPY (binary) {s['copy_indexed']['rows']:,} rows into the indexed table | "
              f"{s['copy_indexed']['rows_per_s']:,.0f} rows/s | {p['copy_indexed']['rows_per_s']:,.0f} rows/s | "
              f"{q['copy_indexed_rows_per_s']:.2f}x |",
              f"| index size after the inserts ({s['rows_inserted']:,} / {p['rows_inserted']:,} rows added), "
              f"bytes per row | {mib(s['index_bytes_after_inserts'])}, {per_row(r, s):,.0f} B | "
              f"{mib(p['index_bytes_after_inserts'])}, {per_row(r, p):,.0f} B | "
              f"{per_row(r, s) / per_row(r, p):.2f}x |", ""]
    else:
        L += ["pgvector was not run (no `PGVECTOR_SRC`): strata alone, no ratios.", ""]
    s = E["strata"]
    b = s["build"]
    L += ["| strata measure | result |", "|---|---|",
          f"| COPY (binary) {r['n']:,} rows, no index yet | {s['copy_no_index']['seconds']:.1f} s "
          f"({s['copy_no_index']['rows_per_s']:,.0f} rows/s) |",
          f"| CREATE INDEX (m=16, ef_construction=64) | **{b['seconds']:.1f} s** ({len(b['stat']['sealed'])} sealed segment) |",
          f"| index size | {mib(b['index_bytes'])} |",
          f"| table size (heap + TOAST; primary key {mib(b['pkey_bytes'])}) | {mib(b['table_bytes'])} |",
          f"| hnswlib build, in memory, 1 thread | {r['hnswlib']['build_s']:.1f} s"
          + (" (cached from an earlier run)" if r["hnswlib"]["build_cached"] else "") + " |"]
    i, a = s["insert"], s["insert_async"]
    L += [f"| single-row INSERT, unindexed / indexed, synchronous_commit on | {i['plain_rows_per_s']:,.0f} / "
          f"{i['indexed_rows_per_s']:,.0f} rows/s: **{i['ratio']:.2f}x** |",
          f"| the same with synchronous_commit off | {a['plain_rows_per_s']:,.0f} / {a['indexed_rows_per_s']:,.0f} "
          f"rows/s: **{a['ratio']:.2f}x** |"]
    m = s["merge"]
    L += [f"| background merge of the {m['rows_inserted']:,} inserted rows, after the COPY returned | "
          + (f"{m['seconds_after_copy']:.1f} s" if m["seconds_after_copy"] is not None else "not done in 30 min")
          + f" (growing segments before: {len(m['stat_before']['growing'])}) |", ""]
    h = {c["ef"]: c for c in r["hnswlib"]["curve"]}
    L += ["| ef_search | " + " | ".join(f"{n} recall@10 | {n} QPS" for n in names)
          + " | hnswlib recall@10 | hnswlib QPS |",
          "|---:|" + "---:|" * (2 * len(names) + 2)]
    for j, c in enumerate(s["sweep"]):
        x = h[c["ef"]]
        L.append(f"| {c['ef']} | " + " | ".join(f"{E[n]['sweep'][j]['recall']:.4f} | {E[n]['sweep'][j]['qps']:,.0f}"
                                               for n in names) + f" | {x['recall']:.4f} | {x['qps']:,.0f} |")
    L.append(f"| exact (index scans off, {s['exact']['queries']} queries) | "
             + " | ".join(f"{E[n]['exact']['recall']:.4f} | {E[n]['exact']['qps']:.1f}" for n in names) + " | | |")
    L += ["", "QPS at recall@10 0.95, interpolated between sweep points: "
          + ", ".join(f"{n} **{fmt(E[n]['qps_at']['0.95'])}**" for n in names)
          + f", hnswlib {fmt(r['hnswlib']['qps_at']['0.95'])}.", ""]
    return "\n".join(L)


def scale(r):
    names = r["engines_run"]
    L = [f"### {r['title']}", "",
         f"Run started {r['started']}; `uptime` before: `{r['uptime_before']}`; after: "
         f"`{r.get('uptime_after', '(run stopped before the end; steps measured so far)')}`; "
         f"{r['queries']} queries; shared_buffers {r['server']['shared_buffers']}, maintenance_work_mem "
         f"{r['server']['maintenance_work_mem']}.", "",
         "| rows | engine | CREATE INDEX | index size | QPS@0.95, index in shared_buffers | shared_buffers = index / 4 "
         "| QPS@0.95 with it |", "|---:|---|---:|---:|---:|---:|---:|"]
    for st in r["steps"]:
        for n in names:
            S = st["engines"][n]
            L.append(f"| {st['rows']:,} | {n} | {S['build']['seconds']:.1f} s | {mib(S['build']['index_bytes'])} | "
                     f"{fmt(S['qps_at']['0.95'])} | {S['small_buffers']['shared_buffers']} | "
                     f"{fmt(S['small_buffers']['qps_at']['0.95'])} |")
    if "pgvector" in names:
        L += ["", "| rows | strata / pgvector: CREATE INDEX | index size | QPS@0.95 | QPS@0.95, shared_buffers = index / 4 |",
              "|---:|---:|---:|---:|---:|"]
        for st in r["steps"]:
            s, p = st["engines"]["strata"], st["engines"]["pgvector"]
            def rt(a, b):
                return "n/a" if a is None or not b else f"{a / b:.2f}x"
            L.append(f"| {st['rows']:,} | {rt(s['build']['seconds'], p['build']['seconds'])} | "
                     f"{rt(s['build']['index_bytes'], p['build']['index_bytes'])} | "
                     f"{rt(s['qps_at']['0.95'], p['qps_at']['0.95'])} | "
                     f"{rt(s['small_buffers']['qps_at']['0.95'], p['small_buffers']['qps_at']['0.95'])} |")
    return "\n".join(L)


def adaptive(r):
    b = r["build"]
    L = ["### Adaptive retrieval (MiniLM)", "",
         f"Run started {r['started']}; load {r['load_before'][0]:.2f} at the start, {r['load_after'][0]:.2f} at the end; "
         f"{r['n']:,} rows, {r['queries']} queries, recall against the exact f32 top-10.", "",
         "| index | opclass | size | CREATE INDEX |", "|---|---|---:|---:|",
         f"| `emb vector(384)` | {b['emb']['opclass']} | {mib(b['emb']['index_bytes'])} | {b['emb']['seconds']:.1f} s |",
         f"| `bemb bvector(384)` | {b['bemb']['opclass']} (Hamming) | {mib(b['bemb']['index_bytes'])} | {b['bemb']['seconds']:.1f} s |",
         "", f"Size ratio f32 / binary index: **{r['size_ratio']:.1f}x** (stored values: {r['emb_datum_bytes']} B "
         f"per vector, {r['bemb_datum_bytes']} B per bvector). Exact Hamming top-10 by brute force (numpy, no index): "
         f"recall@10 {r['binary_exact_recall']:.4f}.", "",
         "| method | strata.ef_search | recall@10 | QPS |", "|---|---:|---:|---:|"]
    for x in r["results"]:
        L.append(f"| {x['method']} | {x['ef']} | {x['recall']:.4f} | {x['qps']:.0f} |")
    return "\n".join(L)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        r = json.load(open(p))
        print(adaptive(r) if "size_ratio" in r else scale(r) if "steps" in r else e2e(r))
        print()
