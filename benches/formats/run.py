#!/usr/bin/env python3
"""The format lab (run by harness/compare-formats): one grid of format variants over the same
service-log rows. Kyma's variants (TLM with options, Kyma's Parquet writer) are ingested through
`kyma ingest` and read through Kyma's planner (`kyma explain --analyze`: bytes read per pruning
level) and `kyma table decode` (every column, one task). Peers are written from the same rows by
their own libraries and read by their own readers with pushdown: pyarrow Parquet in the fair
layout, Vortex, Lance without and with a BTREE index on trace_id. Bytes read by a peer are the
`rchar` delta of /proc/self/io around its call (every read and pread the process makes).
Writes reports/formats.md, reports/formats-size-vs-needle.svg and reports/formats-size-vs-scan.svg.
"""
import json, os, shutil, statistics, subprocess, sys, time

kyma, rows, work, reports = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
REPORT_ONLY = "--report-only" in sys.argv  # rewrite the report from the last run's saved results
DATASETS_ONLY = "--datasets-only" in sys.argv  # measure only the real datasets, reuse the saved grid
RUNS = 3
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pruning"))
import svc_bench
from svc_bench import run


def log(message):
    print(f"compare-formats: {message}", file=sys.stderr, flush=True)


os.makedirs(reports, exist_ok=True)
if REPORT_ONLY or DATASETS_ONLY:  # the grid's rows were made by the run being reported
    data, duck_parquet, default_table = None, None, f"bench_svc_{rows}"
    needles = json.load(open(os.path.join(work, f"svc-{rows}.needles.json")))
else:
    data, needles, default_table, duck_parquet = svc_bench.prepare(kyma, rows, work, log)
QUERIES = svc_bench.queries("{T}", needles)[:5]  # needle, rare term, time slice, range, hour aggregation

def slug(name):
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:40]


checked = 0  # assertions that held: rows decoded, rows scanned, peers' answers equal to Kyma's


