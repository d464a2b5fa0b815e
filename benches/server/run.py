#!/usr/bin/env python3
"""The HTTP server benchmark (run by harness/bench-server).

In one run, on the same rows and the same release build:
  - a needle query and an aggregation through `kyma serve` with wrk at concurrency 1, 8 and 64
    (QPS, p50, p99), against the same queries answered in one process (`kyma query --batch`
    of many repeats, its start-up cost subtracted with a batch of one);
  - NDJSON ingest over HTTP (POST /v1/tables/T/ingest) against `kyma ingest` of the same file;
  - `_bulk` and OTLP/HTTP (protobuf) events per second;
  - the server's peak resident memory after 64 concurrent queries (VmHWM).
Writes reports/server.md and reports/server-latency.svg.
"""
import json, os, re, subprocess, sys, tempfile, time

kyma, rows, work, reports = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.makedirs(work, exist_ok=True)
DURATION = int(os.environ.get("KYMA_BENCH_SERVER_SECONDS", "10"))
RUN = str(os.getpid())


def log(message):
    print(f"bench-server: {message}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed: {result.stderr[-2000:]}")
    return result.stdout


data = os.path.join(work, f"svc-{rows}.jsonl")
needles_path = os.path.join(work, f"svc-{rows}.needles.json")
if not os.path.exists(needles_path):
    log(f"generating {rows:,} rows")
    run([sys.executable, os.path.join(ROOT, "datasets/gen_service_logs.py"), "--rows", str(rows), "--days", "2", "--out", data, "--needles", needles_path])
needles = json.load(open(needles_path))
size_mb = os.path.getsize(data) / 1e6

# Ingest: the CLI, then the same file over HTTP, each into a table of its own.
cli_table, http_table = f"bench_cli_{RUN}", f"bench_http_{RUN}"
log(f"kyma ingest of {size_mb:.0f} MB")
started = time.perf_counter()
run([kyma, "ingest", "--table", cli_table, "--time-field", "ts", "--lines-per-batch", "200000", data])
cli_seconds = time.perf_counter() - started

key = run([kyma, "keys", "create", "--role", "admin", "--name", "bench-server", "--quiet"]).strip()
server_log = open(os.path.join(work, "serve.log"), "w")
# Admission above the highest concurrency measured, so wrk measures service rather than 429s.
config = os.path.join(work, "kyma.toml")
open(config, "w").write("[server]\nmax_concurrent_queries = 128\n")
server = subprocess.Popen([kyma, "serve", "--bind", "127.0.0.1:0", "--s3-bind", "off", "--config", config], stdout=subprocess.PIPE, stderr=server_log, text=True)
url = re.search(r"(http://[0-9.]+:[0-9]+)", server.stdout.readline()).group(1)
auth = ["-H", f"Authorization: Bearer {key}"]


def curl(path, body_file, content_type, extra=()):
    return run(["curl", "-sS", "--fail-with-body", "-X", "POST", *auth, "-H", f"Content-Type: {content_type}", *extra,
                "--data-binary", f"@{body_file}", url + path])


log("the same file over HTTP")
started = time.perf_counter()
reply = json.loads(curl(f"/v1/tables/{http_table}/ingest?time_field=ts", data, "application/x-ndjson"))
http_seconds = time.perf_counter() - started
assert reply["accepted"] == rows, reply

# _bulk and OTLP bodies of 10,000 events each, posted back to back for a few seconds.
events = 10_000
bulk_path = os.path.join(work, "bulk.ndjson")
with open(bulk_path, "w") as f:
    for i in range(events):
        f.write(json.dumps({"index": {"_index": f"bench_bulk_{RUN}"}}) + "\n")
        f.write(json.dumps({"@timestamp": "2026-12-01T10:00:%02dZ" % (i % 60), "service": "api", "n": i, "message": f"event {i} ok"}) + "\n")
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
request = ExportLogsServiceRequest()
scope_logs = request.resource_logs.add().scope_logs.add()
for i in range(events):
    record = scope_logs.log_records.add()
    record.time_unix_nano = 1_764_583_200_000_000_000 + i * 1_000_000
    record.severity_text = "INFO"
    record.body.string_value = f"event {i} ok"
    record.attributes.append(KeyValue(key="n", value=AnyValue(int_value=i)))
