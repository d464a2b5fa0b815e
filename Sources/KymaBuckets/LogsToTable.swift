// The logs-to-table pipeline: an object's bytes (decompressed by its Content-Encoding, its key's
// extension or its magic bytes) as JSON lines or text lines into a Kyma table, through the one
// LogIngestor, as a client batch named by the job: a job run again (a worker killed mid-job, a
// retry) commits what is missing and nothing twice.

import KymaCatalog
import KymaCompression
import KymaIngest
import KymaObjectStore

public struct LogsToTable: Sendable {
    /// Largest object after decompression.
    public static let maxBytes = 1 << 31
    /// Lines per atomic part of the batch (bounded memory for large objects).
    public static let linesPerPart = 200_000

    public let ingestor: LogIngestor

    public init(ingestor: LogIngestor) { self.ingestor = ingestor }

    enum Compression { case none, gzip, zstd }

    static func compression(of object: BucketObject, option: String?, bytes: [UInt8]) -> Compression {
        switch option {
        case "gzip": return .gzip
        case "zstd": return .zstd
        case "none": return .none
        default: break
        }
        let encoding = object.metadata["content-encoding"]?.lowercased() ?? ""
        if encoding.contains("gzip") || object.key.hasSuffix(".gz") { return .gzip }
        if encoding.contains("zstd") || object.key.hasSuffix(".zst") { return .zstd }
        if bytes.starts(with: [0x1F, 0x8B]) { return .gzip }
        if bytes.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        return .none
    }

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
        var bytes = stored
        do {
            switch Self.compression(of: object, option: rule.options["compression"], bytes: stored) {
            case .none: break
            case .gzip: bytes = try Deflate.gunzip(stored, limit: Self.maxBytes)
            case .zstd: bytes = try ZstdStream.decompress(stored, limit: Self.maxBytes)
            }
        } catch {
            throw BucketsError(.badObject, "'\(object.key)' does not decompress: \(error)")
        }
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
