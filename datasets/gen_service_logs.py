#!/usr/bin/env python3
"""Generates a realistic service-log dataset as JSON lines (deterministic for a seed).

Fields: ts (RFC 3339, ms, increasing), service (Zipf over 24), level, status (HTTP), latency_ms
(log-normal), bytes, trace_id (random 32 hex), user_id (Zipf, missing on ~10% of rows), region,
msg (4-14 words from a Zipf vocabulary of 5,000 words). A few needles are planted and written
to a sidecar JSON file: trace ids of known rows and a rare term that occurs in exactly 3 rows.

  datasets/gen_service_logs.py --rows 10000000 --out svc.jsonl [--needles svc.needles.json]
"""
import argparse, bisect, json, math, random, sys

SERVICES = ["api-gateway", "auth", "billing", "cart", "catalog", "checkout", "search", "inventory", "shipping",
            "payments", "notifications", "recommendations", "reviews", "profile", "sessions", "media", "pricing",
            "ads", "geo", "fraud", "ledger", "export", "import", "scheduler"]
LEVELS = [("INFO", 0.80), ("WARN", 0.12), ("ERROR", 0.06), ("DEBUG", 0.02)]
STATUSES = [(200, 0.86), (201, 0.03), (204, 0.02), (301, 0.01), (400, 0.02), (401, 0.01), (404, 0.03), (500, 0.015), (503, 0.005)]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "ap-northeast-1"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "zen", "pa", "qu", "xe", "do", "fi", "gu", "ha", "jo", "be", "ci", "wy"]
RARE_TERM = "quasarflux"


def cumulative(pairs):
    total, out = 0.0, []
    for _, w in pairs:
        total += w
        out.append(total)
    return out


def zipf_cdf(n, s=1.1):
    weights = [1.0 / (k ** s) for k in range(1, n + 1)]
    total = sum(weights)
    acc, out = 0.0, []
    for w in weights:
        acc += w / total
        out.append(acc)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start", default="2026-11-01T00:00:00")
    ap.add_argument("--days", type=float, default=10.0, help="time span of the data")
    ap.add_argument("--out", default="-")
    ap.add_argument("--needles")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    vocab = []
    seen = set()
    while len(vocab) < 5000:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
        if word not in seen and word != RARE_TERM:
            seen.add(word)
            vocab.append(word)
    word_cdf = zipf_cdf(len(vocab))
    service_cdf = zipf_cdf(len(SERVICES), 0.9)
    user_cdf = zipf_cdf(50000, 1.05)
    level_cdf, status_cdf = cumulative(LEVELS), cumulative(STATUSES)
    y, mo, d = (int(x) for x in args.start[:10].split("-"))
    hh, mm, ss = (int(x) for x in args.start[11:19].split(":"))
    # days since epoch (civil), then ms
    yy = y - (1 if mo <= 2 else 0)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    start_ms = (days * 86400 + hh * 3600 + mm * 60 + ss) * 1000
    span_ms = int(args.days * 86400 * 1000)
    step = span_ms / max(1, args.rows)
    rare_rows = set(rng.sample(range(args.rows), min(3, args.rows)))
    needle_rows = sorted(rng.sample(range(args.rows), min(3, args.rows)))
    needles = {"rare_term": RARE_TERM, "rare_rows": sorted(rare_rows), "trace_ids": [], "start_ms": start_ms, "span_ms": span_ms}
    out = sys.stdout if args.out == "-" else open(args.out, "w")
    write = out.write
    buf = []
    for i in range(args.rows):
        t = start_ms + int(i * step) + rng.randint(0, max(0, int(step) - 1))
        secs, ms = divmod(t, 1000)
        dd, sod = divmod(secs, 86400)
        z = dd + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (1 if month <= 2 else 0)
        ts = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (year, month, day, sod // 3600, sod // 60 % 60, sod % 60, ms)
        service = SERVICES[bisect.bisect_left(service_cdf, rng.random())]
        level = LEVELS[bisect.bisect_left(level_cdf, rng.random() * level_cdf[-1])][0]
        status = STATUSES[bisect.bisect_left(status_cdf, rng.random() * status_cdf[-1])][0]
        latency = round(math.exp(rng.gauss(3.0, 0.9)) * (4 if status >= 500 else 1), 3)
        trace = "%032x" % rng.getrandbits(128)
        words = [vocab[min(len(vocab) - 1, bisect.bisect_left(word_cdf, rng.random()))] for _ in range(rng.randint(4, 14))]
        if i in rare_rows:
            words.insert(rng.randint(0, len(words)), RARE_TERM)
        msg = " ".join(words)
        row = {"ts": ts, "service": service, "level": level, "status": status, "latency_ms": latency,
               "bytes": rng.randint(120, 65000), "trace_id": trace, "region": REGIONS[i % 7 % 6], "msg": msg}
        if rng.random() >= 0.1:
            row["user_id"] = "u%05d" % bisect.bisect_left(user_cdf, rng.random())
        if i in needle_rows:
            needles["trace_ids"].append(trace)
        buf.append(json.dumps(row, separators=(",", ":")))
        if len(buf) >= 10000:
            write("\n".join(buf) + "\n")
            buf = []
            if args.out != "-" and i % 1000000 < 10000:
                print(f"gen_service_logs: {i + 1:,}/{args.rows:,} rows", file=sys.stderr, flush=True)
    if buf:
        write("\n".join(buf) + "\n")
    if out is not sys.stdout:
        out.close()
    if args.needles:
        with open(args.needles, "w") as f:
            json.dump(needles, f, indent=1)


if __name__ == "__main__":
    main()
