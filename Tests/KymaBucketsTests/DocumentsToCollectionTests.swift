// The documents pipeline on the real catalog and a local store: text, Markdown and HTML objects
// become chunk records of a vector collection a fresh process can load; a new version of an
// object replaces its chunks (the earlier version's extra chunks go); a job run twice writes
// once; an unreachable embedder fails the job with its kind and the job waits to be retried.

import Foundation
@testable import KymaBuckets
import KymaCatalog
import KymaCore
import KymaEmbedding
import KymaObjectStore
import KymaTestSupport
import KymaVector
import Testing

@Suite("Documents to a vector collection", .serialized)
struct DocumentsToCollectionTests {
    static let options = ["chunk_size": "200", "chunk_overlap": "20", "dim": "64"]

    /// `count` sentences, each naming its number and the document's topic.
    static func document(_ topic: String, sentences count: Int) -> String {
        (0..<count).map { "Sentence \($0) of the \(topic) notes describes \(topic) at station \($0)." }.joined(separator: " ")
    }

    func drain(_ worker: BucketWorker) async throws -> [BucketWorker.Outcome] {
        var outcomes: [BucketWorker.Outcome] = []
        while let outcome = try await worker.runOnce(nowNanos: { 0 }) { outcomes.append(outcome) }
        return outcomes
    }

    @Test func documentsBecomeChunksAndANewVersionReplacesThem() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "docs", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "docs", name: "docs", pipeline: "documents-to-collection", destination: "notes",
                                                      options: Self.options, include: ["**/*.txt", "**/*.md", "**/*.html"]))
        let flutter = Self.document("flutter", sentences: 20)
        try await f.put("docs", "a/flutter.txt", Array(flutter.utf8))
        try await f.put("docs", "a/nozzle.md", Array(("# Nozzles\n\n" + Self.document("nozzle", sentences: 6)).utf8))
        try await f.put("docs", "b/wake.html", Array("<html><body><p>\(Self.document("wake", sentences: 3))</p><script>ignored()</script></body></html>".utf8))
        try await f.put("docs", "b/image.png", [0x89, 0x50])
        let outcomes = try await drain(f.worker("w"))
        #expect(outcomes.count == 3, "\(outcomes)")
        let expected = Chunker.chunks(flutter, size: 200, overlap: 20)
        #expect(expected.count > 3)

        // A fresh cache stands for another process: everything comes from the catalog and store.
        let notes = try await VectorCollectionCache(catalog: f.catalog, store: f.store).collection("notes")
        #expect(notes.info.definition.dimension == 64 && notes.info.definition.metric == "cosine")
        for chunk in expected {
            let record = try #require(await notes.get("a/flutter.txt#\(chunk.index)"))
            #expect(record.text == chunk.text)
            #expect(record.fields["key"] == .string("a/flutter.txt") && record.fields["chunk"] == .int64(Int64(chunk.index))
                    && record.fields["offset"] == .int64(Int64(chunk.offset)) && record.fields["bucket"] == .string("docs"))
            #expect(record.vector == HashingEmbedder(dimension: 64).vector(chunk.text), "the hashing embedder's vector of the chunk")
        }
        #expect(await notes.get("a/flutter.txt#\(expected.count)") == nil)
        let wake = try #require(await notes.get("b/wake.html#0"))
        #expect(wake.text?.contains("ignored") == false && wake.text?.contains("wake at station 2") == true)
        #expect(try await notes.textSearch("nozzle", k: 3).first.map { $0.id.hasPrefix("a/nozzle.md#") } == true)

        // A shorter second version: its chunks replace the first version's, the rest go.
        let shorter = Self.document("buffeting", sentences: 4)
        try await f.put("docs", "a/flutter.txt", Array(shorter.utf8))
        let second = try await drain(f.worker("w"))
        let newCount = Chunker.chunks(shorter, size: 200, overlap: 20).count
        guard second.count == 1, case .embedded(_, let chunks, let removed)? = second.first else { Issue.record("\(second)"); return }
        #expect(chunks == newCount && removed == expected.count - newCount)
        let after = try await VectorCollectionCache(catalog: f.catalog, store: f.store).collection("notes")
        let live = await after.liveCount
        let nozzleChunks = Chunker.chunks(DocumentText.readable("# Nozzles\n\n" + Self.document("nozzle", sentences: 6), kind: .markdown), size: 200, overlap: 20).count
        #expect(live == newCount + nozzleChunks + 1)
        #expect(await after.get("a/flutter.txt#0")?.text?.contains("buffeting") == true)
        #expect(try await after.textSearch("flutter", k: 5).isEmpty, "no chunk of the first version is left")
    }

    @Test func aJobRunTwiceWritesOnce() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "d", settings: [:])
        let rule = try await f.catalog.createRule(BucketRule(bucket: "d", name: "r", pipeline: "documents-to-collection", destination: "c", options: Self.options))
        let object = try await f.put("d", "x.txt", Array(Self.document("inlet", sentences: 12).utf8))
        let job = IngestJob(bucket: "d", key: "x.txt", etag: object.etag, rule: rule.id)
        let pipeline = DocumentsToCollection(collections: VectorCollectionCache(catalog: f.catalog, store: f.store), environment: [:])
        let first = try await pipeline.run(job, rule: rule, object: object, bytes: try await f.store.get(try ObjectKey(object.storageKey)))
        // As if the worker died after writing and the job ran again elsewhere.
        let again = DocumentsToCollection(collections: VectorCollectionCache(catalog: f.catalog, store: f.store), environment: [:])
        let second = try await again.run(job, rule: rule, object: object, bytes: try await f.store.get(try ObjectKey(object.storageKey)))
        #expect(first == second)
        let info = try #require(try await f.catalog.vectorCollection(named: "c"))
        #expect(try await f.catalog.vectorObjects(collectionID: info.id).count == 1, "the repeated batch was applied once")
        #expect(await (try VectorCollectionCache(catalog: f.catalog, store: f.store).collection("c")).liveCount == first.chunks)
    }

    @Test func anUnreachableEmbedderFailsTheJobWithItsKind() async throws {
        let f = try await BucketFixture.make()
        let proxy = try TCPProxy(targetPort: 1)
        proxy.cut()
        defer { proxy.stop() }
        _ = try await f.catalog.createBucket(named: "d", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "d", name: "r", pipeline: "documents-to-collection", destination: "c",
                                                      options: ["embedder": "openai", "embedder_url": "http://127.0.0.1:\(proxy.port)"]))
        try await f.put("d", "x.txt", Array("some text".utf8))
        let outcomes = try await drain(f.worker("w"))
        guard case .failed(_, let error)? = outcomes.first else { Issue.record("\(outcomes)"); return }
        #expect(error.contains("embedding 'x.txt'"), "\(error)")
        let job = try #require(try await f.jobs("d").first)
        #expect(job.state == .pending && job.attempts == 1 && job.lastError == error, "back to pending with backoff")
        #expect(try await f.catalog.vectorCollection(named: "c") == nil, "nothing was written")
    }
}
