// An ingest job: one object version (bucket, key, ETag) through one rule. Jobs are catalog work
// units of kind `bucket-ingest`, created in the transaction that indexes the object (for each
// rule that takes it), by `POST /{bucket}/ingest`, or by a discovery scan; their deduplication
// key makes each (object version, rule) one job however often it is asked for.

import Foundation
import KymaCatalog
import KymaCore

public struct IngestJob: Sendable, Hashable, Codable {
    public static let kind = "bucket-ingest"

    public var bucket: String
    public var key: String
    public var etag: String
    public var rule: Int64

    public init(bucket: String, key: String, etag: String, rule: Int64) {
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.rule = rule
    }

    /// The object version and rule, hashed: a fixed-length name for the job and its ingest batch.
    public var identity: String {
        SHA256.hexDigest(Array("\(bucket)\u{0}\(key)\u{0}\(etag)\u{0}\(rule)".utf8))
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

    /// The jobs of the rules that take `object`, highest priority first.
    public static func requests(for object: BucketObject, bucket: String, rules: [BucketRule]) -> [WorkRequest] {
        rules.filter { $0.takes(object) }.map { IngestJob(bucket: bucket, key: object.key, etag: object.etag, rule: $0.id).request }
    }
}
