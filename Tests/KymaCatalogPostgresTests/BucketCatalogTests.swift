// The bucket index: keys listed in byte order (as S3 lists them, whatever the database's
// locale), conditional puts decided inside the transaction (of concurrent If-None-Match: *
// puts exactly one wins), each index change recorded with its event, multipart completion as
// one transaction, and buckets that refuse to go while they hold objects.

import KymaCatalog
import KymaCatalogPostgres
import KymaTestSupport
import Testing

@Suite("Buckets")
struct BucketCatalogTests {
    func object(_ key: String, etag: String = "\"e\"", storage: String? = nil) -> BucketObject {
        BucketObject(key: key, size: 1, etag: etag, contentType: nil, metadata: ["x-amz-meta-k": "v"], storageKey: storage ?? "s/\(key)", checksum: nil)
    }

    @Test func keysListInByteOrderWithPrefixAndMarker() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createBucket(named: "b1", settings: [:])
        // Byte order puts 'B' before 'a', '/' before '0', and a multi-byte character last.
        let keys = ["a", "B", "a/1", "a/0", "a0", "é", "a/", "ab"]
        for key in keys { _ = try await catalog.putObject(bucket: "b1", object(key), condition: .always, enqueue: []) }
        let all = try await catalog.listObjects(bucket: "b1", prefix: "", after: nil, limit: 100).map(\.key)
        #expect(all == keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(try await catalog.listObjects(bucket: "b1", prefix: "a/", after: nil, limit: 100).map(\.key) == ["a/", "a/0", "a/1"])
        #expect(try await catalog.listObjects(bucket: "b1", prefix: "a", after: "a/0", limit: 2).map(\.key) == ["a/1", "a0"])
        // A prefix with LIKE's wildcards matches them literally.
        _ = try await catalog.putObject(bucket: "b1", object("x%_y"), condition: .always, enqueue: [])
        #expect(try await catalog.listObjects(bucket: "b1", prefix: "x%", after: nil, limit: 10).map(\.key) == ["x%_y"])
        #expect(try await catalog.listObjects(bucket: "b1", prefix: "x_", after: nil, limit: 10).isEmpty)
        let stored = try #require(try await catalog.object(bucket: "b1", key: "a/0"))
        #expect(stored.metadata == ["x-amz-meta-k": "v"])
        #expect(stored.lastModifiedMillis > 0)
    }

    @Test func conditionalPutsHaveOneWinner() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let setup = try await PostgresCatalog(url: url)
        _ = try await setup.createBucket(named: "race", settings: [:])
        let winners = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    let catalog = try await PostgresCatalog(url: url, maxIdleConnections: 1, migrate: false)
                    do {
                        _ = try await catalog.putObject(bucket: "race", self.object("k", etag: "\"\(i)\""), condition: .ifNoneMatch("*"), enqueue: [])
                        return true
                    } catch let error as CatalogError {
                        guard case .conflict = error else { throw error }
                        return false
                    }
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(winners == 1)
        let current = try #require(try await setup.object(bucket: "race", key: "k"))
        // If-Match with the current ETag replaces; with another, or `*` on a free key, does not.
        #expect(try await setup.putObject(bucket: "race", object("k", etag: "\"new\"", storage: "s2"), condition: .ifMatch(current.etag), enqueue: []) == current.storageKey)
        await #expect(throws: CatalogError.self) { try await setup.putObject(bucket: "race", object("k"), condition: .ifMatch("\"stale\""), enqueue: []) }
        await #expect(throws: CatalogError.self) { try await setup.putObject(bucket: "race", object("free"), condition: .ifMatch("*"), enqueue: []) }
        await #expect(throws: CatalogError.self) { try await setup.putObject(bucket: "race", object("k"), condition: .ifNoneMatch("new"), enqueue: []) }
        let events = try await setup.executeForTesting("SELECT kind, count(*) FROM bucket_events GROUP BY kind ORDER BY kind")
        #expect(events == [["put", "2"]], "one event per index change, none for refused puts")
    }

    @Test func multipartCompletionIsOneTransaction() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createBucket(named: "mp", settings: [:])
        _ = try await catalog.putObject(bucket: "mp", object("big", storage: "old"), condition: .always, enqueue: [])
        let upload = try await catalog.createUpload(bucket: "mp", key: "big", contentType: "text/plain", metadata: [:])
        #expect(try await catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 1, size: 5, etag: "\"p1\"", storageKey: "p1a", checksum: nil)) == nil)
        // Part 1 sent again replaces the first: its storage key comes back to be removed.
        #expect(try await catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 1, size: 5, etag: "\"p1\"", storageKey: "p1b", checksum: nil)) == "p1a")
        _ = try await catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 2, size: 3, etag: "\"p2\"", storageKey: "p2", checksum: nil))
        #expect(try await catalog.parts(uploadID: upload.uploadID).map(\.number) == [1, 2])
        let garbage = try await catalog.completeUpload(uploadID: upload.uploadID, object("big", etag: "\"x-2\"", storage: "joined"), enqueue: [])
        #expect(Set(garbage) == ["p1b", "p2", "old"])
        #expect(try await catalog.object(bucket: "mp", key: "big")?.storageKey == "joined")
        #expect(try await catalog.upload(id: upload.uploadID) == nil)
        // Completed once: a second completion, a part or an abort finds no upload.
        await #expect(throws: CatalogError.self) { try await catalog.completeUpload(uploadID: upload.uploadID, object("big"), enqueue: []) }
        await #expect(throws: CatalogError.self) {
            try await catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 3, size: 1, etag: "\"p3\"", storageKey: "p3", checksum: nil))
        }
        await #expect(throws: CatalogError.self) { try await catalog.abortUpload(uploadID: upload.uploadID) }
    }

    @Test func bucketsGoOnlyWhenTheyHoldNoObjects() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createBucket(named: "keep", settings: [:])
        await #expect(throws: CatalogError.self) { try await catalog.createBucket(named: "keep", settings: [:]) }
        _ = try await catalog.putObject(bucket: "keep", object("k"), condition: .always, enqueue: [])
        await #expect(throws: CatalogError.self) { try await catalog.deleteBucket(named: "keep") }
        #expect(try await catalog.bucketUsage(named: "keep") == BucketUsage(objects: 1, bytes: 1, uploadsInProgress: 0))
        #expect(try await catalog.updateBucket(named: "keep", settings: ["description": "kept"]).settings == ["description": "kept"])
        #expect(try await catalog.bucket(named: "keep")?.settings == ["description": "kept"])
        await #expect(throws: CatalogError.self) { try await catalog.updateBucket(named: "nope", settings: [:]) }
        await #expect(throws: CatalogError.self) { try await catalog.bucketUsage(named: "nope") }
        #expect(try await catalog.deleteObject(bucket: "keep", key: "k") == "s/k")
        #expect(try await catalog.deleteObject(bucket: "keep", key: "k") == nil)
        // An upload in progress does not keep a bucket (as in S3): it is aborted with it.
        let upload = try await catalog.createUpload(bucket: "keep", key: "u", contentType: nil, metadata: [:])
        _ = try await catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 1, size: 1, etag: "\"p\"", storageKey: "part", checksum: nil))
        #expect(try await catalog.deleteBucket(named: "keep") == ["part"])
        #expect(try await catalog.bucket(named: "keep") == nil)
        await #expect(throws: CatalogError.self) { try await catalog.deleteBucket(named: "keep") }
        await #expect(throws: CatalogError.self) { try await catalog.putObject(bucket: "keep", object("k"), condition: .always, enqueue: []) }
    }
}
