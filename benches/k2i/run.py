#!/usr/bin/env python3
"""k2i throughput, freshness, commit latency and memory, against the raw consume rate of a
librdkafka consumer that does nothing, measured in the same run (benches/k2i/run.py BIN_DIR).

librdkafka's mock cluster keeps about 5 MB per partition, so each round is a backlog of 64,000
1 KB JSON events (64 MB over 16 partitions) that the raw consumer and then k2i drain; five rounds.
K2I_BENCH_PERF=1 records k2i's profile of the last round with `perf record -g` (STATE/perf.data).
k2i's rate is end to end: from its first consumed record to the last one committed to Iceberg
(Parquet files + snapshot in the SQL catalog on PostgreSQL).
"""
import json, os, resource, signal, statistics, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(sys.argv[1])
ROUNDS, PARTITIONS = int(os.environ.get("K2I_BENCH_ROUNDS", "5")), int(os.environ.get("K2I_BENCH_PARTITIONS", "16"))
EVENTS = PARTITIONS * 4000
STATE = os.path.join(ROOT, ".kyma", "bench-k2i")
os.makedirs(STATE, exist_ok=True)
ENV = dict(l[len("export "):].strip().split("=", 1) for l in open(os.path.join(ROOT, ".kyma", "services.env")) if l.startswith("export "))
CATALOG = ENV["KYMA_CATALOG"].strip("'")
PORT, HEALTH = 29092, 28080


def log(m):
    print(m, file=sys.stderr, flush=True)


kafka = subprocess.Popen([f"{BIN}/kyma", "dev", "kafka", "--port", str(PORT), "--partitions", str(PARTITIONS), "--topic", "fresh"] +
                         sum([["--topic", f"bench{r}"] for r in range(ROUNDS)], []), stdout=subprocess.PIPE, text=True)
kafka.stdout.readline()
from confluent_kafka import Producer  # noqa: E402

BOOT = f"127.0.0.1:{PORT}"


