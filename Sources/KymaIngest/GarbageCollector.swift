// The garbage collector of table objects: retired extents past their own deadline, and uploads
// no commit took (a writer that crashed, or whose commit failed, after uploading); and of the
// S3 surface's bytes under `buckets/` that no object or part names (a put whose index
// transaction never ran).

import KymaCatalog
import KymaCore
import KymaObjectStore

/// Deletes objects nothing references. Safe beside running writers: an upload is registered
/// in the catalog before it starts, so the collector deletes only registrations older than
/// `uploadGraceSeconds` (taking them first, so a late commit of one fails instead of pointing
/// at a deleted object) and unregistered objects nobody references that are older than the
/// same grace. Retired extents are deleted when their own deadline (set at retirement) passes.
public struct GarbageCollector: Sendable {
    public let catalog: any Catalog
    public let store: any ObjectStore
    /// How old an upload must be before the collector may call it abandoned.
    public var uploadGraceSeconds: Int

    public init(catalog: any Catalog, store: any ObjectStore, uploadGraceSeconds: Int = 3600) {
        self.catalog = catalog
        self.store = store
        self.uploadGraceSeconds = uploadGraceSeconds
    }

    /// What one pass deleted.
    public struct Report: Sendable, Hashable {
        public var retiredExtents = 0
        public var abandonedUploads = 0
        public var unreferencedObjects = 0
    }

    /// Deletes the objects of retired extents past their deadline (of `table`, or of every
    /// table), then their records.
    public func collectRetired(table: String?) async throws(IngestError) -> Int {
        do {
            let retired = try await catalog.retiredExtentsDue(table: table)
            for extent in retired { try await store.delete(try ObjectKey(extent.objectKey)) }
            try await catalog.purgeRetiredExtents(retired.map(\.id))
            return retired.count
        } catch {
            throw IngestError(wrapping: error)
        }
    }

    /// Deletes abandoned uploads: registrations older than the grace (taken from the catalog
    /// first), then extent objects under `tables/` and bucket bytes under `buckets/` that
    /// nothing in the catalog names and that are older than the grace.
    public func collectAbandoned(nowMillis: Int64) async throws(IngestError) -> (registered: Int, unregistered: Int) {
        do {
            let stale = try await catalog.takeStaleUploads(olderThanSeconds: uploadGraceSeconds)
            for key in stale { try await store.delete(try ObjectKey(key)) }
            // Listed first, checked after: an object committed or registered in between is
            // known to the check, and one uploaded later is not listed.
            let cutoff = nowMillis - Int64(uploadGraceSeconds) * 1000
            let extents = try await store.listAll(prefix: "tables/").filter { $0.key.rawValue.contains("/extents/") }
            let candidates = (extents + (try await store.listAll(prefix: "buckets/"))).filter { object in
                object.lastModifiedMillis.map { $0 <= cutoff } ?? false
            }
            var deleted = 0
            var start = 0
            while start < candidates.count {
                let page = candidates[start..<min(start + 1000, candidates.count)]
                start += page.count
                let known = try await catalog.knownObjectKeys(page.map(\.key.rawValue))
                for object in page where !known.contains(object.key.rawValue) {
                    try await store.delete(object.key)
                    deleted += 1
                }
            }
            return (stale.count, deleted)
        } catch {
            throw IngestError(wrapping: error)
        }
    }

    /// Both passes: retired extents of every table, then abandoned uploads.
    public func collect(nowMillis: Int64) async throws(IngestError) -> Report {
        var report = Report()
        report.retiredExtents = try await collectRetired(table: nil)
        let abandoned = try await collectAbandoned(nowMillis: nowMillis)
        report.abandonedUploads = abandoned.registered
        report.unreferencedObjects = abandoned.unregistered
        return report
    }
}
