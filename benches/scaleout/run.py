#!/usr/bin/env python3
"""Read scale-out: the same queries on 1, 2 and 3 `kyma serve` nodes (one catalog, one store),
against the local store and against the store throttled to S3-like latency and bandwidth per
request; the time a leaf's death adds to a query; a cost model of a 100-node cluster on S3,
checked against these runs. Writes reports/scaleout.md and reports/scaleout.svg.

  run.py KYMA ROWS STATE_DIR REPORTS_DIR [--runs N]
"""
import json, os, re, signal, statistics, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "harness"))
import serverlib  # noqa: E402

THROTTLE = {"latency_ms": 20, "mbps": 50}
EXTENTS = 48
TABLE = "scaleout_bench"
QUERIES = {
    "full-scan aggregation": "{t} | summarize n = count(), a = avg(latency_ms), u = dcount(user_id) by service",
    "filtered aggregation": "{t} | where status >= 500 | summarize n = count() by region, level",
    "needle": "{t} | where trace_id == '{needle}' | project ts, service, trace_id",
}


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw).stdout


def post(url, path, body, timeout=600):
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


# Heartbeats every second; a node silent for 3 s leaves the candidate set (the default is 15 s).
NODE_CONFIG = "[server]\nheartbeat_seconds = 1\nnode_timeout_seconds = 3\n"


def start_nodes(kyma, count, env):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return [serverlib.Server(kyma, ["--no-auth", "--cache-dir", "none"], config=NODE_CONFIG) for _ in range(count)]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def stop_nodes(nodes):
    for node in nodes:
        if node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    for node in nodes:
        try:
            node.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            node.process.kill()


def timed(url, text):
    started = time.perf_counter()
    document = post(url, "/v1/query", {"query": text, "format": "json"})
    return (time.perf_counter() - started) * 1000, document


def measure(kyma, nodes_count, store, texts, runs):
    env = {"KYMA_STORE_THROTTLE": f"latency_ms={THROTTLE['latency_ms']},mbps={THROTTLE['mbps']}"} if store == "throttled" else {"KYMA_STORE_THROTTLE": ""}
    nodes = start_nodes(kyma, nodes_count, env)
    try:
        out = {}
        for name, text in texts.items():
            timed(nodes[0].url, text)  # the coordinator's footer cache warms; leaves read data every time
            millis, rows = [], None
            for _ in range(runs):
                ms, document = timed(nodes[0].url, text)
                millis.append(ms)
                rows = sorted(json.dumps(r, sort_keys=True) for r in document["rows"])
            explained = post(nodes[0].url, "/v1/explain", {"query": text, "analyze": True})["profile"]
            out[name] = {"median_ms": statistics.median(millis), "runs_ms": millis, "rows": rows, "profile": explained}
        return out
    finally:
        stop_nodes(nodes)


def node_death(kyma, text, trials):
    """3 nodes, throttled store: a leaf SIGKILLed as soon as its scan starts; query times."""
    env = {"KYMA_STORE_THROTTLE": f"latency_ms={THROTTLE['latency_ms']},mbps={THROTTLE['mbps']}", "KYMA_LEAF_LOG": "1"}
    times, retried, rows = [], [], []
    for _ in range(trials):
        nodes = start_nodes(kyma, 3, env)
        try:
            timed(nodes[0].url, text)
            log_size = os.path.getsize(nodes[2].log.name)
            result = {}
            thread = threading.Thread(target=lambda: result.update(answer=timed(nodes[0].url, text)))
            thread.start()
            deadline = time.monotonic() + 120
            while "leaf scan started" not in open(nodes[2].log.name, errors="replace").read()[log_size:]:
                if time.monotonic() > deadline:
                    raise RuntimeError("node 2 never started a scan")
                time.sleep(0.005)
            nodes[2].process.send_signal(signal.SIGKILL)
            thread.join(timeout=600)
            ms, document = result["answer"]
            times.append(ms)
            retried.append(document["stats"]["retried_units"])
            rows.append(sorted(json.dumps(r, sort_keys=True) for r in document["rows"]))
        finally:
            stop_nodes(nodes)
        # The killed node never said goodbye: wait (bounded) until its heartbeat ages out, so the
        # next trial starts from three live nodes.
        victim = re.search(r"kyma serve: node (\S+),", open(nodes[2].log.name, errors="replace").read()).group(1)
        deadline = time.monotonic() + 60
        while sh("psql", os.environ["KYMA_CATALOG"], "-tAc",
                 f"SELECT count(*) FROM nodes WHERE id = '{victim}' AND last_heartbeat >= now() - interval '3 seconds'").strip() != "0":
            if time.monotonic() > deadline:
                raise RuntimeError("a dead node's heartbeat did not age out within 60 s")
            time.sleep(0.2)
    return {"runs_ms": times, "median_ms": statistics.median(times), "retried": retried, "rows": rows}


