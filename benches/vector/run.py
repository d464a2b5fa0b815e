#!/usr/bin/env python3
"""harness/bench-vector's driver: the SIFT 5k set and a generated clustered set, HNSW in Kyma and
in hnswlib with the same M / efConstruction / efSearch, single-threaded, in the same run; writes
reports/vector.md and reports/vector-recall-qps.svg."""
import json, os, subprocess, sys, time
import numpy as np, hnswlib

datasets, work, bench, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
M, EFC, EFS = 16, 200, [10, 20, 40, 80, 160, 320]
os.makedirs(work, exist_ok=True)

def fvecs(p):
    a = np.fromfile(p, dtype="<i4"); d = a[0]; return a.reshape(-1, d + 1)[:, 1:].view("<f4")
def ivecs(p):
    a = np.fromfile(p, dtype="<i4"); d = a[0]; return a.reshape(-1, d + 1)[:, 1:]
def write_vecs(p, x, dtype):
    x = np.asarray(x, dtype=dtype); n, d = x.shape
    np.hstack([np.full((n, 1), d, dtype="<i4"), x.view("<i4")]).tofile(p)

sets = []
sift = os.path.join(datasets, "ann/sift5k-ngt")
sets.append(("sift5k (real SIFT, NGT)", os.path.join(sift, "sift5k_base.fvecs"), os.path.join(sift, "siftsmall_query.fvecs"),
             os.path.join(sift, "siftsmall_query_groundtruth_top100.ivecs")))
# Generated: 100,000 x 64 vectors around 200 Gaussian clusters; exact ground truth by brute force.
rng = np.random.default_rng(7)
n, d, clusters = 100_000, 64, 200
centres = rng.normal(size=(clusters, d)).astype("f4") * 4
base = centres[rng.integers(0, clusters, n)] + rng.normal(size=(n, d)).astype("f4")
queries = centres[rng.integers(0, clusters, 200)] + rng.normal(size=(200, d)).astype("f4")
norms = (base ** 2).sum(1)
gt = np.argsort(((queries ** 2).sum(1)[:, None] - 2 * queries @ base.T + norms[None, :]), axis=1)[:, :10]
paths = [os.path.join(work, f) for f in ("gen_base.fvecs", "gen_query.fvecs", "gen_gt.ivecs")]
write_vecs(paths[0], base, "<f4"); write_vecs(paths[1], queries, "<f4"); write_vecs(paths[2], gt, "<i4")
sets.append(("clustered 100k x 64 (generated)", *paths))

results = []
for name, bp, qp, gp in sets:
    b, q, g = fvecs(bp), fvecs(qp), ivecs(gp)
    index = hnswlib.Index(space="l2", dim=b.shape[1]); index.init_index(max_elements=len(b), ef_construction=EFC, M=M, random_seed=42)
    index.set_num_threads(1)
    t = time.perf_counter(); index.add_items(b, np.arange(len(b)), num_threads=1); build = time.perf_counter() - t
    for ef in EFS:
        index.set_ef(ef)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            labels = [index.knn_query(q[i:i + 1], k=10, num_threads=1)[0][0] for i in range(len(q))]
            best = min(best, time.perf_counter() - t)
        recall = np.mean([len(set(labels[i]) & set(g[i][:10])) / 10 for i in range(len(q))])
        results.append({"set": name, "engine": "hnswlib", "ef": ef, "recall": float(recall), "qps": len(q) / best, "build_seconds": build})
    proc = subprocess.run([bench, bp, qp, gp, str(M), str(EFC), ",".join(map(str, EFS))], capture_output=True, text=True, check=True)
    for line in proc.stdout.splitlines():
        r = json.loads(line); r["set"] = name; results.append(r)
    print(f"measured {name}", file=sys.stderr)

with open(os.path.join(out, "vector.md"), "w") as f:
    f.write("# HNSW: Kyma vs hnswlib, recall@10 and single-thread QPS\n\n")
    f.write(f"Measured {time.strftime('%Y-%m-%d')} by `harness/bench-vector` (both engines single-threaded, same vectors, M={M}, "
            f"efConstruction={EFC}, one query at a time through each engine's API, best of 3 passes; ground truth by exact search).\n\n")
    f.write("![recall vs QPS](vector-recall-qps.svg)\n\n")
    for name, *_ in sets:
        rows = [r for r in results if r["set"] == name]
        kb = next(r["build_seconds"] for r in rows if r["engine"] == "kyma")
        hb = next(r["build_seconds"] for r in rows if r["engine"] == "hnswlib")
        f.write(f"## {name}\n\nBuild: Kyma {kb:.2f} s, hnswlib {hb:.2f} s ({kb / hb:.2f}x).\n\n")
        f.write("| efSearch | Kyma recall@10 | hnswlib recall@10 | Kyma QPS | hnswlib QPS | QPS ratio |\n|---:|---:|---:|---:|---:|---:|\n")
        for ef in EFS:
            k = next(r for r in rows if r["engine"] == "kyma" and r["ef"] == ef)
            h = next(r for r in rows if r["engine"] == "hnswlib" and r["ef"] == ef)
            f.write(f"| {ef} | {k['recall']:.3f} | {h['recall']:.3f} | {k['qps']:.0f} | {h['qps']:.0f} | {k['qps'] / h['qps']:.2f} |\n")
        f.write("\n")

# SVG: recall (x) vs QPS (y, log scale), one line per engine and set.
W, H, P = 720, 440, 60
qps = [r["qps"] for r in results]; lo, hi = np.log10(min(qps)) - 0.1, np.log10(max(qps)) + 0.1
x = lambda r: P + (r - 0.4) / 0.6 * (W - 2 * P)
y = lambda v: H - P - (np.log10(v) - lo) / (hi - lo) * (H - 2 * P)
colours = {"kyma": "#d62728", "hnswlib": "#1f77b4"}
dashes = {sets[0][0]: "", sets[1][0]: "6,4"}
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{P}" y1="{H - P}" x2="{W - P}" y2="{H - P}" stroke="black"/><line x1="{P}" y1="{P}" x2="{P}" y2="{H - P}" stroke="black"/>',
       f'<text x="{W / 2}" y="{H - 20}" text-anchor="middle">recall@10</text>',
       f'<text x="18" y="{H / 2}" transform="rotate(-90 18 {H / 2})" text-anchor="middle">queries per second (log)</text>']
for t in [0.4, 0.6, 0.8, 1.0]:
    svg.append(f'<text x="{x(t)}" y="{H - P + 16}" text-anchor="middle">{t:.1f}</text>')
for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1):
    if lo <= e <= hi: svg.append(f'<text x="{P - 6}" y="{y(10 ** e) + 4}" text-anchor="end">1e{e}</text>')
legend = 0
for name, *_ in sets:
    for engine in ("kyma", "hnswlib"):
        pts = sorted((r["recall"], r["qps"]) for r in results if r["set"] == name and r["engine"] == engine)
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in pts)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{colours[engine]}" stroke-width="2" stroke-dasharray="{dashes[name]}"/>')
        for a, b in pts: svg.append(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colours[engine]}"/>')
        svg.append(f'<line x1="{W - 250}" y1="{P + 16 * legend}" x2="{W - 220}" y2="{P + 16 * legend}" stroke="{colours[engine]}" stroke-width="2" stroke-dasharray="{dashes[name]}"/>')
        svg.append(f'<text x="{W - 214}" y="{P + 16 * legend + 4}">{engine}, {name}</text>')
        legend += 1
svg.append("</svg>")
open(os.path.join(out, "vector-recall-qps.svg"), "w").write("\n".join(svg))
