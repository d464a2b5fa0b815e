// An ingest job: one object version (bucket, key, ETag) through one rule. Jobs are catalog work
// units of kind `bucket-ingest`, created in the transaction that indexes the object (for each
// rule that takes it), by `POST /{bucket}/ingest`, or by a discovery scan of a source (then
// `source` names it and the key is the source's); their deduplication key makes each
// (object version, rule) one job however often it is asked for.

import Foundation
import KymaCatalog
import KymaCore

public struct IngestJob: Sendable, Hashable, Codable {
    public static let kind = "bucket-ingest"

    public var bucket: String
    public var key: String
    public var etag: String
    public var rule: Int64
    /// The source (its id) the object is in; nil: the bucket itself.
    public var source: Int64?

    public init(bucket: String, key: String, etag: String, rule: Int64, source: Int64? = nil) {
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.rule = rule
        self.source = source
    }

    /// The object version and rule, hashed: a fixed-length name for the job and its ingest batch.
    public var identity: String {
        let base = "\(bucket)\u{0}\(key)\u{0}\(etag)\u{0}\(rule)"
        return SHA256.hexDigest(Array((source.map { base + "\u{0}source \($0)" } ?? base).utf8))
    }

    public var request: WorkRequest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding four strings and a number cannot fail.
        let payload = (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return WorkRequest(kind: Self.kind, payload: payload, deduplicationKey: "bucket-ingest:" + identity)
    }

    public static func decode(_ payload: String) throws(BucketsError) -> IngestJob {
        do {
            return try JSONDecoder().decode(IngestJob.self, from: Data(payload.utf8))
        } catch {
            throw BucketsError(.invalidRule, "not an ingest job: \(error)")
        }
    }

    /// The jobs of the rules that take `object`, highest priority first: rules of the bucket's
    /// own objects when `source` is nil, else the rules of that source.
    public static func requests(for object: BucketObject, bucket: String, rules: [BucketRule], source: BucketSource? = nil) -> [WorkRequest] {
        rules.filter { $0.source == source?.name && $0.takes(object) }
            .map { IngestJob(bucket: bucket, key: object.key, etag: object.etag, rule: $0.id, source: source?.id).request }
    }
}
