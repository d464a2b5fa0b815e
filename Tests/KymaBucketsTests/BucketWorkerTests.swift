// Ingest jobs end to end on the real catalog and a local store: jobs made in the index
// transaction, a worker turning an object into rows, a second worker finishing the job of one
// that died (its lease run out) with each row once, objects replaced before their job ran,
// compressed objects, and failures that go back with backoff.

import Foundation
import Synchronization
import KymaBuckets
import KymaCatalog
import KymaCatalogPostgres
import KymaCompression
import KymaCore
import KymaFormat
import KymaFormatTLM
import KymaIngest
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport
import Testing

struct BucketFixture {
    let catalog: PostgresCatalog
    let store: LocalFileSystemObjectStore

    static func make() async throws -> BucketFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_buckets")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let catalog = try await PostgresCatalog(url: String(admin[...admin.lastIndex(of: "/")!]) + name)
        return BucketFixture(catalog: catalog, store: try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-buckets")))
    }

    func worker(_ owner: String, leaseSeconds: Int = 60) -> BucketWorker {
        BucketWorker(catalog: catalog, store: store, formats: FormatRegistry([TLMFormat()]), owner: owner, leaseSeconds: leaseSeconds)
    }

    /// Puts an object as the S3 surface does: bytes first, then the index with its jobs.
    @discardableResult
    func put(_ bucket: String, _ key: String, _ bytes: [UInt8], contentType: String? = nil, metadata: [String: String] = [:]) async throws -> BucketObject {
        let storage = "buckets/\(bucket)/objects/\(UUID().uuidString)"
        try await store.put(try ObjectKey(storage), bytes)
        let object = BucketObject(key: key, size: Int64(bytes.count), etag: "\"\(Hex.encode(MD5.digest(bytes)))\"", contentType: contentType,
                                  metadata: metadata, storageKey: storage, checksum: nil)
        _ = try await catalog.putObject(bucket: bucket, object, condition: .always,
                                        enqueue: IngestJob.requests(for: object, bucket: bucket, rules: try await catalog.rules(bucket: bucket)))
        return object
    }

    func rows(_ table: String) async throws -> Int64 {
        try await catalog.extents(table: table, matching: .all).reduce(0) { $0 + $1.rowCount }
    }

    func jobs(_ bucket: String) async throws -> [WorkUnit] {
        try await catalog.workUnits(kind: IngestJob.kind, payload: ["bucket": bucket], limit: 100)
    }
}

@Suite("Bucket ingest jobs", .serialized)
struct BucketWorkerTests {
    static func lines(_ range: Range<Int>, json: Bool = true) -> [UInt8] {
        Array(range.map { i in json ? "{\"ts\":\"2026-12-07T10:00:\(String(format: "%02d", i % 60))Z\",\"n\":\(i),\"msg\":\"line \(i)\"}\n" : "text line \(i)\n" }
            .joined().utf8)
    }

