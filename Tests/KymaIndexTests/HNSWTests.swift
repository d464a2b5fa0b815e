// HNSW against exact search on the real SIFT vectors (../shared/datasets/ann/sift5k-ngt, with a
// ground truth computed independently by brute force in float64), filtered search, deletes,
// the three metrics, concurrency, and bad input.

import Foundation
import Testing
@testable import KymaIndex
import KymaKernels

enum SIFT {
    static var directory: String {
        if let env = ProcessInfo.processInfo.environment["KYMA_DATASETS"] { return env + "/ann/sift5k-ngt" }
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { break }
        }
        return url.deletingLastPathComponent().appendingPathComponent("shared/datasets/ann/sift5k-ngt").path
    }

    static func read(_ name: String) throws -> [[UInt32]] { try VectorFiles.readIvecs(directory + "/" + name) }
    static func vectors(_ name: String) throws -> [[Float]] { try VectorFiles.readFvecs(directory + "/" + name) }
}

@Suite("Distance kernels")
struct DistanceKernelTests {
    @Test func matchScalarReferences() {
        var g = SystemRandomNumberGenerator()
        for dimension in [1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 128, 129] {
            let a = (0..<dimension).map { _ in Float.random(in: -10...10, using: &g) }
            let b = (0..<dimension).map { _ in Float.random(in: -10...10, using: &g) }
            let l2 = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { DistanceKernels.l2Squared(x.baseAddress!, $0.baseAddress!, dimension: dimension) } }
            let dot = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { DistanceKernels.dot(x.baseAddress!, $0.baseAddress!, dimension: dimension) } }
            #expect(abs(Double(l2) - DistanceKernels.l2SquaredReference(a, b)) <= 1e-4 * max(1, DistanceKernels.l2SquaredReference(a, b)))
            #expect(abs(Double(dot) - DistanceKernels.dotReference(a, b)) <= 1e-3 * max(1, abs(DistanceKernels.dotReference(a, b))))
        }
    }
}

@Suite("HNSW")
struct HNSWTests {
    static func recall(_ found: [[UInt32]], _ truth: [[UInt32]], k: Int) -> Double {
        var hits = 0
        for (f, t) in zip(found, truth) { hits += Set(f.prefix(k)).intersection(Set(t.prefix(k))).count }
        return Double(hits) / Double(k * truth.count)
    }

    @Test func recallOnRealSIFTVectorsAgainstTheirExactGroundTruth() throws {
        let base = try SIFT.vectors("sift5k_base.fvecs")
        let queries = try SIFT.vectors("siftsmall_query.fvecs")
        let truth = try SIFT.read("siftsmall_query_groundtruth_top100.ivecs")
        #expect(base.count == 5000 && queries.count == 100 && truth.count == 100)
        let index = HNSWIndex(dimension: 128, metric: .l2, parameters: HNSWParameters(m: 16, efConstruction: 200))
        for vector in base { try index.insert(vector) }
        // The exact search agrees with the independently computed ground truth.
        let exact = try queries.map { try index.exactSearch($0, k: 10).map(\.id) }
        #expect(Self.recall(exact, truth, k: 10) >= 0.99)
        // HNSW at ef = 200: recall@10 >= 0.95 (the bar). This NGT set is hard at low ef:
        // hnswlib with the same M/efConstruction measured 0.52 / 0.78 / 0.90 / 0.95 at ef 10 / 32 /
        // 64 / 128, and this index 0.51 / 0.77 / 0.89 / 0.95 (reports/vector.md).
        let approximate = try queries.map { try index.search($0, k: 10, ef: 200).map(\.id) }
        let recall = Self.recall(approximate, truth, k: 10)
        #expect(recall >= 0.95, "recall@10 = \(recall)")
        // Int8 codes with exact re-ranking keep it, and the graph stays the same: a restored
        // index trains its codes again and answers identically.
        let quantized = HNSWIndex(dimension: 128, metric: .l2, parameters: HNSWParameters(m: 16, efConstruction: 200, quantization: .int8))
        for vector in base { try quantized.insert(vector) }
        let coded = try queries.map { try quantized.search($0, k: 10, ef: 200).map(\.id) }
        #expect(Self.recall(coded, truth, k: 10) >= recall - 0.01, "int8 recall@10 = \(Self.recall(coded, truth, k: 10))")
        let restored = try HNSWIndex(dimension: 128, metric: .l2, parameters: quantized.parameters, vectors: base, graph: quantized.snapshot())
        #expect(try queries.map { try restored.search($0, k: 10, ef: 200).map(\.id) } == coded)
    }