def measure():
    global results, QUERIES, checked
    # --- Kyma variants -------------------------------------------------------------------------
    KYMA_VARIANTS = [
        ("TLM default (64k rows, zstd 3, Bloom, index)", "tlm", []),
        ("TLM 16k-row blocks", "tlm", ["block_rows=16384"]),
        ("TLM 4k-row blocks", "tlm", ["block_rows=4096"]),
        ("TLM lz4", "tlm", ["codec=lz4"]),
        ("TLM zstd 9", "tlm", ["zstd_level=9"]),
        ("TLM no codec", "tlm", ["codec=none"]),
        ("TLM Bloom fpp 0.05", "tlm", ["bloom_fpp=0.05"]),
        ("TLM no Bloom", "tlm", ["bloom=false"]),
        ("TLM Bloom on trace_id only", "tlm", ["bloom_columns=trace_id"]),
        ("TLM Bloom on trace_id only, fpp 0.001", "tlm", ["bloom_columns=trace_id", "bloom_fpp=0.001"]),
        ("TLM no inverted index", "tlm", ["inverted_index=false"]),
        ("TLM no indexes", "tlm", ["bloom=false", "inverted_index=false"]),
        ("TLM lean: Bloom on trace_id at fpp 0.001, index on msg", "tlm", ["bloom_columns=trace_id", "bloom_fpp=0.001", "inverted_index_columns=msg"]),
        ("Kyma Parquet (64k rows, zstd, Bloom)", "parquet", ["block_rows=65536"]),
        ("Kyma Parquet lz4, 8k-row pages", "parquet", ["block_rows=65536", "codec=lz4", "page_rows=8192"]),
        ("Kyma Parquet without Bloom", "parquet", ["block_rows=65536", "bloom=false"]),
    ]



    def ensure_table(name, fmt, options):
        table = f"fmt_{rows}_{slug(name)}"
        listed = run([kyma, "table", "list"])
        line = next((l for l in listed.splitlines() if l.split()[:1] == [table]), None)
        if line and f"rows={rows}" in line:
            return table, None
        subprocess.run([kyma, "table", "drop", table], capture_output=True)
        run([kyma, "table", "create", table, "--format", fmt, "--time-column", "ts"] + [a for o in options for a in ("--option", o)])
        log(f"ingesting {name} into {table}")
        started = time.perf_counter()
        subprocess.run([kyma, "ingest", "--table", table, "--time-field", "ts", "--lines-per-batch", "1000000", data], check=True,
                       stdout=subprocess.DEVNULL)
        return table, time.perf_counter() - started


    results = []
    ingest_times = json.load(open(os.path.join(work, f"formats-{rows}.ingest.json"))) if os.path.exists(os.path.join(work, f"formats-{rows}.ingest.json")) else {}
    for name, fmt, options in KYMA_VARIANTS:
        table, ingest_s = ensure_table(name, fmt, options)
        if ingest_s is not None:
            ingest_times[table] = ingest_s
            json.dump(ingest_times, open(os.path.join(work, f"formats-{rows}.ingest.json"), "w"))
        decoded = json.loads(run([kyma, "table", "decode", table, "--runs", str(RUNS)]))
        assert decoded["rows"] == rows, f"{table} decoded {decoded['rows']} rows, not {rows}"
        checked += 1
        per_query = []
        for qname, kql, _ in QUERIES:
            kql = kql.replace("{T}", table)
            profiles = [json.loads(run([kyma, "explain", "--analyze", "--runs", "1", "--format", "json", kql])) for _ in range(RUNS + 1)][1:]
            p = profiles[-1]
            per_query.append({"name": qname, "ms": statistics.median(x["totalMillis"] for x in profiles),
                              "read": p["footerBytesRead"] + p["dataBytesRead"], "footer": p["footerBytesRead"],
                              "levels": f"{p['blocksAfterStats']}/{p['blocksAfterBloom']}/{p['blocksAfterIndex']} of {p['blocksTotal']}",
                              "extentsOpened": p["extentsAfterCatalog"],
                              "rowsDecoded": p["rowsDecoded"]})
        results.append({"name": name, "kind": "kyma", "options": " ".join(options) or "(defaults)", "bytes": decoded["bytes"],
                        "index": decoded["indexBytes"], "write_s": ingest_times.get(table), "scan_ms": decoded["millis"], "queries": per_query})
        log(f"{name}: {decoded['bytes']:,} bytes ({decoded['indexBytes']:,} index), decode {decoded['millis']:.0f} ms, "
            f"needle {per_query[0]['read']:,} bytes")

    # --- Peers ---------------------------------------------------------------------------------
    os.environ.setdefault("LANCE_CPU_THREADS", "1")
    os.environ.setdefault("LANCE_IO_THREADS", "2")
    import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
    import vortex as vx, vortex.expr as ve
    import lance
    vx.set_worker_threads(0)
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    table = pq.read_table(duck_parquet)
    table = table.cast(pa.schema([pa.field(f.name, pa.timestamp("us", tz="UTC")) if pa.types.is_timestamp(f.type) else f for f in table.schema]))


    def rchar():
        for line in open("/proc/self/io"):
            if line.startswith("rchar:"):
                return int(line.split()[1])
        return 0


    def measured(fn):
        fn()
        times, read = [], 0
        for _ in range(RUNS):
            before = rchar()
            started = time.perf_counter()
            out = fn()
            times.append((time.perf_counter() - started) * 1000)
            read = rchar() - before
        return statistics.median(times), read, out


    def tree_bytes(path):
        if os.path.isfile(path):
            return os.path.getsize(path)
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


    import datetime as dt
    start_ms, span = needles["start_ms"], needles["span_ms"]
    at = lambda off: dt.datetime.fromtimestamp((start_ms + off) / 1000, dt.timezone.utc).replace(microsecond=0)
    needle, rare = needles["trace_ids"][0], needles["rare_term"]
    s_lo, s_hi = at(int(span * 0.5)), at(int(span * 0.5) + 600_000)
    h_lo, h_hi = at(int(span * 0.3)), at(int(span * 0.3) + 3_600_000)
    term_regex = f"(?i)(^|[^a-z0-9]){rare}([^a-z0-9]|$)"


    def plain(t):
        """Vortex returns string_view columns; pyarrow's regex and group-by kernels take string."""
        return t.cast(pa.schema([pa.field(f.name, pa.string()) if f.type == pa.string_view() else f for f in t.schema]))


    def has_term(t):
        t = plain(t)
        return t.filter(pc.match_substring_regex(t["msg"], term_regex))


    def agg(t):
        return plain(t).group_by("service").aggregate([("latency_ms", "count"), ("latency_ms", "mean")])


    def between(t, lo, hi):
        return t.filter(pc.and_(pc.greater_equal(t["ts"], pa.scalar(lo, pa.timestamp("us", tz="UTC"))),
                                pc.less_equal(t["ts"], pa.scalar(hi, pa.timestamp("us", tz="UTC")))))


    peer_dir = os.path.join(work, f"formats-{rows}")
    os.makedirs(peer_dir, exist_ok=True)

    # pyarrow Parquet, the fair layout.
    pq_path = os.path.join(peer_dir, "fair.parquet")
    started = time.perf_counter()
    pq.write_table(table, pq_path, compression="zstd", row_group_size=65536, write_page_index=True,
                   bloom_filter_options={"trace_id": {"ndv": 65536, "fpp": 0.01}})
    pq_write = time.perf_counter() - started
    ts_lo = lambda d: pa.scalar(d, pa.timestamp("us", tz="UTC"))
    pq_queries = [
        lambda: pq.read_table(pq_path, columns=["ts", "service", "latency_ms"], filters=[("trace_id", "=", needle)], use_threads=False),
        lambda: has_term(pq.read_table(pq_path, columns=["ts", "trace_id", "msg"], use_threads=False)),
        lambda: pq.read_table(pq_path, columns=["ts"], filters=[("ts", ">=", ts_lo(s_lo)), ("ts", "<=", ts_lo(s_hi))], use_threads=False).num_rows,
        lambda: pq.read_table(pq_path, columns=["latency_ms"], filters=[("latency_ms", ">", 3000)], use_threads=False).num_rows,
        lambda: agg(pq.read_table(pq_path, columns=["ts", "service", "latency_ms"], filters=[("ts", ">=", ts_lo(h_lo)), ("ts", "<=", ts_lo(h_hi))], use_threads=False)),
    ]

    # Vortex.
    vx_path = os.path.join(peer_dir, "rows.vortex")
    started = time.perf_counter()
    vx.io.write(table, vx_path)
    vx_write = time.perf_counter() - started
    vts = lambda d: ve.literal(vx.timestamp("us", tz="UTC"), d)
    vx_queries = [
        lambda: vx.open(vx_path).to_arrow(projection=["ts", "service", "latency_ms"], expr=ve.column("trace_id") == needle).read_all(),
        lambda: has_term(vx.open(vx_path).to_arrow(projection=["ts", "trace_id", "msg"]).read_all()),
        lambda: vx.open(vx_path).to_arrow(projection=["ts"], expr=(ve.column("ts") >= vts(s_lo)) & (ve.column("ts") <= vts(s_hi))).read_all().num_rows,
        lambda: vx.open(vx_path).to_arrow(projection=["latency_ms"], expr=ve.column("latency_ms") > 3000.0).read_all().num_rows,
        lambda: agg(vx.open(vx_path).to_arrow(projection=["ts", "service", "latency_ms"], expr=(ve.column("ts") >= vts(h_lo)) & (ve.column("ts") <= vts(h_hi))).read_all()),
    ]

    # Lance, and Lance with a BTREE index on trace_id.
    ln_path, lnb_path = os.path.join(peer_dir, "rows.lance"), os.path.join(peer_dir, "rows-btree.lance")
    for p in (ln_path, lnb_path):
        shutil.rmtree(p, ignore_errors=True)
    started = time.perf_counter()
    lance.write_dataset(table, ln_path)
    ln_write = time.perf_counter() - started
    started = time.perf_counter()
    lance.write_dataset(table, lnb_path).create_scalar_index("trace_id", "BTREE")
    lnb_write = time.perf_counter() - started
    lts = lambda d: d.strftime("%Y-%m-%d %H:%M:%S")


    def lance_queries(path):
        return [
            lambda: lance.dataset(path).to_table(columns=["ts", "service", "latency_ms"], filter=f"trace_id = '{needle}'"),
            lambda: has_term(lance.dataset(path).to_table(columns=["ts", "trace_id", "msg"])),
            lambda: lance.dataset(path).to_table(columns=["ts"], filter=f"ts >= TIMESTAMP '{lts(s_lo)}' AND ts <= TIMESTAMP '{lts(s_hi)}'").num_rows,
            lambda: lance.dataset(path).to_table(columns=["latency_ms"], filter="latency_ms > 3000").num_rows,
            lambda: agg(lance.dataset(path).to_table(columns=["ts", "service", "latency_ms"], filter=f"ts >= TIMESTAMP '{lts(h_lo)}' AND ts <= TIMESTAMP '{lts(h_hi)}'")),
        ]


    peers = [
        ("pyarrow Parquet (zstd, 64k row groups, page index, Bloom on trace_id)", pq_path, pq_write, lambda: pq.read_table(pq_path, use_threads=False), pq_queries, 0),
        ("Vortex", vx_path, vx_write, lambda: vx.open(vx_path).to_arrow().read_all(), vx_queries, 0),
        ("Lance", ln_path, ln_write, lambda: lance.dataset(ln_path).to_table(), lance_queries(ln_path), 0),
        ("Lance + BTREE(trace_id)", lnb_path, lnb_write, lambda: lance.dataset(lnb_path).to_table(), lance_queries(lnb_path),
         tree_bytes(os.path.join(lnb_path, "_indices"))),
    ]
    reference = None
    for name, path, write_s, scan, queries, index in peers:
        scan_ms, _, scanned = measured(scan)
        assert scanned.num_rows == rows, f"{name} scanned {scanned.num_rows} rows"
        checked += 1
        per_query = []
        for (qname, _, _), q in zip(QUERIES, queries):
            ms, read, out = measured(q)
            n = out if isinstance(out, int) else out.num_rows
            per_query.append({"name": qname, "ms": ms, "read": read, "footer": None, "levels": "-", "rowsDecoded": None, "answer": n})
        results.append({"name": name, "kind": "peer", "options": "", "bytes": tree_bytes(path), "index": index,
                        "write_s": write_s, "scan_ms": scan_ms, "queries": per_query})
        log(f"{name}: {tree_bytes(path):,} bytes, scan {scan_ms:.0f} ms, needle read {per_query[0]['read']:,} bytes")

    # The answers agree: each peer's row counts equal Kyma's (`kyma query` on the default table).
    kyma_answers = []
    for qname, kql, _ in QUERIES:
        out = run([kyma, "query", "--format", "csv", kql.replace("{T}", default_table)]).strip().splitlines()
        kyma_answers.append(int(out[1].split(",")[-1]) if "count" in kql and "summarize" not in kql else len(out) - 1)
    for r in results:
        for q, want in zip(r["queries"], kyma_answers):
            if "answer" in q:
                assert q["answer"] == want, f"{r['name']} answered {q['answer']} for {q['name']}, Kyma {want}"
                checked += 1

    return results


