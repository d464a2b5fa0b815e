// Vector collections on the real catalog and an object store: a node that starts from an empty
// disk answers the same; compaction keeps answers and drops tombstones; filtered search matches
// exact filtered search; hybrid fusion equals a hand computation; bad input is a typed error.

import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaIndex
import KymaObjectStore
import KymaObjectStoreLocal
import KymaPlan
import KymaTestSupport
import KymaVector
import Testing

struct VectorFixture {
    let catalog: PostgresCatalog
    let storeRoot: String

    static func make() async throws -> VectorFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_vector")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        return VectorFixture(catalog: try await PostgresCatalog(url: base + name), storeRoot: TestServices.makeTemporaryDirectory("kyma-vector"))
    }

    /// A fresh store object over the same directory: what a restarted node would open.
    func store() throws -> any ObjectStore { try LocalFileSystemObjectStore(root: storeRoot) }
}

@Suite("Vector collections", .serialized)
struct VectorCollectionTests {
    static let datasets = TestServices.datasetsDirectory() + "/ann/sift5k-ngt"

    func sift() throws -> (base: [[Float]], queries: [[Float]], truth: [[UInt32]]) {
        (try VectorFiles.readFvecs(Self.datasets + "/sift5k_base.fvecs"), Array(try VectorFiles.readFvecs(Self.datasets + "/siftsmall_query.fvecs").prefix(30)),
         try VectorFiles.readIvecs(Self.datasets + "/siftsmall_query_groundtruth_top100.ivecs"))
    }

    @Test(arguments: ["none", "int8"])
    func restartedNodeWithEmptyDiskAnswersTheSameAndCompactionKeepsRecall(quantization: String) async throws {
        let f = try await VectorFixture.make()
        let (base, queries, truth) = try sift()
        _ = try await VectorCollection.create(VectorCollectionDefinition(name: "sift", dimension: 128, metric: "l2", quantization: quantization), catalog: f.catalog)
        let writer = try await VectorCollection.open(name: "sift", catalog: f.catalog, store: try f.store())
        for start in stride(from: 0, to: base.count, by: 2000) {
            try await writer.upsert((start..<min(base.count, start + 2000)).map { VectorRecord(id: String($0), vector: base[$0], fields: ["bucket": .int64(Int64($0 % 10))]) })
        }
        func answers(_ c: VectorCollection) async throws -> [[String]] {
            var out: [[String]] = []
            for q in queries { out.append(try await c.search(q, k: 10, ef: 200).map(\.id)) }
            return out
        }
        let before = try await answers(writer)
        let restarted = try await VectorCollection.open(name: "sift", catalog: f.catalog, store: try f.store())
        #expect(try await answers(restarted) == before, "a node rebuilt from the catalog and store answers identically")
        func recall(_ results: [[String]]) -> Double {
            var hits = 0
            for (i, ids) in results.enumerated() { hits += Set(ids.compactMap { UInt32($0) }).intersection(truth[i].prefix(10)).count }
            return Double(hits) / Double(results.count * 10)
        }
        #expect(recall(before) >= 0.95, "recall@10 at ef=200: \(recall(before))")
        // Deletes are tombstones until compaction; a compacted segment carries its graph, so a
        // node loading it answers exactly as the node that wrote it.
        let deleted = Set(before.flatMap { $0.prefix(1) })
        try await writer.delete(ids: Array(deleted))
        let replaced = try await writer.compact()
        #expect(replaced == 4, "three write-ahead batches and a delete replaced by one segment")
        #expect(await writer.liveCount == base.count - deleted.count)
        let afterCompaction = try await answers(writer)
        #expect(afterCompaction.allSatisfy { Set($0).isDisjoint(with: deleted) })
        let reloaded = try await VectorCollection.open(name: "sift", catalog: f.catalog, store: try f.store())
        #expect(try await answers(reloaded) == afterCompaction)
        // Writes after the segment are replayed on top of it.
        try await writer.upsert([VectorRecord(id: "extra", vector: queries[0])])
        let latest = try await VectorCollection.open(name: "sift", catalog: f.catalog, store: try f.store())
        #expect(try await latest.search(queries[0], k: 1).first?.id == "extra")
        #expect(try await VectorCollection.drop(name: "sift", catalog: f.catalog, store: try f.store()) == 2)
        do {
            _ = try await VectorCollection.open(name: "sift", catalog: f.catalog, store: try f.store())
            Issue.record("a dropped collection opened")
        } catch {
            #expect(error as? VectorError == .unknownCollection("sift"))
        }
    }