    @Test func filteredSearchMatchesExactFilteredSearch() throws {
        let base = Array(try SIFT.vectors("sift5k_base.fvecs").prefix(3000))
        let queries = Array(try SIFT.vectors("siftsmall_query.fvecs").prefix(30))
        let index = HNSWIndex(dimension: 128, metric: .l2)
        for vector in base { try index.insert(vector) }
        let tenth: (UInt32) -> Bool = { $0 % 10 == 3 }
        let exact = try queries.map { try index.exactSearch($0, k: 10, allowed: tenth).map(\.id) }
        let found = try queries.map { try index.search($0, k: 10, ef: 100, allowed: tenth, allowedFraction: 0.1).map(\.id) }
        #expect(found.allSatisfy { $0.allSatisfy(tenth) })
        #expect(Self.recall(found, exact, k: 10) >= 0.9)
        // Very selective: 3 allowed ids, answered exactly.
        let rare: (UInt32) -> Bool = { $0 % 1000 == 7 }
        for query in queries.prefix(5) {
            #expect(try index.search(query, k: 10, ef: 50, allowed: rare, allowedFraction: 0.001) == index.exactSearch(query, k: 10, allowed: rare))
        }
    }

    @Test(arguments: [VectorMetric.cosine, .innerProduct, .l2])
    func everyMetricFindsItsExactNeighbours(metric: VectorMetric) throws {
        var g = SystemRandomNumberGenerator()
        let index = HNSWIndex(dimension: 24, metric: metric, parameters: HNSWParameters(m: 12, efConstruction: 100))
        // Clustered data, as embeddings are.
        let centres = (0..<20).map { _ in (0..<24).map { _ in Float.random(in: -1...1, using: &g) } }
        for i in 0..<2000 { try index.insert(centres[i % 20].map { $0 + Float.random(in: -0.2...0.2, using: &g) }) }
        let queries = (0..<40).map { i in centres[i % 20].map { $0 + Float.random(in: -0.3...0.3, using: &g) } }
        let exact = try queries.map { try index.exactSearch($0, k: 10).map(\.id) }
        let found = try queries.map { try index.search($0, k: 10, ef: 80).map(\.id) }
        #expect(Self.recall(found, exact, k: 10) >= 0.9, "\(metric)")
    }

    @Test func deletedIdsAreNeverReturned() throws {
        let base = Array(try SIFT.vectors("sift5k_base.fvecs").prefix(1000))
        let index = HNSWIndex(dimension: 128, metric: .l2)
        for vector in base { try index.insert(vector) }
        let query = base[17]
        let before = try index.search(query, k: 5, ef: 50).map(\.id)
        #expect(before.first == 17)
        for id in before.prefix(3) { index.delete(id) }
        let after = try index.search(query, k: 5, ef: 50).map(\.id)
        #expect(Set(after).isDisjoint(with: before.prefix(3)))
        #expect(after.count == 5)
    }