DATASETS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "datasets")
DATASET_VARIANTS = [("TLM default", "tlm", []), ("TLM no inverted index", "tlm", ["inverted_index=false"]),
                    ("TLM lz4", "tlm", ["codec=lz4"]), ("Kyma Parquet", "parquet", [])]


def dataset_files():
    """The real datasets as JSON lines: Loghub's 16 structured 2k samples (system, line id, content,
    event id and template, the columns all share) and OTRF's Windows security events (2,067
    events with sparse, varying fields)."""
    import csv
    out = []
    loghub = os.path.join(work, "loghub-structured.jsonl")
    root = os.path.join(DATASETS, "loghub")
    if os.path.isdir(root):
        with open(loghub, "w") as f:
            for system in sorted(os.listdir(root)):
                path = os.path.join(root, system, f"{system}_2k.log_structured.csv")
                if not os.path.exists(path):
                    continue
                for row in csv.DictReader(open(path, newline="", encoding="utf-8", errors="replace")):
                    f.write(json.dumps({"system": system, "line_id": int(row["LineId"]), "content": row["Content"],
                                        "event_id": row["EventId"], "template": row["EventTemplate"]}) + "\n")
        out.append(("Loghub structured (16 systems)", loghub))
    otrf = os.path.join(DATASETS, "json-logs", "otrf-windows-empire-launcher-vbs", "empire_launcher_vbs_2020-09-04160940.json")
    if os.path.exists(otrf):
        out.append(("OTRF Windows security events", otrf))
    return out


