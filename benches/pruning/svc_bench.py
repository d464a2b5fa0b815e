"""The rows and queries the pruning and executor benchmarks share: service-log rows
(datasets/gen_service_logs.py) ingested into a Kyma table and written as Parquet by DuckDB, and
the query set, each as KQL for Kyma and as SQL over a relation `svc` for the peers, built from the
generator's needle file (planted trace ids, the rare term, the time span).
"""
import json, os, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} failed: {result.stderr[-2000:]}")
    return result.stdout


def table_bytes(kyma, table):
    for line in run([kyma, "table", "list"]).splitlines():
        if line.split()[:1] == [table]:
            return int(line.split("bytes=")[1].split()[0])
    return 0


def prepare(kyma, rows, work, log):
    """Generates the rows once, ingests them into table bench_svc_ROWS and writes DuckDB's default
    Parquet of them (each step skipped when its output exists). Returns (jsonl, needles, table, parquet)."""
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, f"svc-{rows}.jsonl")
    needles_path = os.path.join(work, f"svc-{rows}.needles.json")
    table = f"bench_svc_{rows}"
    if not os.path.exists(needles_path):
        log(f"generating {rows:,} rows")
        run([sys.executable, os.path.join(ROOT, "datasets/gen_service_logs.py"), "--rows", str(rows), "--days", "10",
             "--out", data, "--needles", needles_path])
    needles = json.load(open(needles_path))
    tables = run([kyma, "table", "list"])
    if not any(line.split()[:1] == [table] and f"rows={rows}" in line for line in tables.splitlines()):
        subprocess.run([kyma, "table", "drop", table], capture_output=True)
        run([kyma, "table", "create", table, "--time-column", "ts"])
        log(f"ingesting into Kyma table {table} (1M-line batches)")
        started = time.time()
        subprocess.run([kyma, "ingest", "--table", table, "--time-field", "ts", "--lines-per-batch", "1000000", data], check=True)
        log(f"ingested in {time.time() - started:.0f} s")
    parquet = os.path.join(work, f"svc-{rows}.parquet")
    if not os.path.exists(parquet):
        import duckdb
        log("writing Parquet for DuckDB (its defaults: zstd, row groups of 122,880)")
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMP) AS ts) FROM read_json_auto('{data}', timestampformat='%Y-%m-%dT%H:%M:%S.%gZ')) "
                    f"TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)")
        con.close()
    return data, needles, table, parquet


def queries(table, needles):
    start_ms = needles["start_ms"]

    def at(ms_offset):
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((start_ms + ms_offset) / 1000))

    needle = needles["trace_ids"][0]
    rare = needles["rare_term"]
    t_slice, t_hour = at(int(needles["span_ms"] * 0.5)), at(int(needles["span_ms"] * 0.3))
    t_slice_end = at(int(needles["span_ms"] * 0.5) + 10 * 60 * 1000)
    t_hour_end = at(int(needles["span_ms"] * 0.3) + 3600 * 1000)
    return [
        ("needle (trace id)", f'{table} | where trace_id == "{needle}" | project ts, service, latency_ms',
         f"SELECT ts, service, latency_ms FROM svc WHERE trace_id = '{needle}'"),
        ("rare term (has)", f'{table} | where msg has "{rare}" | project ts, trace_id',
         f"SELECT ts, trace_id FROM svc WHERE regexp_matches(msg, '(?i)(^|[^a-z0-9]){rare}([^a-z0-9]|$)')"),
        ("time slice (10 min)", f"{table} | where ts between (datetime({t_slice}) .. datetime({t_slice_end})) | count",
         f"SELECT count(*) FROM svc WHERE ts BETWEEN TIMESTAMP '{t_slice}' AND TIMESTAMP '{t_slice_end}'"),
        ("range predicate", f"{table} | where latency_ms > 3000 | count",
         "SELECT count(*) FROM svc WHERE latency_ms > 3000"),
        ("grouped aggregation over an hour",
         f"{table} | where ts between (datetime({t_hour}) .. datetime({t_hour_end})) | summarize n = count(), lat = avg(latency_ms) by service",
         f"SELECT service, count(*), avg(latency_ms) FROM svc WHERE ts BETWEEN TIMESTAMP '{t_hour}' AND TIMESTAMP '{t_hour_end}' GROUP BY service"),
        ("top-N", f"{table} | top 10 by latency_ms desc | project trace_id, latency_ms",
         "SELECT trace_id, latency_ms FROM svc ORDER BY latency_ms DESC LIMIT 10"),
        ("latest rows (time-ordered top-N)", f"{table} | top 20 by ts desc | project ts, service",
         "SELECT ts, service FROM svc ORDER BY ts DESC LIMIT 20"),
        ("full-scan count by level", f"{table} | summarize count() by level",
         "SELECT level, count(*) FROM svc GROUP BY level"),
        ("full-scan avg by service", f"{table} | summarize avg(latency_ms) by service",
         "SELECT service, avg(latency_ms) FROM svc GROUP BY service"),
    ]
