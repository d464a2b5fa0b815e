// HNSW build time, recall@10, single-thread QPS at several efSearch, and memory per vector, on
// .fvecs/.ivecs files. Run through harness/bench-vector, which measures hnswlib, faiss and
// usearch on the same vectors in the same run.
// Usage: VectorBench BASE.fvecs QUERIES.fvecs GROUNDTRUTH.ivecs M EF_CONSTRUCTION EF1,EF2,... [none|int8]

import Foundation
import KymaIndex

@main
enum VectorBench {
    static func main() throws {
        let args = CommandLine.arguments
        let base = try VectorFiles.readFvecs(args[1])
        let queries = try VectorFiles.readFvecs(args[2])
        let truth = try VectorFiles.readIvecs(args[3])
        let m = Int(args[4]) ?? 16, efConstruction = Int(args[5]) ?? 200
        let efs = args[6].split(separator: ",").compactMap { Int($0) }
        let quantization = args.count > 7 ? VectorQuantization(rawValue: args[7]) ?? .none : .none
        let index = HNSWIndex(dimension: base[0].count, metric: .l2,
                              parameters: HNSWParameters(m: m, efConstruction: efConstruction, quantization: quantization))
        let start = Date()
        for vector in base { try index.insert(vector) }
        let build = Date().timeIntervalSince(start)
        let bytesPerVector = Double(index.memoryBytes) / Double(base.count)
        let engine = quantization == .none ? "kyma" : "kyma-\(quantization.rawValue)"
        for ef in efs {
            var hits = 0
            var best = Double.infinity
            for round in 0..<3 {
                let t = Date()
                for (q, query) in queries.enumerated() {
                    let ids = try index.search(query, k: 10, ef: ef).map(\.id)
                    if round == 0 { hits += Set(ids).intersection(truth[q].prefix(10)).count }
                }
                best = min(best, Date().timeIntervalSince(t))
            }
            print("{\"engine\": \"\(engine)\", \"ef\": \(ef), \"recall\": \(Double(hits) / Double(10 * queries.count)), \"qps\": \(Double(queries.count) / best), \"build_seconds\": \(build), \"bytes_per_vector\": \(bytesPerVector)}")
        }
    }
}