def measure_datasets():
    """Bytes and one-thread full scan of TLM variants, Kyma's Parquet and the peers on each real dataset."""
    global checked
    import duckdb, pyarrow as pa, pyarrow.parquet as pq, vortex as vx, lance
    rows_out = []
    for dname, path in dataset_files():
        nrows = sum(1 for line in open(path, encoding="utf-8", errors="replace") if line.strip())
        entry = {"name": dname, "rows": nrows, "file_bytes": os.path.getsize(path), "formats": []}
        for vname, fmt, options in DATASET_VARIANTS:
            table = "fmtds_" + slug(dname)[:20] + "_" + slug(vname)
            subprocess.run([kyma, "table", "drop", table], capture_output=True)
            run([kyma, "table", "create", table, "--format", fmt] + [a for o in options for a in ("--option", o)])
            run([kyma, "ingest", "--table", table, path])
            decoded = json.loads(run([kyma, "table", "decode", table, "--runs", str(RUNS)]))
            assert decoded["rows"] == nrows, f"{table} decoded {decoded['rows']} of {nrows} rows"
            checked += 1
            entry["formats"].append({"name": vname, "bytes": decoded["bytes"], "index": decoded["indexBytes"], "scan_ms": decoded["millis"]})
        t = duckdb.sql(f"SELECT * FROM read_json_auto('{path}', union_by_name=true, sample_size=-1)").arrow()
        t = t.read_all() if hasattr(t, "read_all") else t
        d = os.path.join(work, "formats-datasets", slug(dname))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        peers = [("pyarrow Parquet (zstd)", lambda p: pq.write_table(t, p, compression="zstd", row_group_size=65536), lambda p: pq.read_table(p, use_threads=False), "x.parquet"),
                 ("Vortex", lambda p: vx.io.write(t, p), lambda p: vx.open(p).to_arrow().read_all(), "x.vortex"),
                 ("Lance", lambda p: lance.write_dataset(t, p), lambda p: lance.dataset(p).to_table(), "x.lance")]
        for pname, write, read, fname in peers:
            p = os.path.join(d, fname)
            try:
                write(p)
                read(p)
                times = []
                for _ in range(RUNS):
                    started = time.perf_counter()
                    got = read(p)
                    times.append((time.perf_counter() - started) * 1000)
                assert got.num_rows == nrows, f"{pname} read {got.num_rows} of {nrows} rows"
                checked += 1
                size = os.path.getsize(p) if os.path.isfile(p) else sum(os.path.getsize(os.path.join(a, f)) for a, _, fs in os.walk(p) for f in fs)
                entry["formats"].append({"name": pname, "bytes": size, "index": 0, "scan_ms": statistics.median(times)})
            except Exception as error:  # a peer that cannot hold these rows is reported, not hidden
                entry["formats"].append({"name": pname, "bytes": None, "index": 0, "scan_ms": None, "error": str(error).splitlines()[0][:120]})
        rows_out.append(entry)
        log(f"dataset {dname}: " + ", ".join(f"{f['name']} {f['bytes']}" for f in entry["formats"]))
    return rows_out