    @Test func aPutObjectBecomesRowsOnce() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "logs", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "logs", name: "json", pipeline: "logs-to-table", destination: "events",
                                                      options: ["time_field": "ts"], include: ["**/*.json"]))
        _ = try await f.catalog.createRule(BucketRule(bucket: "logs", name: "text", pipeline: "logs-to-table", destination: "lines", include: ["**/*.log"]))
        try await f.put("logs", "2026/a.json", Self.lines(0..<500))
        try await f.put("logs", "2026/b.log", Self.lines(0..<300, json: false))
        try await f.put("logs", "2026/c.png", [1, 2, 3])
        #expect(try await f.jobs("logs").count == 2, "one job per object a rule takes, made with the index entry")
        let worker = f.worker("w1")
        var outcomes: [BucketWorker.Outcome] = []
        while let outcome = try await worker.runOnce(nowNanos: { 0 }) { outcomes.append(outcome) }
        #expect(outcomes.count == 2)
        #expect(try await f.rows("events") == 500)
        #expect(try await f.rows("lines") == 300)
        #expect(try await f.jobs("logs").allSatisfy { $0.state == .done })
        // The same version put again makes no new job (and so no new rows).
        try await f.put("logs", "2026/a.json", Self.lines(0..<500))
        #expect(try await worker.runOnce(nowNanos: { 0 }) == nil)
        #expect(try await f.rows("events") == 500)
    }

    @Test func aSecondWorkerFinishesTheJobOfOneThatDied() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "logs", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "logs", name: "all", pipeline: "logs-to-table", destination: "events",
                                                      options: ["time_field": "ts", "format": "json"]))
        try await f.put("logs", "big", Self.lines(0..<450_000))
        // The first worker claims the job, commits the first part of the object's batch and
        // dies uploading the second (its store fails from the second put on), never finishing
        // the job; its lease then runs out, moved into the past rather than slept for.
        let claimed = try #require(try await f.catalog.claimWork(kinds: [IngestJob.kind], owner: "dead", leaseSeconds: 600))
        let job = try IngestJob.decode(claimed.payload)
        let rule = try #require(try await f.catalog.rules(bucket: "logs").first)
        let object = try #require(try await f.catalog.object(bucket: "logs", key: "big"))
        let dying = DyingStore(base: f.store, putsBeforeDeath: 1)
        let dead = LogsToTable(ingestor: LogIngestor(catalog: f.catalog, store: dying, formats: FormatRegistry([TLMFormat()])))
        await #expect(throws: BucketsError.self) { try await dead.run(job, rule: rule, object: object, bytes: Self.lines(0..<450_000), nowNanos: 0) }
        #expect(try await f.rows("events") == Int64(LogsToTable.linesPerPart), "the first part committed")
        _ = try await f.catalog.executeForTesting("UPDATE work_units SET lease_expires_at = now() - interval '1 second' WHERE id = \(claimed.id)")
        let outcome = try await f.worker("w2").runOnce(nowNanos: { 0 })
        #expect(outcome == .ingested(job, rows: 450_000 - LogsToTable.linesPerPart, skippedLines: 0), "\(String(describing: outcome))")
        #expect(try await f.rows("events") == 450_000, "each row once")
        // The dead worker cannot complete what it no longer holds.
        await #expect(throws: CatalogError.self) { try await f.catalog.completeWork(claimed.id, owner: "dead", result: "{}") }
    }

    @Test func replacedObjectsCompressedObjectsAndFailures() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "all", pipeline: "logs-to-table", destination: "t",
                                                      options: ["time_field": "ts", "on_error": "reject"]))
        // Replaced before its job ran: the old version's job is skipped, the new one's ingested.
        try await f.put("b", "x.json", Self.lines(0..<10))
        try await f.put("b", "x.json", Self.lines(0..<20))
        // gzip by extension, zstd by Content-Encoding.
        try await f.put("b", "y.json.gz", try Deflate.gzip(Self.lines(100..<150)))
        try await f.put("b", "z.json", try Codec.zstd.compress(Self.lines(200..<230)), metadata: ["content-encoding": "zstd"])
        // A bad line with on_error=reject: the job fails, with its error, and waits to be retried.
        try await f.put("b", "bad.json", Array("{\"ts\":\"2026-12-07T10:00:00Z\"}\nnot json\n".utf8))
        let worker = f.worker("w")
        var outcomes: [BucketWorker.Outcome] = []
        while let outcome = try await worker.runOnce(nowNanos: { 0 }) { outcomes.append(outcome) }
        #expect(outcomes.filter { if case .skipped = $0 { true } else { false } }.count == 1)
        #expect(outcomes.filter { if case .failed = $0 { true } else { false } }.count == 1)
        #expect(try await f.rows("t") == 20 + 50 + 30)
        let failed = try #require(try await f.jobs("b").first { $0.state == .pending && $0.lastError != nil })
        #expect(failed.lastError?.contains("not json") == true || failed.lastError?.contains("line 2") == true, "\(failed.lastError ?? "")")
        let wait = try await f.catalog.executeForTesting("SELECT round(extract(epoch from not_before - updated_at)) FROM work_units WHERE id = \(failed.id)")
        #expect(wait == [["2"]], "a backoff of 2^1 seconds before the retry")
        _ = try await f.catalog.executeForTesting("UPDATE work_units SET not_before = now() + interval '1 hour' WHERE id = \(failed.id)")
        #expect(try await worker.runOnce(nowNanos: { 0 }) == nil, "not claimable during its backoff")
    }

    /// A new version of an object replaces the rows of the one before (and of the one before
    /// that); a version compacted into other rows since keeps them, and the result says so.
    @Test func aNewVersionReplacesTheRowsOfEarlierOnes() async throws {
        let f = try await BucketFixture.make()
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        _ = try await f.catalog.createRule(BucketRule(bucket: "b", name: "all", pipeline: "logs-to-table", destination: "t", options: ["time_field": "ts"]))
        let worker = f.worker("w")
        func drain() async throws -> [BucketWorker.Outcome] {
            var outcomes: [BucketWorker.Outcome] = []
            while let outcome = try await worker.runOnce(nowNanos: { 0 }) { outcomes.append(outcome) }
            return outcomes
        }
        try await f.put("b", "x.json", Self.lines(0..<10))
        try await f.put("b", "other.json", Self.lines(100..<107))
        _ = try await drain()
        #expect(try await f.rows("t") == 17)
        try await f.put("b", "x.json", Self.lines(0..<25))
        let second = try await drain()
        #expect(try await f.rows("t") == 25 + 7, "version 2 replaced version 1; the other object untouched")
        guard case .ingested(_, 25, 0, 10, 0)? = second.first else { Issue.record("\(second)"); return }
        try await f.put("b", "x.json", Self.lines(0..<3))
        _ = try await drain()
        #expect(try await f.rows("t") == 3 + 7, "version 3 replaced version 2")
        let results = try await f.jobs("b").compactMap { unit in
            unit.result.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["replaced_rows"] as? Int
        }
        #expect(results.sorted() == [0, 0, 10, 25], "each job's result names the rows it replaced")
    }
}

/// A store that works for `putsBeforeDeath` puts and then fails every put, as a process that
/// dies mid-upload would stop writing.
struct DyingStore: ObjectStore {
    let base: any ObjectStore
    let putsBeforeDeath: Int
    let puts = Counter()

    final class Counter: Sendable {
        let value = Synchronization.Mutex(0)
        func next() -> Int { value.withLock { $0 += 1; return $0 } }
    }

    var description: String { "dying(\(base.description))" }

    func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        guard puts.next() <= putsBeforeDeath else { throw ObjectStoreError(.unavailable, key: key.rawValue, "the process died") }
        try await base.put(key, bytes)
    }

    func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        guard puts.next() <= putsBeforeDeath else { throw ObjectStoreError(.unavailable, key: key.rawValue, "the process died") }
        try await base.putIfAbsent(key, bytes)
    }

    func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] { try await base.get(key) }
    func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] { try await base.get(key, range: range) }
    func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata { try await base.head(key) }
    func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }
    func delete(_ key: ObjectKey) async throws(ObjectStoreError) { try await base.delete(key) }
}
