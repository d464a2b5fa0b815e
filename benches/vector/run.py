#!/usr/bin/env python3
"""harness/bench-vector's driver: HNSW in Kyma (float32, and int8 codes with exact re-ranking),
hnswlib, faiss (IndexHNSWFlat) and usearch, all single-threaded with the same M, efConstruction
and efSearch, on the same vectors in the same run:
  - sift5k: the real SIFT vectors of ../shared/datasets (5,000 x 128, 100 queries);
  - sift-like 100k: 100,000 x 128 made from those vectors by jitter (each real vector plus
    Gaussian noise of sigma 8, clipped at 0: SIFT's value range and shape, 20 variants each),
    200 of the siftsmall queries' jittered copies as queries, exact ground truth;
  - clustered 100k x 64: Gaussian clusters.
Python peers answer all queries in one call (no per-call interpreter cost counted); Kyma answers
one query at a time through its API. Writes reports/vector.md and reports/vector-recall-qps.svg.
"""
import json, math, os, subprocess, sys, tempfile, time
import numpy as np, hnswlib, faiss
from usearch.index import Index as USearchIndex

datasets, work, bench, out = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
M, EFC, EFS = 16, 200, [10, 20, 40, 80, 160, 320]
RECALLS = [0.90, 0.95, 0.99]
os.makedirs(work, exist_ok=True)
faiss.omp_set_num_threads(1)


def fvecs(p):
    a = np.fromfile(p, dtype="<i4"); d = a[0]; return a.reshape(-1, d + 1)[:, 1:].view("<f4")
def ivecs(p):
    a = np.fromfile(p, dtype="<i4"); d = a[0]; return a.reshape(-1, d + 1)[:, 1:]
def write_vecs(p, x, dtype):
    x = np.asarray(x, dtype=dtype); n, d = x.shape
    np.hstack([np.full((n, 1), d, dtype="<i4"), x.view("<i4")]).tofile(p)
def exact(base, queries, k=10):
    norms = (base.astype("f8") ** 2).sum(1)
    out = []
    for i in range(0, len(queries), 50):
        q = queries[i:i + 50].astype("f8")
        out.append(np.argsort((q ** 2).sum(1)[:, None] - 2 * q @ base.T.astype("f8") + norms[None, :], axis=1)[:, :k])
    return np.vstack(out)


sets = []
sift = os.path.join(datasets, "ann/sift5k-ngt")
sets.append(("sift5k (real SIFT, NGT)", os.path.join(sift, "sift5k_base.fvecs"), os.path.join(sift, "siftsmall_query.fvecs"),
             os.path.join(sift, "siftsmall_query_groundtruth_top100.ivecs")))
rng = np.random.default_rng(7)
real, real_q = fvecs(sets[0][1]), fvecs(sets[0][2])
like = np.clip(np.repeat(real, 20, axis=0) + rng.normal(0, 8, size=(len(real) * 20, 128)), 0, None).astype("f4")
like_q = np.clip(np.repeat(real_q, 2, axis=0) + rng.normal(0, 8, size=(len(real_q) * 2, 128)), 0, None).astype("f4")
paths = [os.path.join(work, f) for f in ("like_base.fvecs", "like_query.fvecs", "like_gt.ivecs")]
write_vecs(paths[0], like, "<f4"); write_vecs(paths[1], like_q, "<f4"); write_vecs(paths[2], exact(like, like_q), "<i4")
sets.append(("SIFT-like 100k x 128 (jittered SIFT)", *paths))
n, d, clusters = 100_000, 64, 200
centres = rng.normal(size=(clusters, d)).astype("f4") * 4
base = centres[rng.integers(0, clusters, n)] + rng.normal(size=(n, d)).astype("f4")
queries = centres[rng.integers(0, clusters, 200)] + rng.normal(size=(200, d)).astype("f4")
paths = [os.path.join(work, f) for f in ("gen_base.fvecs", "gen_query.fvecs", "gen_gt.ivecs")]
write_vecs(paths[0], base, "<f4"); write_vecs(paths[1], queries, "<f4"); write_vecs(paths[2], exact(base, queries), "<i4")
sets.append(("clustered 100k x 64 (generated)", *paths))


def timed(search, q):
    best = float("inf")
    labels = None
    for _ in range(3):
        t = time.perf_counter(); labels = search(q); best = min(best, time.perf_counter() - t)
    return labels, len(q) / best