# --- Report --------------------------------------------------------------------------------
saved = os.path.join(work, f"formats-{rows}.results.json")
saved_datasets = os.path.join(work, f"formats-{rows}.datasets.json")
if REPORT_ONLY or DATASETS_ONLY:
    results = json.load(open(saved))
    datasets = json.load(open(saved_datasets)) if os.path.exists(saved_datasets) else []
    if DATASETS_ONLY:  # measure the real datasets again, keep the grid's saved results
        datasets = measure_datasets()
        json.dump(datasets, open(saved_datasets, "w"), indent=1)
else:
    results = measure()
    json.dump(results, open(saved, "w"), indent=1)
    datasets = measure_datasets()
    json.dump(datasets, open(saved_datasets, "w"), indent=1)
pq_bytes = next(r["bytes"] for r in results if r["name"].startswith("pyarrow"))
vx_scan = next(r["scan_ms"] for r in results if r["name"] == "Vortex")
machine = run(["sh", "-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).split("\n")
lines = [
    "# The format lab: TLM variants, Kyma's Parquet and peers over the same rows",
    "",
    f"Command: `harness/compare-formats {rows}`. Machine: {machine[0].strip()} cores,{machine[1]}; local filesystem, warm OS cache.",
    f"Rows: `datasets/gen_service_logs.py --rows {rows} --days 10` (seed 42), {rows:,} rows, 11 columns. Median of {RUNS} runs after a warm-up.",
    "Kyma's variants: bytes are the table's extent objects (`kyma table list`); index = Bloom filters, term filters and posting",
    "lists (from the footers, `kyma table decode`); write = `kyma ingest` of the JSON lines (parse + encode + upload, one process);",
    "full scan = `kyma table decode` (open every extent, decode every column, one task); per query, bytes read = footers + data +",
    "indexes fetched (`kyma explain --analyze`), blocks kept after statistics / Bloom / inverted index.",
    "Peers: written from the same rows as an Arrow table by their own libraries (write = that call); full scan = read everything",
    "into Arrow on one thread; queries through their readers with filter pushdown (a `has` term is not expressible in their",
    "filters: they read `msg` and filter with a regular expression); bytes read = `rchar` of /proc/self/io around the call.",
    "Every peer's answer (row count) equals Kyma's on every query (asserted by the script).",
    "",
    "## Size, write, full scan",
    "",
    "| variant | options | bytes | of which index | vs pyarrow Parquet | write s | full scan ms (1 thread) | vs Vortex scan |",
    "|---|---|---|---|---|---|---|---|",
]
for r in results:
    w = "-" if r["write_s"] is None else f"{r['write_s']:.1f}"
    lines.append(f"| {r['name']} | {r['options']} | {r['bytes']:,} | {r['index']:,} | {r['bytes'] / pq_bytes:.2f}x | {w} | "
                 f"{r['scan_ms']:.0f} | {vx_scan / r['scan_ms']:.2f}x |")
lines += ["", "## Bytes read and latency per query", "", "| variant | " + " | ".join(q[0] for q in QUERIES) + " |",
          "|---|" + "---|" * len(QUERIES)]
for r in results:
    cells = []
    for q in r["queries"]:
        frac = 100.0 * q["read"] / max(1, r["bytes"])
        split = f" = {q['footer']:,} footers and indexes + {q['read'] - q['footer']:,} data" if q.get("footer") is not None else ""
        cells.append(f"{q['read']:,} B ({frac:.2f}%{split}), {q['ms']:.1f} ms" + (f", blocks kept by stats/Bloom/index {q['levels']}" if q["levels"] != "-" else ""))
    lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
default = results[0]
needle, rare, tslice = default["queries"][0], default["queries"][1], default["queries"][2]
met = lambda ok: "met" if ok else "NOT met"
opened = tslice.get("extentsOpened")
lines += ["", f"## The TLM targets ({default['name']}, this run)", "",
          f"- Total bytes with indexes <= 0.8x pyarrow Parquet+zstd: {default['bytes'] / pq_bytes:.2f}x ({met(default['bytes'] <= 0.8 * pq_bytes)}); "
          f"without the inverted index {next(r['bytes'] for r in results if r['name'] == 'TLM no inverted index') / pq_bytes:.2f}x, "
          f"without any index {next(r['bytes'] for r in results if r['name'] == 'TLM no indexes') / pq_bytes:.2f}x.",
          f"- Needle reads < 0.5% of the table: {100 * needle['read'] / default['bytes']:.3f}% ({met(needle['read'] < 0.005 * default['bytes'])}).",
          f"- Rare term reads < 0.5%: {100 * rare['read'] / default['bytes']:.3f}% ({met(rare['read'] < 0.005 * default['bytes'])}).",
          f"- Opening an extent costs what the query uses, not a fixed 64 KB: the time slice opened "
          + (f"{opened} extent(s) with {tslice['footer']:,} footer bytes" if opened is not None else f"its extents with {tslice['footer']:,} footer bytes")
          + " (the first GET is a 16 KiB suffix; a larger footer is fetched exactly).",
          f"- Full decode, one thread, at least Vortex's speed: {vx_scan / default['scan_ms']:.2f}x Vortex ({met(default['scan_ms'] <= vx_scan)}).",
          ]
if datasets:
    lines += ["", "## Real datasets (../shared/datasets): size and one-thread full scan", "",
              "The same rows in each format: Kyma's through `kyma ingest` and `kyma table decode`, the peers written from",
              "DuckDB's reading of the same JSON lines (`read_json_auto`, union by name). Sizes vary with the columns each",
              "side infers (Kyma flattens and types per path).", "",
              "| dataset | rows | JSON bytes | " + " | ".join(f["name"] for f in datasets[0]["formats"]) + " |",
              "|---|---|---|" + "---|" * len(datasets[0]["formats"])]
    for d in datasets:
        cells = [(f"{f['bytes']:,} B, {f['scan_ms']:.1f} ms" if f["bytes"] is not None else f"failed: {f['error']}") for f in d["formats"]]
        lines.append(f"| {d['name']} | {d['rows']:,} | {d['file_bytes']:,} | " + " | ".join(cells) + " |")
notes = os.path.join(HERE, "notes.md")
if os.path.exists(notes):
    lines += ["", open(notes).read().rstrip()]
lines += ["", "## Queries", ""] + [f"- {q[0]}: `{q[1].replace('{T}', 'T')}`" for q in QUERIES]
lines += ["", "![size vs needle bytes read](formats-size-vs-needle.svg)", "", "![size vs full-scan time](formats-size-vs-scan.svg)", ""]
open(os.path.join(reports, "formats.md"), "w").write("\n".join(lines) + "\n")


def scatter(path, title, xlabel, ylabel, points, logy):
    """An SVG scatter with the pareto front (lower-left is better on both axes) drawn as a line."""
    import math
    W, H, L, B = 780, 460, 90, 50
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    x0, x1 = 0, max(xs) * 1.1
    f = (lambda v: math.log10(max(v, 1))) if logy else (lambda v: v)
    y0, y1 = (min(f(v) for v in ys) - 0.3, max(f(v) for v in ys) + 0.3) if logy else (0, max(ys) * 1.1)
    px = lambda v: L + (v - x0) / (x1 - x0) * (W - L - 20)
    py = lambda v: H - B - (f(v) - y0) / (y1 - y0) * (H - B - 40)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="20" font-size="14">{title}</text>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - 20}" y2="{H - B}" stroke="#333"/><line x1="{L}" y1="40" x2="{L}" y2="{H - B}" stroke="#333"/>',
           f'<text x="{(L + W) / 2}" y="{H - 12}" text-anchor="middle">{xlabel}</text>',
           f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">{ylabel}</text>']
    for k in range(6):  # x ticks
        v = x0 + (x1 - x0) * k / 5
        svg.append(f'<line x1="{px(v):.1f}" y1="{H - B}" x2="{px(v):.1f}" y2="{H - B + 4}" stroke="#333"/>'
                   f'<text x="{px(v):.1f}" y="{H - B + 16}" text-anchor="middle">{v:.0f}</text>')
    yticks = [10 ** e for e in range(math.ceil(y0), math.floor(y1) + 1)] if logy else [y1 * k / 5 for k in range(6)]
    for v in yticks:
        label = f"{v:,.0f}"
        svg.append(f'<line x1="{L - 4}" y1="{py(v):.1f}" x2="{W - 20}" y2="{py(v):.1f}" stroke="#eee"/>'
                   f'<text x="{L - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{label}</text>')
    front = sorted(points, key=lambda p: (p[1], p[2]))
    pareto, best = [], float("inf")
    for p in front:
        if p[2] < best:
            pareto.append(p)
            best = p[2]
    svg.append('<polyline fill="none" stroke="#c44" stroke-dasharray="4 3" points="' + " ".join(f"{px(p[1]):.1f},{py(p[2]):.1f}" for p in pareto) + '"/>')
    for name, x, y, kyma_side in points:
        colour = "#4878a8" if kyma_side else "#e08020"
        svg.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="4" fill="{colour}"/>')
        svg.append(f'<text x="{px(x) + 6:.1f}" y="{py(y) - 4:.1f}">{name[:34]}</text>')
    svg.append(f'<text x="{W - 300}" y="36" fill="#c44">dashed: pareto front (smaller and faster)</text></svg>')
    open(path, "w").write("\n".join(svg) + "\n")


mb = lambda r: r["bytes"] / 1e6
scatter(os.path.join(reports, "formats-size-vs-needle.svg"), f"Size vs bytes a needle reads ({rows:,} rows)", "size (MB)",
        "needle bytes read (log scale)", [(r["name"], mb(r), r["queries"][0]["read"], r["kind"] == "kyma") for r in results], True)
scatter(os.path.join(reports, "formats-size-vs-scan.svg"), f"Size vs full-scan time, one thread ({rows:,} rows)", "size (MB)",
        "full scan ms", [(r["name"], mb(r), r["scan_ms"], r["kind"] == "kyma") for r in results], False)
log(f"wrote {reports}/formats.md")
if not REPORT_ONLY:
    print(f"compare-formats: {checked} passed")
