// The garbage collector and the S3 surface's bytes: what an object or a multipart part names
// stays; bytes a put left without its index entry (the process died between the store write
// and the catalog transaction) go once past the grace; extent objects are judged as before.

import Testing
import KymaCatalog
import KymaCatalogPostgres
import KymaIngest
import KymaObjectStore
import KymaTestSupport

@Suite("Garbage collection of bucket bytes")
struct BucketGarbageTests {
    @Test func onlyUnreferencedBucketBytesGo() async throws {
        let f = try await IngestFixture.make()
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        for key in ["buckets/b/objects/kept", "buckets/b/objects/orphan", "buckets/b/uploads/u/1-part"] {
            try await f.store.put(try ObjectKey(key), [1, 2, 3])
        }
        _ = try await f.catalog.putObject(bucket: "b", BucketObject(key: "k", size: 3, etag: "\"e\"", contentType: nil, metadata: [:],
                                                                    storageKey: "buckets/b/objects/kept", checksum: nil), condition: .always, enqueue: [])
        let upload = try await f.catalog.createUpload(bucket: "b", key: "big", contentType: nil, metadata: [:])
        _ = try await f.catalog.putPart(uploadID: upload.uploadID, UploadPart(number: 1, size: 3, etag: "\"p\"", storageKey: "buckets/b/uploads/u/1-part", checksum: nil))

        // Within the grace nothing goes: the orphan may be a put whose index write is under way.
        let young = try await GarbageCollector(catalog: f.catalog, store: f.store, uploadGraceSeconds: 3600).collect(nowMillis: 0)
        #expect(young.unreferencedObjects == 0)
        let report = try await GarbageCollector(catalog: f.catalog, store: f.store, uploadGraceSeconds: 0).collect(nowMillis: Int64.max / 2)
        #expect(report.unreferencedObjects == 1, "\(report)")
        let left = try await f.store.listAll(prefix: "buckets/").map(\.key.rawValue).sorted()
        #expect(left == ["buckets/b/objects/kept", "buckets/b/uploads/u/1-part"])
    }
}
