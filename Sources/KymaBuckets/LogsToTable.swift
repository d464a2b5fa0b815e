// The logs-to-table pipeline: an object's bytes (decompressed by its Content-Encoding, its key's
// extension or its magic bytes) as JSON lines or text lines into a Kyma table, through the one
// LogIngestor, as a client batch named by the job: a job run again (a worker killed mid-job, a
// retry) commits what is missing and nothing twice.

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
    public func run(_ job: IngestJob, rule: BucketRule, object: BucketObject, bytes stored: [UInt8], nowNanos: Int64) async throws(BucketsError) -> IngestReport {
        let bytes = try ObjectContent.decompressed(object, option: rule.options["compression"], bytes: stored)
        var options = IngestOptions()
        options.kind = Self.kind(of: object, option: rule.options["format"])
        options.timeField = rule.options["time_field"]
        if let format = rule.options["time_format"].flatMap(TimeFormat.init(rawValue:)) { options.timeFormat = format }
        options.onError = rule.options["on_error"] == "reject" ? .reject : .skip
        do {
            return try await ingestor.ingest(bytes, into: rule.destination, batchID: "s3:" + job.identity, linesPerPart: Self.linesPerPart,
                                             options: options, nowNanos: nowNanos)
        } catch {
            throw BucketsError(wrapping: error)
        }
    }
}