def recall(labels, g):
    return float(np.mean([len(set(map(int, labels[i])) & set(map(int, g[i][:10]))) / 10 for i in range(len(g))]))


results = []
for name, bp, qp, gp in sets:
    b, q, g = fvecs(bp), fvecs(qp), ivecs(gp)
    dim = b.shape[1]
    # hnswlib
    index = hnswlib.Index(space="l2", dim=dim); index.init_index(max_elements=len(b), ef_construction=EFC, M=M, random_seed=42)
    index.set_num_threads(1)
    t = time.perf_counter(); index.add_items(b, np.arange(len(b)), num_threads=1); build = time.perf_counter() - t
    saved = os.path.join(work, "hnswlib.bin"); index.save_index(saved); size = os.path.getsize(saved) / len(b)
    for ef in EFS:
        index.set_ef(ef)
        labels, qps = timed(lambda x: index.knn_query(x, k=10, num_threads=1)[0], q)
        results.append({"set": name, "engine": "hnswlib", "ef": ef, "recall": recall(labels, g), "qps": qps, "build_seconds": build, "bytes_per_vector": size})
    # faiss
    fi = faiss.IndexHNSWFlat(dim, M); fi.hnsw.efConstruction = EFC
    t = time.perf_counter(); fi.add(b); build = time.perf_counter() - t
    size = len(faiss.serialize_index(fi)) / len(b)
    for ef in EFS:
        fi.hnsw.efSearch = ef
        labels, qps = timed(lambda x: fi.search(x, 10)[1], q)
        results.append({"set": name, "engine": "faiss", "ef": ef, "recall": recall(labels, g), "qps": qps, "build_seconds": build, "bytes_per_vector": size})
    # usearch
    ui = USearchIndex(ndim=dim, metric="l2sq", connectivity=M, expansion_add=EFC, dtype="f32")
    t = time.perf_counter(); ui.add(np.arange(len(b)), b, threads=1); build = time.perf_counter() - t
    size = ui.memory_usage / len(b)
    for ef in EFS:
        ui.expansion_search = ef
        labels, qps = timed(lambda x: ui.search(x, 10, threads=1).keys, q)
        results.append({"set": name, "engine": "usearch", "ef": ef, "recall": recall(labels, g), "qps": qps, "build_seconds": build, "bytes_per_vector": size})
    # Kyma, float32 and int8
    for quantization in ("none", "int8"):
        proc = subprocess.run([bench, bp, qp, gp, str(M), str(EFC), ",".join(map(str, EFS)), quantization], capture_output=True, text=True, check=True)
        for line in proc.stdout.splitlines():
            r = json.loads(line); r["set"] = name; results.append(r)
    print(f"measured {name}", file=sys.stderr, flush=True)

ENGINES = ["kyma", "kyma-int8", "hnswlib", "faiss", "usearch"]


def qps_at(rows, target):
    """QPS at a recall, interpolated (log-linear) between the efs around it; None when no ef reaches it."""
    pts = sorted((r["recall"], r["qps"]) for r in rows)
    for (r0, q0), (r1, q1) in zip(pts, pts[1:]):
        if r0 <= target <= r1 and r1 > r0:
            return math.exp(math.log(q0) + (target - r0) / (r1 - r0) * (math.log(q1) - math.log(q0)))
    for r, q in pts:
        if abs(r - target) < 1e-9:
            return q
    if pts and pts[0][0] >= target:
        return pts[0][1]  # even the smallest ef reaches it
    return None