    @Test func filteredSearchMatchesExactFilteredSearch() async throws {
        let f = try await VectorFixture.make()
        let (base, queries, _) = try sift()
        _ = try await VectorCollection.create(VectorCollectionDefinition(name: "filtered", dimension: 128, metric: "l2"), catalog: f.catalog)
        let c = try await VectorCollection.open(name: "filtered", catalog: f.catalog, store: try f.store())
        try await c.upsert(base.enumerated().map { VectorRecord(id: String($0), vector: $1, fields: ["bucket": .int64(Int64($0 % 10)), "tag": .string($0 % 3 == 0 ? "a" : "b")]) })
        for filter in [Expr.compare(.equal, .column("bucket"), .literal(.int64(3))),
                       Expr.and([.compare(.less, .column("bucket"), .literal(.int64(5))), .compare(.equal, .column("tag"), .literal(.string("a")))]),
                       Expr.compare(.equal, .column("bucket"), .literal(.int64(99)))] {
            var hits = 0, total = 0
            for q in queries {
                let exact = try await c.exactSearch(q, k: 10, filter: filter).map(\.id)
                let approximate = try await c.search(q, k: 10, ef: 200, filter: filter).map(\.id)
                #expect(approximate.allSatisfy { id in
                    let n = Int(id) ?? -1
                    switch filter {
                    case .compare: return n % 10 == 3
                    default: return n % 10 < 5 && n % 3 == 0
                    }
                }, "every result satisfies \(filter)")
                hits += Set(exact).intersection(approximate).count
                total += exact.count
            }
            if total > 0 { #expect(Double(hits) / Double(total) >= 0.95, "filtered recall for \(filter): \(Double(hits) / Double(total))") }
        }
    }

    @Test func hybridFusionEqualsAHandComputation() async throws {
        let f = try await VectorFixture.make()
        _ = try await VectorCollection.create(VectorCollectionDefinition(name: "docs", dimension: 2, metric: "l2"), catalog: f.catalog)
        let c = try await VectorCollection.open(name: "docs", catalog: f.catalog, store: try f.store())
        try await c.upsert([
            VectorRecord(id: "a", vector: [0, 0], text: "apple banana"),
            VectorRecord(id: "b", vector: [1, 0], text: "Apple"),
            VectorRecord(id: "c", vector: [0.1, 0], text: "cherry"),
            VectorRecord(id: "d", vector: [5, 5], text: "apple apple apple"),
        ])
        // By hand: vector ranks (L2 to [0,0]) a=1, c=2, b=3, d=4. BM25 of "apple" (k1 1.2, b 0.75,
        // average length 7/4, equal idf): a = 2.2/(1+1.2(0.25+0.75*2/1.75)) = 0.945, b = 1.213,
        // d = 6.6/(3+1.2(0.25+0.75*3/1.75)) = 1.363: text ranks d=1, b=2, a=3 (c has no "apple").
        let rrf = try await c.hybrid(text: "apple", vector: [0, 0], k: 4, fusion: .reciprocalRank(k: 60))
        let expected: [(String, Double)] = [("a", 1.0 / 61 + 1.0 / 63), ("d", 1.0 / 64 + 1.0 / 61), ("b", 1.0 / 63 + 1.0 / 62), ("c", 1.0 / 62)]
        #expect(rrf.map(\.id) == expected.map(\.0))
        for (result, (_, score)) in zip(rrf, expected) { #expect(abs(result.score - score) < 1e-12) }
        #expect(try await c.hybrid(text: "apple", vector: [0, 0], k: 4, fusion: .weighted(vectorWeight: 1)).map(\.id) == ["a", "c", "b", "d"])
        #expect(try await c.hybrid(text: "apple", vector: [0, 0], k: 3, fusion: .weighted(vectorWeight: 0)).map(\.id) == ["d", "b", "a"])
    }

    @Test func badInputIsATypedError() async throws {
        let f = try await VectorFixture.make()
        _ = try await VectorCollection.create(VectorCollectionDefinition(name: "small", dimension: 3, metric: "cosine"), catalog: f.catalog)
        let c = try await VectorCollection.open(name: "small", catalog: f.catalog, store: try f.store())
        await #expect(throws: VectorError.invalidRecord(id: "x", reason: "vector has dimension 2, the collection has 3")) {
            try await c.upsert([VectorRecord(id: "x", vector: [1, 2])])
        }
        await #expect(throws: VectorError.invalidRecord(id: "y", reason: "vector component 1 is NaN or infinite")) {
            try await c.upsert([VectorRecord(id: "y", vector: [1, .nan, 3])])
        }
        await #expect(throws: VectorError.collectionExists("small")) {
            _ = try await VectorCollection.create(VectorCollectionDefinition(name: "small", dimension: 3, metric: "l2"), catalog: f.catalog)
        }
        await #expect(throws: VectorError.self) {
            _ = try await VectorCollection.create(VectorCollectionDefinition(name: "bad", dimension: 3, metric: "manhattan"), catalog: f.catalog)
        }
        await #expect(throws: VectorError.unknownCollection("nope")) {
            _ = try await VectorCollection.open(name: "nope", catalog: f.catalog, store: try f.store())
        }
        #expect(await c.liveCount == 0, "a rejected batch writes nothing")
    }
}
