#!/usr/bin/env python3
"""The pruning-efficiency benchmark (run by harness/bench-pruning).

Per query: Kyma's EXPLAIN ANALYZE profile (what each pruning level kept, bytes read, time) and
DuckDB (single thread) over the same rows in one Parquet file, measured in the same run; the
median of 5 runs each (after one warm-up). Writes reports/pruning.md and an SVG of the fraction
of bytes each query read.
"""
import json, os, subprocess, sys, time, statistics

kyma, rows, work, reports = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
RUNS = 5
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_bench
from svc_bench import run


def log(message):
    print(f"bench-pruning: {message}", file=sys.stderr, flush=True)


data, needles, table, parquet = svc_bench.prepare(kyma, rows, work, log)
kyma_bytes = svc_bench.table_bytes(kyma, table)

import duckdb
con = duckdb.connect()
con.execute("SET threads=1")
con.execute("SET TimeZone='UTC'")
con.execute(f"CREATE VIEW svc AS SELECT * FROM read_parquet('{parquet}')")

QUERIES = svc_bench.queries(table, needles)

results = []
for name, kql, sql in QUERIES:
    profiles = []
    for i in range(RUNS + 1):
        out = run([kyma, "explain", "--analyze", "--format", "json", kql])
        if i > 0:
            profiles.append(json.loads(out))
    kyma_ms = statistics.median(p["totalMillis"] for p in profiles)
    p = profiles[-1]
    kyma_rows = int(run([kyma, "query", "--format", "csv", kql]).count("\n")) - 1
    duck_times = []
    for i in range(RUNS + 1):
        started = time.perf_counter()
        duck_rows = len(con.execute(sql).fetchall())
        if i > 0:
            duck_times.append((time.perf_counter() - started) * 1000)
    duck_ms = statistics.median(duck_times)
    results.append({"name": name, "kql": kql, "sql": sql, "profile": p, "kyma_ms": kyma_ms, "duck_ms": duck_ms,
                    "kyma_rows": kyma_rows, "duck_rows": duck_rows})
    log(f"{name}: kyma {kyma_ms:.1f} ms, duckdb {duck_ms:.1f} ms, bytes {p['footerBytesRead'] + p['dataBytesRead']:,} of {p['bytesTotal']:,}")


def pct(kept, total):
    return "-" if total == 0 else f"{100.0 * (total - kept) / total:.1f}%"

lines = [
    "# Pruning efficiency: Kyma (TLM) vs DuckDB over the same rows",
    "",
    f"Command: `harness/bench-pruning {rows}` (release build, 2-core machine, local-filesystem object store, warm OS cache;",
    f"median of {RUNS} runs after a warm-up). Data: `datasets/gen_service_logs.py --rows {rows} --days 10` (seed 42),",
    f"{rows:,} rows; Kyma table {kyma_bytes:,} bytes in TLM extents (zstd, indexes included); DuckDB reads the same rows from one",
    f"Parquet file ({os.path.getsize(parquet):,} bytes, zstd) with `threads=1`. Kyma's time is `explain --analyze` total",
    "(catalog query + footers + execution, in process); DuckDB's is `execute + fetch` in process. Kyma scans with 2 tasks.",
    "",
    "## Per query: what each level pruned, bytes read, time",
    "",
    "| query | extents: catalog pruned | extents: footers pruned | blocks pruned (stats / bloom / index) | rows decoded | bytes read | of table | Kyma ms | DuckDB ms | DuckDB / Kyma | rows (Kyma = DuckDB) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]
for r in results:
    p = r["profile"]
    read = p["footerBytesRead"] + p["dataBytesRead"]
    blocks = f"{pct(p['blocksAfterStats'], p['blocksTotal'])} / {pct(p['blocksAfterBloom'], p['blocksTotal'])} / {pct(p['blocksAfterIndex'], p['blocksTotal'])} of {p['blocksTotal']}"
    lines.append(f"| {r['name']} | {pct(p['extentsAfterCatalog'], p['extentsTotal'])} of {p['extentsTotal']} | {pct(p['extentsAfterFooters'], p['extentsAfterCatalog'])} | {blocks} | "
                 f"{p['rowsDecoded']:,} | {read:,} | {100.0 * read / max(1, p['bytesTotal']):.3f}% | {r['kyma_ms']:.1f} | {r['duck_ms']:.1f} | "
                 f"{r['duck_ms'] / max(r['kyma_ms'], 1e-9):.2f}x | {r['kyma_rows']} {'=' if r['kyma_rows'] == r['duck_rows'] else '!='} {r['duck_rows']} |")
lines += ["", "## Against the targets", ""]
for r in results:
    p = r["profile"]
    frac = (p["footerBytesRead"] + p["dataBytesRead"]) / max(1, p["bytesTotal"])
    speed = r["duck_ms"] / max(r["kyma_ms"], 1e-9)
    if r["name"].startswith(("needle", "rare")):
        verdict = f"bytes {100 * frac:.3f}% (target < 1%: {'met' if frac < 0.01 else 'NOT met'}), {speed:.1f}x DuckDB (target 10x: {'met' if speed >= 10 else 'NOT met'})"
    elif r["name"].startswith("full-scan"):
        verdict = f"{speed:.2f}x DuckDB's speed (target: within 2x, i.e. >= 0.5x: {'met' if speed >= 0.5 else 'NOT met'})"
    else:
        verdict = f"bytes {100 * frac:.2f}%, {speed:.2f}x DuckDB"
    lines.append(f"- {r['name']}: {verdict}")
lines += ["", "## Queries", ""]
for r in results:
    lines += [f"- {r['name']}", f"  - KQL: `{r['kql']}`", f"  - SQL: `{r['sql']}`"]
lines += ["", "![fraction of bytes read per query](pruning-bytes.svg)", ""]
open(os.path.join(reports, "pruning.md"), "w").write("\n".join(lines) + "\n")

# SVG: bytes read as a fraction of the table, log scale, one bar per query.
import math
width, bar_h, left = 760, 26, 260
height = 40 + bar_h * len(results) + 30
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<text x="10" y="20" font-size="14">Bytes read as a fraction of the table ({rows:,} rows), log scale</text>']
for k, frac in enumerate([1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]):
    x = left + (math.log10(frac) + 5) / 5 * (width - left - 20)
    svg.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{height - 25}" stroke="#ddd"/>')
    svg.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{frac:g}</text>')
for i, r in enumerate(results):
    p = r["profile"]
    frac = max(1e-5, (p["footerBytesRead"] + p["dataBytesRead"]) / max(1, p["bytesTotal"]))
    y = 35 + i * bar_h
    w = (math.log10(frac) + 5) / 5 * (width - left - 20)
    svg.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{r["name"]}</text>')
    svg.append(f'<rect x="{left}" y="{y + 3}" width="{max(1, w):.1f}" height="{bar_h - 8}" fill="#4878a8"/>')
    svg.append(f'<text x="{left + max(1, w) + 4:.1f}" y="{y + 15}">{100 * frac:.3f}%</text>')
svg.append("</svg>")
open(os.path.join(reports, "pruning-bytes.svg"), "w").write("\n".join(svg) + "\n")
