// The augmented-S3 surface's records: buckets, the objects in them (their bytes are objects of
// the object store, named by `storageKey`), multipart uploads and their parts.

public struct BucketInfo: Sendable, Hashable {
    public var id: Int64
    public var name: String
    public var createdAtMillis: Int64
    /// Free-form settings of the bucket (a description, labels), set by the admin API.
    public var settings: [String: String]

    public init(id: Int64, name: String, createdAtMillis: Int64, settings: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.createdAtMillis = createdAtMillis
        self.settings = settings
    }
}

/// What a bucket holds.
public struct BucketUsage: Sendable, Hashable {
    public var objects: Int64
    public var bytes: Int64
    public var uploadsInProgress: Int64

    public init(objects: Int64, bytes: Int64, uploadsInProgress: Int64) {
        self.objects = objects
        self.bytes = bytes
        self.uploadsInProgress = uploadsInProgress
    }
}

/// An object of a bucket as the catalog indexes it.
public struct BucketObject: Sendable, Hashable {
    public var key: String
    public var size: Int64
    /// The S3 ETag, quotes included (`"md5hex"` or `"md5hex-N"` for multipart).
    public var etag: String
    public var contentType: String?
    /// The headers a GET returns as they were put: user metadata (`x-amz-meta-*`) and the
    /// stored system headers (Content-Encoding, Content-Disposition, ...), names lowercased.
    public var metadata: [String: String]
    /// Where the bytes are in the object store.
    public var storageKey: String
    /// `algorithm:base64` of the x-amz-checksum the upload carried, if any.
    public var checksum: String?
    public var lastModifiedMillis: Int64

    public init(key: String, size: Int64, etag: String, contentType: String?, metadata: [String: String], storageKey: String,
                checksum: String?, lastModifiedMillis: Int64 = 0) {
        self.key = key
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.storageKey = storageKey
        self.checksum = checksum
        self.lastModifiedMillis = lastModifiedMillis
    }
}

public struct MultipartUpload: Sendable, Hashable {
    public var uploadID: String
    public var bucket: String
    public var key: String
    public var contentType: String?
    public var metadata: [String: String]
    public var initiatedMillis: Int64

    public init(uploadID: String, bucket: String, key: String, contentType: String?, metadata: [String: String], initiatedMillis: Int64) {
        self.uploadID = uploadID
        self.bucket = bucket
        self.key = key
        self.contentType = contentType
        self.metadata = metadata
        self.initiatedMillis = initiatedMillis
    }
}

public struct UploadPart: Sendable, Hashable {
    public var number: Int
    public var size: Int64
    public var etag: String
    public var storageKey: String
    public var checksum: String?
    public var lastModifiedMillis: Int64

    public init(number: Int, size: Int64, etag: String, storageKey: String, checksum: String?, lastModifiedMillis: Int64 = 0) {
        self.number = number
        self.size = size
        self.etag = etag
        self.storageKey = storageKey
        self.checksum = checksum
        self.lastModifiedMillis = lastModifiedMillis
    }
}

/// How a put treats an object already under the key (HTTP's conditional requests; ETags
/// compare without their quotes).
public enum PutCondition: Sendable, Hashable {
    case always
    /// `If-Match`: only when an object has the key and this ETag (`*`: any ETag);
    /// `.conflict` otherwise.
    case ifMatch(String)
    /// `If-None-Match`: only when no object has the key with this ETag (`*`: no object has
    /// the key at all); `.conflict` otherwise.
    case ifNoneMatch(String)

    /// Whether a put may replace `current` (the key's ETag now, nil when the key is free).
    public func allows(current: String?) -> Bool {
        func bare(_ tag: String) -> Substring {
            var t = Substring(tag)
            if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = t.dropFirst().dropLast() }
            return t
        }
        switch self {
        case .always: return true
        case .ifMatch(let tag): return current.map { tag == "*" || bare($0) == bare(tag) } ?? false
        case .ifNoneMatch(let tag): return current.map { tag != "*" && bare($0) != bare(tag) } ?? true
        }
    }
}

/// A rule of a bucket: objects whose keys match `include` (and none of `exclude`), of one of
/// `contentTypes` (any when empty) and within the size range, are turned by `pipeline` (with
/// `options`) into `destination`. Matching and pipelines live in KymaBuckets; the catalog keeps
/// the rule.
public struct BucketRule: Sendable, Hashable, Codable {
    public var id: Int64
    public var bucket: String
    public var name: String
    public var pipeline: String
    public var destination: String
    public var options: [String: String]
    /// Key patterns (`*` within a path segment, `**` across segments, `?` one character); empty
    /// includes every key.
    public var include: [String]
    public var exclude: [String]
    public var contentTypes: [String]
    public var minSize: Int64?
    public var maxSize: Int64?
    /// Higher first when several rules match one object.
    public var priority: Int
    public var enabled: Bool
    /// The source whose objects the rule reads (its name); nil: the bucket's own objects.
    public var source: String?

    public init(id: Int64 = 0, bucket: String, name: String, pipeline: String, destination: String, options: [String: String] = [:],
                include: [String] = [], exclude: [String] = [], contentTypes: [String] = [], minSize: Int64? = nil, maxSize: Int64? = nil,
                priority: Int = 0, enabled: Bool = true, source: String? = nil) {
        self.id = id
        self.bucket = bucket
        self.name = name
        self.pipeline = pipeline
        self.destination = destination
        self.options = options
        self.include = include
        self.exclude = exclude
        self.contentTypes = contentTypes
        self.minSize = minSize
        self.maxSize = maxSize
        self.priority = priority
        self.enabled = enabled
        self.source = source
    }
}

/// Another S3 bucket a bucket reads from: its endpoint, region, bucket, key prefix and the
/// credentials to read it with. The catalog keeps the secret; APIs never return it.
public struct BucketSource: Sendable, Hashable {
    public var id: Int64
    public var bucket: String
    public var name: String
    public var endpoint: String
    public var region: String
    public var remoteBucket: String
    public var prefix: String
    public var accessKeyID: String?
    public var secretKey: String?

    public init(id: Int64 = 0, bucket: String, name: String, endpoint: String, region: String, remoteBucket: String, prefix: String = "",
                accessKeyID: String? = nil, secretKey: String? = nil) {
        self.id = id
        self.bucket = bucket
        self.name = name
        self.endpoint = endpoint
        self.region = region
        self.remoteBucket = remoteBucket
        self.prefix = prefix
        self.accessKeyID = accessKeyID
        self.secretKey = secretKey
    }
}

/// What a discovery scan saw of one object of a source.
public struct SourceObjectVersion: Sendable, Hashable {
    public var key: String
    public var etag: String
    public var size: Int64

    public init(key: String, etag: String, size: Int64) {
        self.key = key
        self.etag = etag
        self.size = size
    }
}

/// A work unit to enqueue together with another catalog change (an ingest job created in the
/// transaction that indexes the object it is for). A deduplication key already present
/// enqueues nothing.
public struct WorkRequest: Sendable, Hashable {
    public var kind: String
    public var payload: String
    public var deduplicationKey: String?

    public init(kind: String, payload: String, deduplicationKey: String?) {
        self.kind = kind
        self.payload = payload
        self.deduplicationKey = deduplicationKey
    }
}
