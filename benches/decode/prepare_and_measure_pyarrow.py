#!/usr/bin/env python3
"""Prepares the decode benchmark's inputs and measures pyarrow on them, single-threaded.

For each Loghub structured CSV (../shared/datasets/loghub) and a generated numeric table, writes
  OUT/<name>.parquet   pyarrow, zstd (its defaults otherwise: dictionary encoding on)
  OUT/<name>.kcols     the same columns for the Swift side: a simple length-prefixed dump
and prints one JSON line per dataset: rows, parquet bytes, pyarrow read seconds (best of N,
use_threads=False), decoded bytes (table.nbytes).
"""
import json, os, struct, sys, time
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq

root, out = sys.argv[1], sys.argv[2]
runs = int(os.environ.get("RUNS", "7"))
os.makedirs(out, exist_ok=True)


def write_kcols(table, path):
    with open(path, "wb") as f:
        f.write(struct.pack("<II", table.num_columns, table.num_rows))
        for name, column in zip(table.column_names, table.columns):
            data = column.combine_chunks()
            encoded = name.encode()
            f.write(struct.pack("<I", len(encoded)) + encoded)
            if pa.types.is_integer(data.type) or pa.types.is_timestamp(data.type):
                values = data.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
                f.write(b"\x00" + values.astype("<i8").tobytes())
            else:
                f.write(b"\x01")
                for value in data.cast(pa.string()).to_pylist():
                    raw = (value or "").encode()
                    f.write(struct.pack("<I", len(raw)) + raw)


def tables():
    loghub = os.path.join(root, "loghub")
    for system in sorted(os.listdir(loghub)):
        path = os.path.join(loghub, system, f"{system}_2k.log_structured.csv")
        if os.path.exists(path):
            convert = pacsv.ConvertOptions(column_types={"LineId": pa.int64()}, strings_can_be_null=False)
            table = pacsv.read_csv(path, convert_options=convert)
            table = table.cast(pa.schema([pa.field(f.name, pa.int64() if f.name == "LineId" else pa.string()) for f in table.schema]))
            yield f"loghub-{system}", table
    # A generated numeric table: timestamps (delta), status codes (dictionary), latencies (FOR).
    import random
    rng = random.Random(42)
    n = 1_000_000
    t, times = 1_700_000_000_000_000_000, []
    for _ in range(n):
        t += rng.randrange(100_000, 2_000_000)
        times.append(t)
    statuses = [rng.choice([200, 200, 200, 200, 201, 204, 301, 404, 500, 503]) for _ in range(n)]
    latencies = [rng.randrange(0, 100_000) for _ in range(n)]
    yield "generated-numeric", pa.table({"ts": pa.array(times, pa.int64()), "status": pa.array(statuses, pa.int64()),
                                         "latency_us": pa.array(latencies, pa.int64())})


for name, table in tables():
    parquet = os.path.join(out, name + ".parquet")
    pq.write_table(table, parquet, compression="zstd")
    write_kcols(table, os.path.join(out, name + ".kcols"))
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        read = pq.read_table(parquet, use_threads=False)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({"name": name, "rows": table.num_rows, "columns": table.num_columns,
                      "parquet_bytes": os.path.getsize(parquet), "pyarrow_seconds": best, "decoded_bytes": read.nbytes}), flush=True)