with open(os.path.join(out, "vector.md"), "w") as f:
    f.write("# HNSW: Kyma against hnswlib, faiss and usearch\n\n")
    f.write(f"Command: `harness/bench-vector` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores). Every engine "
            f"single-threaded, same vectors, M={M}, efConstruction={EFC}; QPS is the best of 3 passes over the queries; ground truth by exact search "
            "in float64. The Python peers answer all queries in one call (their interpreter cost is not counted); Kyma answers one query per call "
            "through its API. `kyma-int8` walks the graph on int8 codes and re-ranks the candidates by exact distance.\n\n")
    f.write("![recall vs QPS](vector-recall-qps.svg)\n\n")
    for name, *_ in sets:
        rows = [r for r in results if r["set"] == name]
        by = {e: [r for r in rows if r["engine"] == e] for e in ENGINES}
        f.write(f"## {name}\n\n")
        f.write("| engine | build s | build vs hnswlib | bytes per vector | " + " | ".join(f"QPS @ recall {t:.2f}" for t in RECALLS) + " |\n")
        f.write("|---|---:|---:|---:|" + "---:|" * len(RECALLS) + "\n")
        hb = by["hnswlib"][0]["build_seconds"]
        for e in ENGINES:
            if not by[e]:
                continue
            cells = []
            for t in RECALLS:
                q, hq = qps_at(by[e], t), qps_at(by["hnswlib"], t)
                cells.append("not reached" if q is None else f"{q:,.0f}" + (f" ({q / hq:.2f}x)" if hq else ""))
            f.write(f"| {e} | {by[e][0]['build_seconds']:.2f} | {by[e][0]['build_seconds'] / hb:.2f}x | {by[e][0]['bytes_per_vector']:.0f} | " + " | ".join(cells) + " |\n")
        f.write("\n| efSearch | " + " | ".join(f"{e} recall / QPS" for e in ENGINES) + " |\n|---:|" + "---|" * len(ENGINES) + "\n")
        for ef in EFS:
            cells = []
            for e in ENGINES:
                r = next((x for x in by[e] if x["ef"] == ef), None)
                cells.append(f"{r['recall']:.3f} / {r['qps']:,.0f}" if r else "")
            f.write(f"| {ef} | " + " | ".join(cells) + " |\n")
        f.write("\n")
    f.write("Bytes per vector: Kyma's index in memory (vectors, int8 codes, links, levels) divided by the vectors; hnswlib's saved index, "
            "faiss's serialized index and usearch's `memory_usage`, each divided by the vectors. `kyma-int8` keeps the float32 vectors for "
            "re-ranking and building beside the codes, so it holds more memory than `kyma`; what its graph walk reads per node is the codes "
            "(one byte per dimension) and the links, a quarter of the vector bytes.\n")

# SVG: recall (x) vs QPS (y, log scale), one line per engine and set.
W, H, P = 760, 480, 60
qps = [r["qps"] for r in results]; lo, hi = np.log10(min(qps)) - 0.1, np.log10(max(qps)) + 0.1
x = lambda r: P + (r - 0.4) / 0.6 * (W - 2 * P - 200)
y = lambda v: H - P - (np.log10(v) - lo) / (hi - lo) * (H - 2 * P)
colours = {"kyma": "#d62728", "kyma-int8": "#ff9896", "hnswlib": "#1f77b4", "faiss": "#2ca02c", "usearch": "#9467bd"}
dashes = {sets[0][0]: "", sets[1][0]: "6,4", sets[2][0]: "2,3"}
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<line x1="{P}" y1="{H - P}" x2="{W - P - 200}" y2="{H - P}" stroke="black"/><line x1="{P}" y1="{P}" x2="{P}" y2="{H - P}" stroke="black"/>',
       f'<text x="{(W - 200) / 2}" y="{H - 20}" text-anchor="middle">recall@10</text>',
       f'<text x="18" y="{H / 2}" transform="rotate(-90 18 {H / 2})" text-anchor="middle">queries per second, one thread (log)</text>']
for t in [0.4, 0.6, 0.8, 1.0]:
    svg.append(f'<text x="{x(t)}" y="{H - P + 16}" text-anchor="middle">{t:.1f}</text>')
for e in range(int(np.floor(lo)), int(np.ceil(hi)) + 1):
    if lo <= e <= hi:
        svg.append(f'<text x="{P - 6}" y="{y(10 ** e) + 4}" text-anchor="end">1e{e}</text>')
legend = 0
for name, *_ in sets:
    for engine in ENGINES:
        pts = sorted((r["recall"], r["qps"]) for r in results if r["set"] == name and r["engine"] == engine)
        if not pts:
            continue
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in pts)
        svg.append(f'<polyline points="{path}" fill="none" stroke="{colours[engine]}" stroke-width="2" stroke-dasharray="{dashes[name]}"/>')
        for a, b in pts:
            svg.append(f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="2.5" fill="{colours[engine]}"/>')
        svg.append(f'<line x1="{W - 250}" y1="{P + 14 * legend}" x2="{W - 225}" y2="{P + 14 * legend}" stroke="{colours[engine]}" stroke-width="2" stroke-dasharray="{dashes[name]}"/>')
        svg.append(f'<text x="{W - 220}" y="{P + 14 * legend + 4}">{engine}, {name.split(" (")[0]}</text>')
        legend += 1
svg.append("</svg>")
open(os.path.join(out, "vector-recall-qps.svg"), "w").write("\n".join(svg))
