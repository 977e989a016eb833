#!/usr/bin/env python3
"""Markdown tables from the JSON files of bench/e2e.py and bench/adaptive.py.

    python3 bench/report.py target/bench-results/e2e-glove50.json [...]
"""
import json
import sys


def mib(b):
    return f"{b / 2**20:.1f} MiB"


def e2e(r):
    L = [f"### {r['title']}", "",
         f"Run started {r['started']}; 1-minute load average {r['load_before'][0]:.2f} at the start, "
         f"{r['load_after'][0]:.2f} at the end; {r['queries']} queries; server: shared_buffers "
         f"{r['server']['shared_buffers']}, maintenance_work_mem {r['server']['maintenance_work_mem']}, "
         f"max_parallel_workers_per_gather {r['server']['max_parallel_workers_per_gather']}, jit {r['server']['jit']}.", ""]
    b = r["build"]
    L += ["| measure | result |", "|---|---|",
          f"| COPY (binary) {r['n']:,} rows, no index yet | {r['copy_no_index']['seconds']:.1f} s "
          f"({r['copy_no_index']['rows_per_s']:,.0f} rows/s) |",
          f"| CREATE INDEX (m=16, ef_construction=64) | **{b['seconds']:.1f} s** ({len(b['stat']['sealed'])} sealed segment) |",
          f"| index size | {mib(b['index_bytes'])} |",
          f"| table size (heap + TOAST; primary key {mib(b['pkey_bytes'])}) | {mib(b['table_bytes'])} |",
          f"| hnswlib build, in memory, 1 thread | {r['hnswlib']['build_s']:.1f} s"
          + (" (cached from an earlier run)" if r["hnswlib"]["build_cached"] else "") + " |"]
    i = r["insert"]
    L += [f"| single-row autocommit INSERT, table without the vectors index | {i['plain_rows_per_s']:.0f} rows/s "
          f"({' / '.join(f'{x:.0f}' for x in i['rounds']['plain'])}) |",
          f"| the same into the indexed table | {i['indexed_rows_per_s']:.0f} rows/s "
          f"({' / '.join(f'{x:.0f}' for x in i['rounds']['indexed'])}): unindexed/indexed **{i['ratio']:.2f}x** |",
          f"| COPY (binary) {r['copy_indexed']['rows']:,} rows into the indexed table | "
          f"{r['copy_indexed']['rows_per_s']:,.0f} rows/s |"]
    if "insert_async" in r:
        a = r["insert_async"]
        L.insert(-1, f"| the same with `synchronous_commit = off`, unindexed / indexed | "
                     f"{a['plain_rows_per_s']:.0f} / {a['indexed_rows_per_s']:.0f} rows/s: **{a['ratio']:.2f}x** |")
    m = r["merge"]
    L += [f"| background merge of the {m['rows_inserted']:,} inserted rows, after the COPY returned | "
          + (f"{m['seconds_after_copy']:.1f} s" if m["seconds_after_copy"] is not None else "not done in 30 min")
          + f" (growing segments before: {len(m['stat_before']['growing'])}) |", ""]
    h = {c["ef"]: c for c in r["hnswlib"]["curve"]}
    L += ["| strata.ef_search | strata recall@10 | strata QPS | ms/query | hnswlib (ef) recall@10 | hnswlib QPS |",
          "|---:|---:|---:|---:|---:|---:|"]
    for c in r["sweep"]:
        x = h[c["ef"]]
        L.append(f"| {c['ef']} | {c['recall']:.4f} | {c['qps']:.0f} | {c['ms']:.2f} | {x['recall']:.4f} | {x['qps']:.0f} |")
    e = r["exact"]
    L.append(f"| exact (index scans off, {e['queries']} queries) | {e['recall']:.4f} | {e['qps']:.1f} | {e['ms']:.1f} | | |")
    q = r["qps_at_095"]
    L += ["", "QPS at recall@10 = 0.95, interpolated between sweep points: strata "
          + (f"**{q['strata']:.0f}**" if q["strata"] else "n/a") + ", hnswlib "
          + (f"{q['hnswlib']:.0f}" if q["hnswlib"] else "n/a") + ".", ""]
    L += ["| filter | strata.ef_search | queries | recall@10 vs exact filtered | rows returned (avg) | QPS |",
          "|---|---:|---:|---:|---:|---:|"]
    for f in r["filtered"]:
        L.append(f"| `cat < {f['selectivity']}` ({f['selectivity']}%) | {f['ef'] if f['ef'] else 'exact (index scans off)'} | "
                 f"{f['queries']} | {f['recall']:.4f} | {f['rows']:.2f} | {f['qps']:.1f} |")
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
        print(adaptive(r) if "size_ratio" in r else e2e(r))
        print()
