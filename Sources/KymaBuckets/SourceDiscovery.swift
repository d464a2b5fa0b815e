// A discovery scan of a source: list the source's objects, and for each version not recorded by
// an earlier scan (a new key, or a key whose ETag changed) make the jobs of the source's rules
// that take it, then record the version. Jobs are made before the version is recorded, so a
// scan that dies between the two makes the same jobs again next time (their deduplication keys
// make that a no-op); nothing seen is ever left without its jobs.

import KymaCatalog
import KymaObjectStore

/// Opens the object store of a source (an S3 client with the source's endpoint and
/// credentials). Supplied by the process's composition root: the engine knows no store type.
public typealias SourceStoreOpener = @Sendable (BucketSource) throws(BucketsError) -> any ObjectStore

public enum SourceDiscovery {
    public struct Report: Sendable, Equatable {
        /// Objects listed.
        public var listed = 0
        /// Versions new to the catalog (new keys or changed ETags).
        public var changed = 0
        /// Jobs asked for (existing ones are not made twice).
        public var jobs = 0

        public init(listed: Int = 0, changed: Int = 0, jobs: Int = 0) {
            self.listed = listed
            self.changed = changed
            self.jobs = jobs
        }
    }

    /// The version marker of a listed object: its ETag, or where the store has none its size
    /// and modification time.
    static func version(_ metadata: ObjectMetadata) -> SourceObjectVersion {
        SourceObjectVersion(key: metadata.key.rawValue, etag: metadata.etag ?? "size \(metadata.size) modified \(metadata.lastModifiedMillis ?? 0)",
                            size: Int64(metadata.size))
    }

    public static func scan(_ source: BucketSource, store: any ObjectStore, catalog: any Catalog, pageSize: Int = 1000) async throws(BucketsError) -> Report {
        var report = Report()
        do {
            let rules = try await catalog.rules(bucket: source.bucket).filter { $0.source == source.name }
            var token: String? = nil
            repeat {
                let page = try await store.list(prefix: "", pageToken: token, maxKeys: pageSize)
                token = page.nextPageToken
                report.listed += page.objects.count
                let changed = try await catalog.unrecordedVersions(sourceID: source.id, page.objects.map(version))
                report.changed += changed.count
                for version in changed {
                    let object = BucketObject(key: version.key, size: version.size, etag: version.etag, contentType: nil, metadata: [:],
                                              storageKey: version.key, checksum: nil)
                    for request in IngestJob.requests(for: object, bucket: source.bucket, rules: rules, source: source) {
                        _ = try await catalog.enqueueWork(kind: request.kind, payload: request.payload, deduplicationKey: request.deduplicationKey)
                        report.jobs += 1
                    }
                }
                try await catalog.recordVersions(sourceID: source.id, changed)
            } while token != nil
        } catch {
            throw BucketsError(wrapping: error)
        }
        return report
    }
}