    @Test func searchesRunWhileOneWriterInserts() async throws {
        let base = Array(try SIFT.vectors("sift5k_base.fvecs").prefix(1200))
        let index = HNSWIndex(dimension: 128, metric: .l2)
        for vector in base.prefix(200) { try index.insert(vector) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for vector in base.dropFirst(200) { try index.insert(vector) } }
            for reader in 0..<3 {
                group.addTask {
                    for i in 0..<60 {
                        let hits = try index.search(base[(reader * 60 + i) % 200], k: 3, ef: 20)
                        #expect(hits.count == 3)
                        #expect(hits.first?.distance == 0, "an inserted vector finds itself")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(index.count == 1200)
    }

    @Test func malformedVectorFilesAreTypedErrors() throws {
        let path = "/tmp/kyma-bad-\(UInt32.random(in: 0...UInt32.max)).fvecs"
        let file = fopen(path, "wb")
        fwrite([UInt8]([8, 0, 0, 0, 1, 2, 3]), 1, 7, file)  // claims 8 floats, holds 3 bytes
        fclose(file)
        #expect(throws: VectorFileError.self) { try VectorFiles.readFvecs(path) }
        #expect(throws: VectorFileError.unreadable(path: "/no/such.fvecs")) { try VectorFiles.readFvecs("/no/such.fvecs") }
    }

    @Test func badVectorsAreTypedErrors() {
        let index = HNSWIndex(dimension: 4, metric: .l2)
        #expect(throws: VectorIndexError.wrongDimension(expected: 4, actual: 3)) { try index.insert([1, 2, 3]) }
        #expect(throws: VectorIndexError.notFinite(position: 1)) { try index.insert([1, .nan, 3, 4]) }
        #expect(throws: VectorIndexError.self) { try index.search([1, 2], k: 1, ef: 1) }
    }
}

@Suite("Int8 code kernels")
struct CodeKernelTests {
    @Test func matchScalarReferences() {
        var g = SystemRandomNumberGenerator()
        for dimension in [1, 7, 15, 16, 17, 31, 32, 128, 129] {
            let query = (0..<dimension).map { _ in Float.random(in: -20...280, using: &g) }
            let code = (0..<dimension).map { _ in UInt8.random(in: 0...255, using: &g) }
            let l2 = query.withUnsafeBufferPointer { q in code.withUnsafeBufferPointer { CodeKernels.l2(q.baseAddress!, $0.baseAddress!, dimension: dimension) } }
            let dot = query.withUnsafeBufferPointer { q in code.withUnsafeBufferPointer { CodeKernels.dot(q.baseAddress!, $0.baseAddress!, dimension: dimension) } }
            #expect(abs(Double(l2) - CodeKernels.l2Reference(query, code)) <= 1e-4 * max(1, CodeKernels.l2Reference(query, code)))
            #expect(abs(Double(dot) - CodeKernels.dotReference(query, code)) <= 1e-4 * max(1, abs(CodeKernels.dotReference(query, code))))
        }
    }
}

@Suite("HNSW edge cases")
struct HNSWEdgeCaseTests {
    @Test func overflowingComponentsAreRefusedNotScoredInfinite() throws {
        let index = HNSWIndex(dimension: 4, metric: .l2)
        try index.insert([1, 2, 3, 4])
        #expect(throws: VectorIndexError.outOfRange(position: 2, value: 1e20)) { try index.insert([0, 0, 1e20, 0]) }
        #expect(throws: VectorIndexError.self) { try index.search([1e20, 1e20, 1e20, 1e20], k: 1, ef: 10) }
        // The largest accepted components still give finite distances in the largest dimension.
        let wide = HNSWIndex(dimension: 65_536, metric: .l2)
        try wide.insert([Float](repeating: HNSWIndex.maxComponent, count: 65_536))
        let hit = try #require(try wide.search([Float](repeating: -HNSWIndex.maxComponent, count: 65_536), k: 1, ef: 1).first)
        #expect(hit.distance.isFinite)
    }

    @Test func cosineRefusesZeroVectorsAndQueries() throws {
        let index = HNSWIndex(dimension: 3, metric: .cosine)
        #expect(throws: VectorIndexError.zeroVector) { try index.insert([0, 0, 0]) }
        try index.insert([1, 0, 0])
        try index.insert([0, 1, 0])
        #expect(throws: VectorIndexError.zeroVector) { try index.search([0, 0, 0], k: 1, ef: 10) }
        // A direction, however long, has the same neighbours: no overflow in the norm.
        let hits = try index.search([1e15, 1, 0], k: 2, ef: 10)
        #expect(hits.map(\.id) == [0, 1] && abs(hits[0].distance) < 1e-6)
    }

    @Test func deletesAreCountedOnceAndNeverReturned() throws {
        let index = HNSWIndex(dimension: 2, metric: .l2)
        for i in 0..<100 { try index.insert([Float(i), 0]) }
        index.delete(5)
        index.delete(5)
        index.delete(1_000)  // not an id: nothing happens
        let hits = try index.search([5, 0], k: 3, ef: 50)
        #expect(!hits.contains { $0.id == 5 } && hits.count == 3)
        #expect(index.snapshot().deleted == [5])
    }
}
