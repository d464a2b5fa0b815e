// What `kyma worker` runs: ingest jobs claimed from the catalog (FOR UPDATE SKIP LOCKED, so
// workers on any number of machines share them without a coordinator), each under a lease it
// renews while it works. A worker that dies loses its lease and another takes the job; the
// job's batch makes the second run commit only what the first did not. A failed job goes back
// with backoff until its attempts run out, then stays failed with its error.

import KymaCatalog
import KymaCore
import KymaFormat
import KymaIceberg
import KymaIngest
import KymaObjectStore
import KymaVector

public struct BucketWorker: Sendable {
    public let catalog: any Catalog
    public let store: any ObjectStore
    public let logs: LogsToTable
    public let documents: DocumentsToCollection
    public let owner: String
    public var leaseSeconds: Int
    /// Opens a source's store for jobs of objects in sources; nil: such jobs fail.
    public var openSource: SourceStoreOpener?
    /// Iceberg tables for rows-to-iceberg jobs; nil: such jobs fail.
    public var iceberg: RowsToIceberg?

    /// `environment` is where an embedder's `embedder_key_env` is looked up.
    public init(catalog: any Catalog, store: any ObjectStore, formats: FormatRegistry, owner: String, leaseSeconds: Int = 60,
                environment: [String: String] = [:], openSource: SourceStoreOpener? = nil, iceberg: IcebergTables? = nil) {
        self.openSource = openSource
        self.iceberg = iceberg.map(RowsToIceberg.init)
        self.catalog = catalog
        self.store = store
        self.logs = LogsToTable(ingestor: LogIngestor(catalog: catalog, store: store, formats: formats))
        self.documents = DocumentsToCollection(collections: VectorCollectionCache(catalog: catalog, store: store), environment: environment)
        self.owner = owner
        self.leaseSeconds = leaseSeconds
    }

    public enum Outcome: Sendable, Equatable {
        /// Rows committed; `replacedRows` of earlier versions retired; `keptCompacted` extents of
        /// earlier versions compacted since (their rows stay).
        case ingested(IngestJob, rows: Int, skippedLines: Int, replacedRows: Int64 = 0, keptCompacted: Int = 0)
        /// A document's chunks written to a collection; `removed` chunks of an earlier version deleted.
        case embedded(IngestJob, chunks: Int, removed: Int)
        /// Rows appended to an Iceberg table (0 and `alreadyCommitted` when an earlier run did it).
        case appended(IngestJob, rows: Int, alreadyCommitted: Bool)
        /// Nothing to do: the object changed or went, or the rule went, since the job was made.
        case skipped(IngestJob, reason: String)
        case failed(IngestJob?, error: String)
    }