def event(i, key=None):
    body = {"id": key or f"e{i}", "ts": "2026-11-22T10:%02d:%02dZ" % ((i // 60) % 60, i % 60), "service": ["api", "auth", "billing"][i % 3],
            "level": ["info", "warn", "error"][i % 3], "latency_ms": (i % 997) / 7, "status": 200 + (i % 5), "msg": ""}
    body["msg"] = "x" * (1000 - len(json.dumps(body)))
    return json.dumps(body).encode()


def produce(topic, n):
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 5})
    for i in range(n):
        while True:
            try:
                p.produce(topic, key=f"e{i}".encode(), value=event(i))
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def get(path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{HEALTH}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except Exception:
        return 0, ""


def config(topic, name):
    path = os.path.join(STATE, f"{name}.toml")
    open(path, "w").write(f"""
[kafka]
bootstrap_servers = "{BOOT}"
topic = "{topic}"
consumer_group = "bench-{name}"
batch_timeout_ms = 100
[kafka.format]
key_field = "id"
timestamp_field = "ts"
[kafka.format.schema]
id = "string"
ts = "timestamptz"
service = "string"
level = "string"
latency_ms = "double"
status = "long"
msg = "string"
[iceberg]
warehouse_path = "{STATE}/warehouse"
database_name = "bench_{os.getpid()}"
table_name = "{name}"
[iceberg.sql_catalog]
url = "{CATALOG}"
[buffer]
flush_interval_seconds = 30
[transaction_log]
log_dir = "{STATE}/txlog-{name}"
[maintenance]
compaction_enabled = false
snapshot_expiration_enabled = false
orphan_cleanup_enabled = false
[monitoring]
health_port = {HEALTH}
metrics_port = 0
log_level = "warn"
""")
    return path


raw, k2i, buffered, commit_means, rss = [], [], [], [], 0
raw_cpu, k2i_cpu = [], []


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

try:
    for r in range(ROUNDS):
        topic = f"bench{r}"
        log(f"round {r + 1}/{ROUNDS}: producing {EVENTS} events")
        produce(topic, EVENTS)
        cpu = children_cpu()
        out = subprocess.run([f"{BIN}/KafkaBench", "consume", BOOT, topic, str(EVENTS)], capture_output=True, text=True, check=True)
        raw.append(json.loads(out.stdout))
        raw_cpu.append(children_cpu() - cpu)
        cpu = children_cpu()
        perf = ["perf", "record", "-F", "2000", "-g", "-o", os.path.join(STATE, "perf.data"), "--"] if os.environ.get("K2I_BENCH_PERF") and r == ROUNDS - 1 else []
        proc = subprocess.Popen(perf + [f"{BIN}/k2i", "ingest", "-c", config(topic, f"r{r}")], stdout=subprocess.DEVNULL, stderr=open(os.path.join(STATE, f"r{r}.log"), "w"))
        first = None
        deadline = time.time() + 120
        while time.time() < deadline:
            status, text = get("/metrics")
            consumed, committed = metric(text, "k2i_messages_consumed_total"), metric(text, "k2i_rows_committed_total")
            rss = max(rss, metric(text, "k2i_process_resident_bytes"))
            if consumed > 0 and first is None:
                first = time.time()
            if consumed >= EVENTS and len(buffered) == len(k2i):
                buffered.append(EVENTS / (time.time() - first))
                # Everything is consumed: stop, so the rows short of a full flush commit now
                # (the drain) instead of at the next flush interval.
                # (Under perf, the signal goes to k2i itself, perf's child.)
                children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split() if perf else []
                os.kill(int(children[0]) if children else proc.pid, signal.SIGTERM)
            if committed >= EVENTS:
                k2i.append(EVENTS / (time.time() - first))
                count, total = metric(text, "k2i_commit_latency_seconds_count"), metric(text, "k2i_commit_latency_seconds_sum")
                commit_means.append(total / max(count, 1))
                break
            if proc.poll() is not None:
                # It drained and exited between two looks (exit 0 means everything committed):
                # its exit time bounds the commit from above.
                assert proc.returncode == 0, f"k2i exited with {proc.returncode}"
                k2i.append(EVENTS / (time.time() - first))
                break
            time.sleep(0.002 if len(buffered) > len(k2i) else 0.01)
        proc.wait(60)
        k2i_cpu.append(children_cpu() - cpu)
        log(f"  raw {raw[-1]['records_per_s']:.0f}/s, k2i {k2i[-1] if k2i else 0:.0f}/s; CPU s: raw {raw_cpu[-1]:.2f}, k2i {k2i_cpu[-1]:.2f}")

    # Freshness: produce one event, poll /lookup until it is there.
    proc = subprocess.Popen([f"{BIN}/k2i", "ingest", "-c", config("fresh", "fresh")], stdout=subprocess.DEVNULL, stderr=open(os.path.join(STATE, "fresh.log"), "w"))
    while get("/readyz")[0] != 200:
        time.sleep(0.1)
    p = Producer({"bootstrap.servers": BOOT, "linger.ms": 0})
    latencies = []
    for i in range(200):
        key = f"f{i}"
        t0 = time.time()
        p.produce("fresh", key=key.encode(), value=event(i, key))
        p.flush(5)
        while get(f"/lookup?key={key}")[0] != 200 and time.time() - t0 < 5:
            time.sleep(0.002)
        latencies.append(time.time() - t0)
    _, text = get("/metrics")
    rss = max(rss, metric(text, "k2i_process_resident_bytes"))
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
finally:
    kafka.send_signal(signal.SIGINT)
    kafka.wait(10)

raw_rate = statistics.median(x["records_per_s"] for x in raw)
k2i_rate = statistics.median(k2i)
latencies.sort()
p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
print("# k2i: throughput, freshness, commit latency, memory\n")
print(f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} by `harness/bench-k2i` (benches/k2i/run.py, release build), on this machine (2 cores,")
print("shared). Kafka is librdkafka's mock cluster (`kyma dev kafka`), the catalog the dev PostgreSQL, the warehouse the local")
print(f"file system. Each of {ROUNDS} rounds is a backlog of {EVENTS:,} JSON events of 1,000 bytes in {PARTITIONS} partitions (the mock keeps")
print("about 5 MB per partition, so a round cannot be larger); the baseline is measured in the same round on the same backlog:")
print("`KafkaBench consume`, a librdkafka consumer through KymaKafka that does nothing with the records. k2i's rate is end to")
print("end: from its first consumed record to the last one in the hot buffer (queryable), and to the last one committed to Iceberg")
print("(Parquet + snapshot; flushes of 10,000 rows, the default; once all are consumed k2i gets SIGTERM, so the rest commits")
print("in its drain rather than at the next flush interval). Medians over the rounds. The raw consumer reads records librdkafka already")
print("prefetched into memory and does nothing with them; k2i parses every 1 KB JSON record into typed columns.\n")
print("| measure | value |")
print("|---|---|")
print(f"| raw consume rate (baseline) | {raw_rate:,.0f} events/s, {raw_rate * 1000 / 1e6:.1f} MB/s |")
buffered_rate = statistics.median(buffered)
print(f"| k2i consumed into the hot buffer (queryable) | {buffered_rate:,.0f} events/s, {buffered_rate * 1000 / 1e6:.1f} MB/s |")
print(f"| k2i consumed and committed to Iceberg | {k2i_rate:,.0f} events/s, {k2i_rate * 1000 / 1e6:.1f} MB/s |")
print(f"| k2i / raw | {buffered_rate / raw_rate:.1%} buffered, {k2i_rate / raw_rate:.1%} committed (target: at least 50%: {'met' if k2i_rate >= raw_rate / 2 else 'not met'}) |")
print(f"| produce-to-queryable latency (hot buffer, `/lookup`), 200 events | p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (target: p99 under 1 s) |")
print(f"| commit latency (mean over flushes of 10,000 rows, 10 MB of JSON) | {statistics.median(commit_means) * 1000:.0f} ms |")
print(f"| peak resident memory of `k2i ingest` | {rss / 1e6:.0f} MB |")
print()
if os.environ.get("K2I_BENCH_PERF"):
    # Where k2i's time goes: perf's inclusive share of each part, over the last round's samples.
    data = os.path.join(STATE, "perf.data")
    report = subprocess.run(["perf", "report", "-i", data, "--children", "-g", "none", "--sort", "symbol", "--stdio"],
                            capture_output=True, text=True).stdout
    comms = subprocess.run(["perf", "report", "-i", data, "--no-children", "-g", "none", "--sort", "comm", "--stdio"],
                           capture_output=True, text=True).stdout
    def share(*needles):
        best = 0.0
        for line in report.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[0].endswith("%") and any(n in line for n in needles):
                best = max(best, float(parts[0].rstrip("%")))
        return best
    librdkafka = sum(float(l.split()[0].rstrip("%")) for l in comms.splitlines() if "rdk:" in l and l.split() and l.split()[0].endswith("%"))
    print("Where k2i's time goes in the last round (`K2I_BENCH_PERF=1 harness/bench-k2i`, `perf report --children` over")
    print(f"{data}; a part's share includes what it calls; parts overlap where one calls another):\n")
    print("| part | share of k2i's CPU samples |")
    print("|---|---|")
    for name, needles in [("decoding JSON into columns (all cores)", ["RecordDecoderV6decode"]),
                          ("the transaction log", ["TransactionLogC6append"]),
                          ("the hot buffer's appends", ["HotBufferC6append"]),
                          ("Parquet data files (committing queue)", ["TablesV14writeDataFiles"]),
                          ("the catalog commit (committing queue)", ["TablesV6commit"]),
                          ("page faults", ["exc_page_fault"]),
                          ("the HTTP listener (the benchmark's metric scrapes)", ["HTTPListenerC5start"])]:
        print(f"| {name} | {share(*needles):.1f}% |")
    print(f"| librdkafka's threads | {librdkafka:.1f}% |")
    print()
else:
    print("`K2I_BENCH_PERF=1 harness/bench-k2i` adds where k2i's time goes (perf over the last round).\n")
print("""The freshness p50 of ~100 ms matches `fetch.wait.max.ms` = 100 ms: the mock broker seems to hold an idle fetch for
the full wait (a real broker answers as soon as a record arrives).
""")
print("Per round (raw events/s, k2i events/s): " + ", ".join(f"{x['records_per_s']:,.0f} / {y:,.0f}" for x, y in zip(raw, k2i)) + ".")
