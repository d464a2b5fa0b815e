// KymaObjectStore: the `ObjectStore` protocol and its value types (keys, ranges, listings,
// errors, retry policy). Object storage is Kyma's only source of truth; implementations live in
// their own modules (KymaObjectStoreLocal, KymaObjectStoreS3, KymaObjectStoreCache).

/// S3-shaped, write-once object storage: the only durable home of Kyma's data.
///
/// ## Objects
/// An object is an immutable byte string under an `ObjectKey`. Kyma writes each key once (keys
/// carry unique ids), so readers and caches may assume that the bytes under a key never change.
/// `put` on an existing key replaces it atomically, but a cache on another node may keep serving
/// the old bytes: code that needs to publish a new version writes a new key and switches to it
/// through the catalog.
///
/// ## Atomicity
/// - `put` is atomic: a concurrent or later reader sees either no object or all of its bytes,
///   never a prefix, even if the writer dies mid-call. When `put` returns, the object is durable.
/// - `putIfAbsent` is the only way to win a race: of several callers creating one key, exactly
///   one succeeds; the others throw `ObjectStoreError` with kind `.alreadyExists`.
/// - `delete` is idempotent: deleting a missing key succeeds.
///
/// ## Reads
/// - `get(_:range:)` supports bounded ranges, open-ended ranges and suffix ranges (the last N
///   bytes, used to read format footers without a `head`). A range that runs past the end is cut
///   at the end; a range starting at or after the end throws `.invalidRange`; a suffix longer
///   than the object returns the whole object.
/// - `list(prefix:pageToken:maxKeys:)` returns keys starting with `prefix` in lexicographic
///   (UTF-8 byte) order, at most `maxKeys` a page, with a token for the next page. The prefix is
///   a plain string match, not a directory.
///
/// ## Errors
/// Every failure is an `ObjectStoreError` whose `kind` a retry policy can act on: `.timeout`,
/// `.service` and `.unavailable` are transient; every other kind is final. Invalid keys are
/// rejected before any I/O with `.invalidKey`.
///
/// ## Concurrency
/// Implementations are `Sendable` and safe to call from many tasks at once. Calls may block in
/// I/O on a thread of their own (see `BlockingIO`), never on the cooperative pool.
public protocol ObjectStore: Sendable {
    /// A short description for logs and errors, such as `file:///data` or `s3://bucket/prefix`.
    var description: String { get }

    func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError)
    func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError)
    func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8]
    func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8]
    func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata
    func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing
    func delete(_ key: ObjectKey) async throws(ObjectStoreError)
}

extension ObjectStore {
    /// Every key under `prefix`, following page tokens to the end.
    public func listAll(prefix: String, pageSize: Int = 1000) async throws(ObjectStoreError) -> [ObjectMetadata] {
        var result: [ObjectMetadata] = []
        var token: String? = nil
        repeat {
            let page = try await list(prefix: prefix, pageToken: token, maxKeys: pageSize)
            result.append(contentsOf: page.objects)
            token = page.nextPageToken
        } while token != nil
        return result
    }
}