    /// Claims and runs one job; nil when none is ready.
    public func runOnce(nowNanos: @Sendable () -> Int64) async throws(BucketsError) -> Outcome? {
        let unit: WorkUnit
        do {
            guard let claimed = try await catalog.claimWork(kinds: [IngestJob.kind], owner: owner, leaseSeconds: leaseSeconds) else { return nil }
            unit = claimed
        } catch {
            throw BucketsError(wrapping: error)
        }
        let job: IngestJob
        do {
            job = try IngestJob.decode(unit.payload)
        } catch {
            try await finish(unit, failure: error.description)
            return .failed(nil, error: error.description)
        }
        // The lease is renewed while the job runs, so a long object is not taken by another.
        let renewal = Task { [catalog, owner, leaseSeconds] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(max(1, leaseSeconds / 3)))
                if Task.isCancelled { break }
                try? await catalog.renewLease(unit.id, owner: owner, leaseSeconds: leaseSeconds)
            }
        }
        defer { renewal.cancel() }
        do throws(BucketsError) {
            let outcome = try await run(job, nowNanos: nowNanos())
            let result: String
            switch outcome {
            case .ingested(_, let rows, let skipped, let replaced, let kept):
                result = "{\"rows\":\(rows),\"skipped_lines\":\(skipped),\"replaced_rows\":\(replaced),\"earlier_extents_compacted\":\(kept)}"
            case .embedded(_, let chunks, let removed): result = "{\"chunks\":\(chunks),\"removed_chunks\":\(removed)}"
            case .appended(_, let rows, let already): result = "{\"iceberg_rows\":\(rows),\"already_committed\":\(already)}"
            case .skipped(_, let reason): result = "{\"skipped\":\(JSONText.quote(reason))}"
            case .failed: result = "{}"
            }
            do {
                try await catalog.completeWork(unit.id, owner: owner, result: result)
            } catch {
                throw BucketsError(wrapping: error)
            }
            return outcome
        } catch {
            try await finish(unit, failure: error.description)
            return .failed(job, error: error.description)
        }
    }

    func finish(_ unit: WorkUnit, failure: String) async throws(BucketsError) {
        do {
            try await catalog.failWork(unit.id, owner: owner, error: failure)
        } catch {
            throw BucketsError(wrapping: error)
        }
    }

    /// The job against the object and rule as they are now.
    func run(_ job: IngestJob, nowNanos: Int64) async throws(BucketsError) -> Outcome {
        do {
            guard let rule = try await catalog.rules(bucket: job.bucket).first(where: { $0.id == job.rule }) else {
                return .skipped(job, reason: "rule \(job.rule) no longer exists")
            }
            let pipeline = try Pipeline.validated(rule)
            let object: BucketObject
            let bytes: [UInt8]
            if let sourceID = job.source {
                guard let source = try await catalog.sources(bucket: job.bucket).first(where: { $0.id == sourceID }) else {
                    return .skipped(job, reason: "source \(sourceID) no longer exists")
                }
                guard let openSource else { throw BucketsError(.source, "this worker was started without access to sources") }
                let store = try openSource(source)
                let key = try ObjectKey(job.key)
                // The version the job is for, still there: else a later scan makes the new one's job.
                guard try await catalog.recordedVersion(sourceID: sourceID, key: job.key)?.etag == job.etag,
                      try await Self.headIfPresent(key, in: store).map(SourceDiscovery.version)?.etag == job.etag else {
                    return .skipped(job, reason: "'\(job.key)' in source '\(source.name)' changed or went after the job was made")
                }
                bytes = try await store.get(key)
                object = BucketObject(key: job.key, size: Int64(bytes.count), etag: job.etag, contentType: nil, metadata: [:],
                                      storageKey: job.key, checksum: nil)
            } else {
                guard let current = try await catalog.object(bucket: job.bucket, key: job.key), current.etag == job.etag else {
                    return .skipped(job, reason: "'\(job.key)' changed or was deleted after the job was made; its new version has a job of its own")
                }
                object = current
                bytes = object.size == 0 ? [] : try await store.get(try ObjectKey(object.storageKey))
            }
            switch pipeline {
            case .logsToTable:
                let outcome = try await logs.run(job, rule: rule, object: object, bytes: bytes, nowNanos: nowNanos)
                return .ingested(job, rows: outcome.report.rowsWritten, skippedLines: outcome.report.skipped.count,
                                 replacedRows: outcome.replacedRows, keptCompacted: outcome.keptCompacted)
            case .documentsToCollection:
                let report = try await documents.run(job, rule: rule, object: object, bytes: bytes)
                return .embedded(job, chunks: report.chunks, removed: report.removed)
            case .rowsToIceberg:
                guard let iceberg else { throw BucketsError(.iceberg, "this worker was started without Iceberg tables") }
                let report = try await iceberg.run(job, rule: rule, object: object, bytes: bytes, nowMillis: nowNanos / 1_000_000)
                return .appended(job, rows: report.rows, alreadyCommitted: report.alreadyCommitted)
            }
        } catch {
            throw BucketsError(wrapping: error)
        }
    }

    /// The object's metadata, nil when it is not there (any other failure is thrown).
    static func headIfPresent(_ key: ObjectKey, in store: any ObjectStore) async throws(ObjectStoreError) -> ObjectMetadata? {
        do {
            return try await store.head(key)
        } catch {
            if error.kind == .notFound { return nil }
            throw error
        }
    }
}