otlp_path = os.path.join(work, "otlp.pb")
open(otlp_path, "wb").write(request.SerializeToString())


def rate(path, body, content_type, extra=()):
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < min(DURATION, 5):
        curl(path, body, content_type, extra)
        done += events
    return done / (time.perf_counter() - started)


log("_bulk and OTLP")
bulk_rate = rate("/_bulk", bulk_path, "application/x-ndjson")
otlp_rate = rate("/v1/logs", otlp_path, "application/x-protobuf", ("-H", f"X-Kyma-Table: bench_otlp_{RUN}"))

# Queries: in process (a batch of repeats), then over HTTP with wrk.
queries = {
    "needle": f"{cli_table} | where trace_id == \"{needles['trace_ids'][0]}\" | project ts, service, latency_ms",
    "aggregation": f"{cli_table} | summarize n = count(), avg_latency = avg(latency_ms) by service",
}


def in_process_qps(text, repeats):
    def timed(n):
        path = os.path.join(work, f"batch-{n}.txt")
        open(path, "w").write((text + "\n") * n)
        started = time.perf_counter()
        run([kyma, "query", "--batch", path])
        return time.perf_counter() - started
    timed(1)  # warm the page cache
    base = min(timed(1) for _ in range(3))
    return repeats / max(timed(repeats + 1) - base, 1e-9)


def wrk(text, connections):
    script = os.path.join(work, "post.lua")
    body = json.dumps({"query": text, "format": "json"})
    open(script, "w").write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                            f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {key}"\n')
    out = run(["wrk", "-t", str(min(connections, 2)), "-c", str(connections), "-d", f"{DURATION}s", "--latency", "-s", script, url + "/v1/query"])
    if "Non-2xx" in out:
        sys.exit(f"wrk saw errors:\n{out}")
    qps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))

    def percentile(p):
        value, unit = re.search(rf"\s{p}%\s+([0-9.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    return {"qps": qps, "p50": percentile(50), "p99": percentile(99)}


results = {}
for name, text in queries.items():
    log(f"{name}: in process")
    results[name] = {"in_process": in_process_qps(text, 400 if name == "needle" else 100)}
    for connections in (1, 8, 64):
        log(f"{name}: wrk -c {connections}")
        results[name][connections] = wrk(text, connections)
status = open(f"/proc/{server.pid}/status").read()
peak_mb = int(re.search(r"VmHWM:\s+([0-9]+) kB", status).group(1)) / 1024
server.terminate()
server.wait(60)
for table in (cli_table, http_table, f"bench_bulk_{RUN}", f"bench_otlp_{RUN}"):
    subprocess.run([kyma, "table", "drop", table], capture_output=True)

# The plot: latency (p50 solid, p99 dashed) against concurrency, one colour per query.
width, height, left, bottom, top = 640, 360, 70, 50, 30
highest = max(results[q][c]["p99"] for q in queries for c in (1, 8, 64))
xs = {1: left + 20, 8: left + (width - left - 40) / 2 + 20, 64: width - 40}
def y(ms): return height - bottom - (height - bottom - top) * ms / highest
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<text x="{width / 2}" y="18" text-anchor="middle">kyma serve: latency vs concurrency ({rows:,} rows, wrk, loopback)</text>',
       f'<line x1="{left}" y1="{height - bottom}" x2="{width - 20}" y2="{height - bottom}" stroke="black"/>',
       f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="black"/>',
       f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">concurrent connections</text>',
       f'<text x="16" y="{height / 2}" transform="rotate(-90 16 {height / 2})" text-anchor="middle">latency (ms)</text>']
