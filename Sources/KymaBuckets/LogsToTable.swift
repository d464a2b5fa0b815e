// The logs-to-table pipeline: an object's bytes (decompressed by its Content-Encoding, its key's
// extension or its magic bytes) as JSON lines or text lines into a Kyma table, through the one
// LogIngestor, as a client batch named by the job: a job run again (a worker killed mid-job, a
// retry) commits what is missing and nothing twice. A newer version of an object replaces the
// rows of the versions before it: once its own rows are committed, the extents the earlier
// versions' batches made are retired (an extent compacted since into others keeps its rows,
// and the job's result counts it).

import KymaCatalog
import KymaIngest
import KymaObjectStore

public struct LogsToTable: Sendable {
    /// Lines per atomic part of the batch (bounded memory for large objects).
    public static let linesPerPart = 200_000

    public let ingestor: LogIngestor

    public init(ingestor: LogIngestor) { self.ingestor = ingestor }

    static func kind(of object: BucketObject, option: String?) -> InputKind {
        switch option {
        case "json": return .jsonLines
        case "text": return .text
        default:
            var key = Substring(object.key.lowercased())
            for suffix in [".gz", ".zst"] where key.hasSuffix(suffix) { key = key.dropLast(suffix.count) }
            return [".json", ".jsonl", ".ndjson"].contains(where: { key.hasSuffix($0) }) ? .jsonLines : .text
        }
    }

    /// Ingests the object's lines into the rule's table as the job's batch.
    public func run(_ job: IngestJob, rule: BucketRule, object: BucketObject, bytes stored: [UInt8], nowNanos: Int64) async throws(BucketsError) -> Outcome {
        let bytes = try ObjectContent.decompressed(object, option: rule.options["compression"], bytes: stored)
        var options = IngestOptions()
        options.kind = Self.kind(of: object, option: rule.options["format"])
        options.timeField = rule.options["time_field"]
        if let format = rule.options["time_format"].flatMap(TimeFormat.init(rawValue:)) { options.timeFormat = format }
        options.onError = rule.options["on_error"] == "reject" ? .reject : .skip
        let report: IngestReport
        do {
            report = try await ingestor.ingest(bytes, into: rule.destination, batchID: "s3:" + job.identity, linesPerPart: Self.linesPerPart,
                                               options: options, nowNanos: nowNanos)
        } catch {
            throw BucketsError(wrapping: error)
        }
        let replaced = try await retireEarlierVersions(of: job, table: rule.destination)
        return Outcome(report: report, replacedRows: replaced.rows, keptCompacted: replaced.kept)
    }

    public struct Outcome: Sendable {
        public var report: IngestReport
        /// Rows of earlier versions of the object taken out of the table.
        public var replacedRows: Int64
        /// Extents of earlier versions compacted since into others: their rows stay.
        public var keptCompacted: Int
    }

    /// Retires the extents of the earlier versions' batches of this object and rule.
    func retireEarlierVersions(of job: IngestJob, table: String) async throws(BucketsError) -> (rows: Int64, kept: Int) {
        do {
            return try await retire(earlierThan: job, table: table)
        } catch {
            throw BucketsError(wrapping: error)
        }
    }

    func retire(earlierThan job: IngestJob, table: String) async throws(CatalogError) -> (rows: Int64, kept: Int) {
        let catalog = ingestor.catalog
        let earlier = try await catalog.workUnits(kind: IngestJob.kind, payload: ["bucket": job.bucket, "key": job.key], limit: 10_000).compactMap { unit -> String? in
            guard let other = try? IngestJob.decode(unit.payload), other.rule == job.rule, other.source == job.source, other.etag != job.etag else { return nil }
            return "s3:" + other.identity
        }
        guard !earlier.isEmpty else { return (0, 0) }
        for _ in 0..<10 {
            let output = try await catalog.batchOutput(table: table, batchIDs: earlier)
            guard !output.active.isEmpty else { return (0, output.gone) }
            if try await retireUnlessRaced(output.active, table: table) { return (output.activeRows, output.gone) }
            // A compaction took some of them meanwhile: look again.
        }
        throw .conflict("could not retire the earlier versions of '\(job.key)' in \(table): compactions kept winning")
    }

    /// Retires `extents`; false when one was no longer active (a compaction won the race).
    func retireUnlessRaced(_ extents: [ExtentID], table: String) async throws(CatalogError) -> Bool {
        do {
            try await ingestor.catalog.replaceExtents(table: table, retiring: extents, adding: [], graceSeconds: 300)
            return true
        } catch {
            if case .conflict = error { return false }
            throw error
        }
    }
}