def svg(results, path):
    """Speed-up over one node, per query, local and throttled store."""
    names = list(QUERIES)
    stores = ["local", "throttled"]
    width, height, left, bottom = 760, 330, 60, 60
    plot_w, plot_h = width - left - 20, height - bottom - 40
    top = max(3.2, max(results[s][1][q]["median_ms"] / results[s][n][q]["median_ms"] for s in stores for n in (1, 2, 3) for q in names))
    group_w = plot_w / (len(names) * len(stores))
    bar_w = group_w / 4
    colors = {1: "#9aa5b1", 2: "#4c78a8", 3: "#f58518"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
             f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">Speed-up over one node (median of runs; 2-core machine, all nodes on it)</text>']
    for tick in range(0, int(top) + 1):
        y = 40 + plot_h - tick / top * plot_h
        parts.append(f'<line x1="{left}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}x</text>')
    for gi, (store, name) in enumerate((s, q) for s in stores for q in names):
        x0 = left + gi * group_w + bar_w / 2
        for k, n in enumerate((1, 2, 3)):
            speedup = results[store][1][name]["median_ms"] / results[store][n][name]["median_ms"]
            h = speedup / top * plot_h
            parts.append(f'<rect x="{x0 + k * bar_w:.1f}" y="{40 + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{colors[n]}"><title>{store} {name} {n} node(s): {speedup:.2f}x</title></rect>')
        label = name.replace(" aggregation", " agg.")
        parts.append(f'<text x="{x0 + 1.5 * bar_w:.1f}" y="{40 + plot_h + 14}" text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{x0 + 1.5 * bar_w:.1f}" y="{40 + plot_h + 28}" text-anchor="middle" fill="#555">{store}</text>')
    for k, n in enumerate((1, 2, 3)):
        parts.append(f'<rect x="{left + k * 90}" y="{height - 16}" width="10" height="10" fill="{colors[n]}"/><text x="{left + k * 90 + 14}" y="{height - 7}">{n} node{"s" if n > 1 else ""}</text>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts) + "\n")


def main():
    args = sys.argv[1:]
    kyma, rows, state, reports = args[0], int(args[1]), args[2], args[3]
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 5
    os.makedirs(state, exist_ok=True)
    os.makedirs(reports, exist_ok=True)
    data = os.path.join(state, f"svc-{rows}.jsonl")
    if not os.path.exists(data):
        sh(sys.executable, os.path.join(ROOT, "datasets", "gen_service_logs.py"), "--rows", str(rows), "--seed", "5", "--days", "7", "--out", data)
    subprocess.run([kyma, "table", "drop", TABLE], capture_output=True)
    started = time.perf_counter()
    sh(kyma, "ingest", "--table", TABLE, "--time-field", "ts", "--lines-per-batch", str(max(1, rows // EXTENTS)), data)
    ingest_s = time.perf_counter() - started
    with open(data) as f:
        for i, line in enumerate(f):
            if i == rows // 3:
                needle = json.loads(line)["trace_id"]
                break
    texts = {name: q.format(t=TABLE, needle=needle) for name, q in QUERIES.items()}
    # The same answers on the CLI (no cluster in the path): every cluster answer must equal them.
    reference = {name: sorted(json.dumps(json.loads(l), sort_keys=True) for l in sh(kyma, "query", "--format", "json", text).splitlines())
                 for name, text in texts.items()}
    results = {}
    for store in ("local", "throttled"):
        results[store] = {}
        for n in (1, 2, 3):
            print(f"scaleout: {store} store, {n} node(s)", flush=True)
            results[store][n] = measure(kyma, n, store, texts, runs if store == "local" else max(3, runs - 2))
            for name in texts:
                if results[store][n][name]["rows"] != reference[name]:
                    raise SystemExit(f"scaleout: {store} {n} nodes answered {name} differently from kyma query")
    print("scaleout: node death", flush=True)
    death = node_death(kyma, texts["full-scan aggregation"], 3)
    if any(r != reference["full-scan aggregation"] for r in death["rows"]):
        raise SystemExit("scaleout: an answer after a node's death differs from kyma query")
    extents = int(sh("psql", os.environ["KYMA_CATALOG"], "-tAc",
                     f"SELECT count(*) FROM extents e JOIN tables t ON t.id = e.table_id WHERE t.name = '{TABLE}' AND e.state = 'active'").strip())
    table_bytes = int(sh("psql", os.environ["KYMA_CATALOG"], "-tAc",
                         f"SELECT sum(byte_size) FROM extents e JOIN tables t ON t.id = e.table_id WHERE t.name = '{TABLE}' AND e.state = 'active'").strip())
    saved = {"rows": rows, "extents": extents, "table_bytes": table_bytes, "ingest_s": ingest_s, "throttle": THROTTLE,
             "results": {s: {str(n): {q: {k: v for k, v in r.items() if k != "rows"} for q, r in per.items()} for n, per in by.items()} for s, by in results.items()},
             "death": {k: v for k, v in death.items() if k != "rows"}}
    json.dump(saved, open(os.path.join(state, f"scaleout-{rows}.json"), "w"), indent=1)
    svg(results, os.path.join(reports, "scaleout.svg"))
    write_report(saved, results, death, reports, " ".join(["harness/bench-scaleout", str(rows)]))


def write_report(saved, results, death, reports, command):
    rows, extents, table_bytes = saved["rows"], saved["extents"], saved["table_bytes"]
    lines = [
        "# Read scale-out: 1, 2 and 3 nodes",
        "",
        f"Produced by `{command}` on {time.strftime('%Y-%m-%d')} (release build), "
        f"{rows:,} service-log rows in {extents} extents ({table_bytes / 1e6:.1f} MB of TLM). "
        "**This machine has two cores and every node runs on it**: nodes add CPU only up to two; what "
        "more nodes add beyond that is I/O parallelism. Each node reads with no cache "
        "(`--cache-dir none`), so every read goes to the store; queries go to node 1, which "
        "coordinates (catalog, footers, merge) and places units on every node, itself included. "
        f"*Throttled* runs put the store behind `KYMA_STORE_THROTTLE=latency_ms={THROTTLE['latency_ms']},mbps={THROTTLE['mbps']}`: "
        f"each request waits {THROTTLE['latency_ms']} ms and then transfers at {THROTTLE['mbps']} MB/s, as S3 GETs do from one "
        "connection. Times are medians of warm runs (the coordinator's footers cached, data read every time); "
        "every answer equals `kyma query`'s (the CLI, no cluster in the path).",
        "",
        "In short: against a store that costs latency, scans speed up with nodes (close to linearly: the throttled "
        "aggregations); against the local disk on two cores, the work is CPU, which extra nodes on the same two cores "
        "cannot add, and the leaf calls' encoding costs a little (the local rows). A needle reads one or two units, "
        "so it takes the same time on any number of nodes.",
        "",
        "![speed-up](scaleout.svg)",
        "",
        "| store | query | 1 node ms | 2 nodes ms | 3 nodes ms | speed-up 2 / 3 | store requests | bytes read | units per node (3 nodes) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for store in ("local", "throttled"):
        for name in QUERIES:
            r = [results[store][n][name] for n in (1, 2, 3)]
            p3 = r[2]["profile"]
            units = " / ".join(str(node["units"]) for node in p3["nodes"]) or "-"
            lines.append(f"| {store} | {name} | {r[0]['median_ms']:.1f} | {r[1]['median_ms']:.1f} | {r[2]['median_ms']:.1f} | "
                         f"{r[0]['median_ms'] / r[1]['median_ms']:.2f}x / {r[0]['median_ms'] / r[2]['median_ms']:.2f}x | "
                         f"{p3['storeRequests']} | {p3['footerBytesRead'] + p3['dataBytesRead']:,} | {units} |")
    base = results["throttled"][3]["full-scan aggregation"]["median_ms"]
    lines += [
        "",
        "## A node's death",
        "",
        f"Three nodes, throttled store, the full-scan aggregation; node 3 SIGKILLed the moment its log says its leaf scan "
        f"started (so it dies holding its units). Runs: {', '.join(f'{m:.0f} ms' for m in death['runs_ms'])}; units retried on "
        f"the next node of their ranking: {', '.join(map(str, death['retried']))}. Median {death['median_ms']:.0f} ms against "
        f"{base:.0f} ms without a death: **the death added {death['median_ms'] - base:.0f} ms** "
        f"({death['median_ms'] / base:.2f}x). The dead node's call fails as soon as its connection resets (no timeout is waited "
        "for), and its units go at once to the next node of each one's ranking. Each retry is a call of its own with its own "
        "parallelism, so on a store whose cost is latency (as the throttle's sleep is, and as S3's largely is) the retried units "
        "run beside the survivors' own and the death costs little more than the time the dead node had already spent; on a "
        "CPU-bound store it would cost about that node's share of the scan. Every answer was complete and equal.",
    ]
    lines += cost_model(saved, results)
    open(os.path.join(reports, "scaleout.md"), "w").write("\n".join(lines) + "\n")


def cost_model(saved, results):
    """Per query: GETs and bytes from the runs, scaled; latency from a model checked here."""
    L, B = THROTTLE["latency_ms"] / 1000, THROTTLE["mbps"] * 1e6
    rows_here, table_bytes = saved["rows"], saved["table_bytes"]
    out = ["", "## Cost model", "",
           "A query's time on N nodes is modelled as the coordinator's planning (catalog query and extent footers, "
           "which it reads itself) plus the slowest node's share of the data reads, each read waiting a first-byte "
           "latency L and transferring at B per connection, with P reads in flight per node (P = the query "
           "parallelism, 2 here: one read at a time per unit, two units at a time):",
           "",
           "    T(N) = T_plan + ceil(ceil(U / N) / P) * (R / U) * (L + b / B) + T_rest",
           "",
           "with U the units the query reads, R their reads (the coordinator's footers are cached in these warm runs), b "
           "the reads' mean size, and ceil(ceil(U / N) / P) the waves of P units each node reads one after another. Checked against the throttled runs (T_plan, the catalog and footer time, from the 1-node run, where "
           "`EXPLAIN ANALYZE` splits it out; T_rest, the merge and everything else, fitted to the 1-node row; the 2- and 3-node rows test the model):", "",
           "| query | N | measured ms | model ms |", "|---|---:|---:|---:|"]
    for name in QUERIES:
        r1 = results["throttled"][1][name]
        p1 = r1["profile"]
        reads = max(1, p1["storeRequests"] - 0)
        data_bytes = p1["dataBytesRead"]
        b = data_bytes / reads
        per_read = L + b / B
        t_plan = p1["catalogMillis"] + p1["footerMillis"]
        units = max(1, p1["extentsAfterFooters"])
        def scan(n):
            waves = -(-(-(-units // n)) // 2)
            return waves * reads / units * per_read * 1000
        t_rest = max(0.0, r1["median_ms"] - t_plan - scan(1))
        for n in (1, 2, 3):
            model = t_plan + scan(n) + t_rest
            out.append(f"| {name} | {n} | {results['throttled'][n][name]['median_ms']:.0f} | {model:.0f} |")
    full = results["throttled"][1]["full-scan aggregation"]["profile"]
    needle = results["throttled"][1]["needle"]["profile"]
    extents = saved["extents"]
    bytes_per_row = saved["table_bytes"] / rows_here
    read_fraction = (full["dataBytesRead"]) / saved["table_bytes"]
    reads_per_extent_full = full["storeRequests"] / extents
    needle_reads = needle["storeRequests"]
    tb = 1e12
    extent_bytes = 256e6
    n_extents = tb / extent_bytes
    nodes, parallel, s3_latency, s3_bw, nic = 100, 64, 0.030, 90e6, 3e9
    full_bytes = read_fraction * tb
    # One ranged GET per block read (a block's needed chunks together): blocks of 65,536 rows.
    bytes_per_get = 65_536 * bytes_per_row * read_fraction
    full_reads = full_bytes / bytes_per_get
    per_node_bytes = full_bytes / nodes
    per_node_time = max(per_node_bytes / nic, (full_reads / nodes) / parallel * (s3_latency + full_bytes / full_reads / s3_bw))
    footer_time = n_extents / parallel * (s3_latency + 16384 / s3_bw)
    out += ["",
            f"Measured here, per query (1 node): the full-scan aggregation made {full['storeRequests']} reads for {extents} extents "
            f"({reads_per_extent_full:.1f} per extent: a block's needed column chunks come in one ranged GET) and read "
            f"{read_fraction * 100:.0f}% of the table's bytes (only the columns it uses); the needle made {needle_reads} reads "
            f"in all (blocks ruled out by statistics and Bloom filters are never fetched). The table is {bytes_per_row:.0f} bytes a row.",
            "",
            "### A 100-node cluster on S3, 1 TB of TLM",
            "",
            f"Assumptions (not measured here): extents of 256 MB ({n_extents:,.0f} extents) in blocks of 65,536 rows (TLM's "
            f"default; here extents were smaller than a block, so one GET per extent), one GET per block read of "
            f"~{bytes_per_get / 1e6:.1f} MB (the measured bytes a row times the columns' share), S3 first-byte latency 30 ms, "
            f"90 MB/s per connection, {parallel} reads in flight per node, 25 Gbit/s (~3 GB/s) per node, the coordinator's "
            "footers not cached (a cold coordinator; warm ones skip this).",
            "",
            "| | full scan of 1 TB (the aggregation above) | needle |",
            "|---|---|---|",
            f"| GETs per query | {full_reads:,.0f} data + {n_extents:,.0f} footers (at $0.0004 per 1,000 GETs: ${(full_reads + n_extents) * 0.0004 / 1000:.2f}) | {needle_reads} here; at 1 TB one data GET per block the "
            f"filters cannot rule out (a few), + up to {n_extents:,.0f} footer GETs when the coordinator is cold |",
            f"| bytes per query | {full_bytes / 1e9:,.0f} GB ({read_fraction * 100:.0f}% of 1 TB) | {needle['dataBytesRead'] + needle['footerBytesRead']:,} bytes here: "
            f"the blocks that may hold the value, not the table |",
            f"| latency | ~{per_node_time + footer_time:.1f} s: {per_node_time:.1f} s of reads per node ({per_node_bytes / 1e9:.1f} GB each, "
            f"{'bandwidth' if per_node_bytes / nic >= (full_reads / nodes) / parallel * (s3_latency + full_bytes / full_reads / s3_bw) else 'request'}-bound) "
            f"+ {footer_time:.1f} s of cold footers on the coordinator | ~3 round trips: catalog (~5 ms), footer (30 ms, cached after), one block (30-60 ms): ~0.1 s |",
            "",
            "**Where the coordinator becomes the bottleneck.** (1) Footers: the coordinator reads every candidate extent's footer "
            f"itself; cold, {n_extents:,.0f} footers at {parallel} in flight cost {footer_time:.1f} s, as much as the whole "
            "distributed scan: past ~100 nodes the footer phase must move to the leaves (each prunes its own units) or the catalog "
            "must hold the block statistics. (2) Merging: partial aggregate states arrive one per unit; a group-by with G groups costs "
            f"the coordinator units x G merges ({n_extents:,.0f} x G), so high-cardinality group-bys need a per-leaf merge "
            "before sending (one state per node, not per unit). (3) Rows: queries that return rows ship them through the "
            "coordinator, which decodes every leaf's batches (an assumed ~1 GB/s per core, not measured here): a query returning "
            "more than a few GB is bound by it. "
            "Top-N and take are cut on the coordinator, after every unit's rows arrive; a per-leaf cut would send N rows per leaf. "
            "Decoding on the leaves is not modelled: at 5.8 GB per node it needs a few cores of TLM decode (reports/decode.md "
            "has this machine's rates) to keep up with the network.",
            ]
    return out


if __name__ == "__main__":
    main()