for c, x in xs.items():
    svg.append(f'<text x="{x}" y="{height - bottom + 16}" text-anchor="middle">{c}</text>')
for i in range(5):
    ms = highest * i / 4
    svg.append(f'<text x="{left - 6}" y="{y(ms) + 4}" text-anchor="end">{ms:.0f}</text>')
    svg.append(f'<line x1="{left}" y1="{y(ms)}" x2="{width - 20}" y2="{y(ms)}" stroke="#ddd"/>')
colours = {"needle": "#3b7dd8", "aggregation": "#d8703b"}
for query, colour in colours.items():
    for stat, dash in (("p50", ""), ("p99", ' stroke-dasharray="6 4"')):
        points = " ".join(f"{xs[c]},{y(results[query][c][stat])}" for c in (1, 8, 64))
        svg.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
    svg.append(f'<text x="{width - 150}" y="{top + 20 + 18 * list(colours).index(query)}" fill="{colour}">{query} (p50 solid, p99 dashed)</text>')
svg.append("</svg>")
open(os.path.join(reports, "server-latency.svg"), "w").write("\n".join(svg) + "\n")

cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
lines = [
    "# The HTTP server: throughput and latency",
    "",
    f"Command: `harness/bench-server {rows}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); "
    f"{os.cpu_count()} cores ({cpu}); release build; the server, wrk and the catalog share the machine; "
    f"each wrk run lasts {DURATION} s; the server runs with max_concurrent_queries = 128 (the default, 32, answers",
    "429 past 32 queries in flight). Every number below comes from this one run.",
    "",
    "## Queries: HTTP against the same query in process",
    "",
    "In process: `kyma query --batch` answering the query repeatedly in one process (its start-up",
    "measured with a batch of one and subtracted). Over HTTP: `POST /v1/query` (JSON) with wrk.",
    "",
    "| query | in process (QPS) | connections | HTTP QPS | p50 ms | p99 ms | HTTP / in process |",
    "|---|---|---|---|---|---|---|",
]
for name in queries:
    r = results[name]
    for c in (1, 8, 64):
        lines.append(f"| {name} | {r['in_process']:.1f} | {c} | {r[c]['qps']:.1f} | {r[c]['p50']:.2f} | {r[c]['p99']:.2f} | {r[c]['qps'] / r['in_process']:.2f}x |")
lines += [
    "",
    "Target: HTTP at concurrency 1 >= 0.8x the in-process rate: "
    + ", ".join(f"{n} {results[n][1]['qps'] / results[n]['in_process']:.2f}x" for n in queries) + ".",
    "",
    "![latency vs concurrency](server-latency.svg)",
    "",
    "## Ingest",
    "",
    "| path | rows | MB | seconds | MB/s | ratio |",
    "|---|---|---|---|---|---|",
    f"| `kyma ingest` (200,000-line batches) | {rows:,} | {size_mb:.0f} | {cli_seconds:.1f} | {size_mb / cli_seconds:.1f} | 1.00x |",
    f"| `POST /v1/tables/T/ingest` (one body) | {rows:,} | {size_mb:.0f} | {http_seconds:.1f} | {size_mb / http_seconds:.1f} | {cli_seconds / http_seconds:.2f}x |",
    "",
    f"Target: NDJSON over HTTP >= 0.8x `kyma ingest`: {cli_seconds / http_seconds:.2f}x.",
    "",
    f"`_bulk` (10,000 documents a request, back to back with curl): {bulk_rate:,.0f} events/s. "
    f"OTLP/HTTP protobuf (10,000 records a request): {otlp_rate:,.0f} events/s.",
    "",
    f"Peak resident memory of the server (VmHWM) after the runs above, 64 concurrent queries included: {peak_mb:.0f} MB.",
]
open(os.path.join(reports, "server.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
