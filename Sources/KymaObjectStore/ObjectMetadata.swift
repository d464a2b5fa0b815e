// Object metadata and listing pages.

/// What `head` and `list` report about one object.
public struct ObjectMetadata: Sendable, Hashable {
    public var key: ObjectKey
    public var size: Int
    /// Last modification time in milliseconds since the Unix epoch, when the store reports it.
    public var lastModifiedMillis: Int64?
    /// The store's entity tag, when it has one (S3 does; a file system does not).
    public var etag: String?

    public init(key: ObjectKey, size: Int, lastModifiedMillis: Int64? = nil, etag: String? = nil) {
        self.key = key
        self.size = size
        self.lastModifiedMillis = lastModifiedMillis
        self.etag = etag
    }
}

/// One page of a listing.
public struct ObjectListing: Sendable, Hashable {
    public var objects: [ObjectMetadata]
    /// Pass to the next `list` call; nil on the last page.
    public var nextPageToken: String?

    public init(objects: [ObjectMetadata], nextPageToken: String?) {
        self.objects = objects
        self.nextPageToken = nextPageToken
    }
}
