// KymaCatalog: the `Catalog` protocol and the manifest values it stores (tables, extents,
// nodes, work units). The catalog is external from byte one: its only implementation is
// PostgreSQL (KymaCatalogPostgres); there is no embedded or in-memory catalog anywhere.

import KymaCore

/// The durable manifest of a Kyma deployment: which tables exist, which extents (immutable
/// objects in the object store) make up each table, which nodes are alive, and the queue of
/// background work.
///
/// ## Visibility
/// An extent becomes visible to queries only when `commitExtents` returns, and callers commit
/// only after the extent's object is fully written to the object store. A commit is atomic: all
/// of its extents appear together or none does. `replaceExtents` (compaction) swaps extents in
/// one transaction: a reader sees either the old set or the new one.
///
/// ## Idempotence
/// `commitExtents` with a `BatchPart` commits those lines of that input at most once per batch
/// id and table: a retry of committed lines returns `.alreadyCommitted` and changes nothing (a
/// retry of the caller's own commit whose answer was lost returns `.committed`). A batch's
/// inputs are fixed by `beginBatch`; other inputs under the same id are refused.
///
/// ## Uploads and garbage
/// Writers register each object key with `registerUploads` before uploading it; the commit
/// that references the key removes the registration. The garbage collector deletes objects
/// nobody references: registrations older than its grace (`takeStaleUploads`, after which a
/// commit naming them fails with `.uploadCollected`), and unregistered, unreferenced objects
/// (`knownObjectKeys`). Retired extents carry their own deadline, set by `replaceExtents`.

/// ## Work units
/// `claimWork` hands each unit to at most one worker at a time; a claim is a lease that expires,
/// after which another worker may claim the unit again (so a crashed worker's unit is retried).
/// `completeWork`/`failWork` succeed only for the current lease owner. A failed unit with
/// attempts left is pending again after a backoff (2^attempts seconds, at most 5 minutes).
///
/// ## Errors
/// Every method throws `CatalogError`, whose cases say what failed: the catalog cannot be
/// reached (`cannotConnect`, `connectionLost`), a migration failed, a name or id conflict, a
/// constraint, or a missing table.
///
/// ## Concurrency
/// Implementations are `Sendable`; every method may be called from many tasks and processes at
/// once. Consistency across processes comes from the database's transactions.
public protocol Catalog: Sendable {
    /// Where the catalog lives, with any password removed, for messages.
    var description: String { get }

    // MARK: Tables
    func createTable(_ definition: TableDefinition) async throws(CatalogError) -> TableInfo
    func table(named name: String) async throws(CatalogError) -> TableInfo?
    func tables() async throws(CatalogError) -> [TableInfo]
    /// Drops the table and its extent records; the caller deletes the objects.
    func dropTable(named name: String) async throws(CatalogError)
    /// Replaces the table's format options (the caller validates them with the format). Extents
    /// already written keep the options they were written with until compaction rewrites them.
    /// Throws `.tableNotFound`.
    func setTableOptions(named name: String, options: [String: String]) async throws(CatalogError) -> TableInfo

    // MARK: Extents
    /// Records that `objectKeys` are about to be uploaded for `table`. MUST precede the upload.
    func registerUploads(table: String, objectKeys: [String]) async throws(CatalogError)
    /// Records a client batch's inputs (SHA-256 hex digests; order does not matter) or checks
    /// them against those recorded, and returns what the batch has committed so far. Throws
    /// `.batchMismatch` when the id was used with other inputs.
    func beginBatch(table: String, batchID: String, inputDigests: [String]) async throws(CatalogError) -> BatchProgress
    /// Makes `extents` visible atomically. Every key MUST have been registered; a key the
    /// collector took fails the commit with `.uploadCollected`. With `batch` (begun with
    /// `beginBatch`), lines already committed give `.alreadyCommitted`, and lines overlapping a
    /// part committed with another cut give `.batchMismatch`.
    func commitExtents(table: String, extents: [ExtentRecord], batch: BatchPart?) async throws(CatalogError) -> CommitOutcome
    /// The extents the committed parts of `batchIDs` made: those still active (ids, rows) and
    /// how many are not (compacted into others, or dropped).
    func batchOutput(table: String, batchIDs: [String]) async throws(CatalogError) -> BatchOutput
    /// Active extents of `table` that may hold rows matching `filter` (catalog-level pruning).
    func extents(table: String, matching filter: ExtentFilter) async throws(CatalogError) -> [ExtentRecord]
    /// How many active extents `table` has and their rows and bytes, without the extents
    /// (EXPLAIN ANALYZE's denominators). `.tableNotFound` for an unknown table.
    func extentTotals(table: String) async throws(CatalogError) -> ExtentTotals
    /// Retires `retiring` and adds `adding` (registered, as for commits) in one transaction; the
    /// retired objects may be deleted `graceSeconds` later. Throws `conflict` when one of
    /// `retiring` is no longer active (another compaction won).
    func replaceExtents(table: String, retiring: [ExtentID], adding: [ExtentRecord], graceSeconds: Int) async throws(CatalogError)
    /// Retired extents past their own deadline, of `table` or of every table: their objects may
    /// be deleted.
    func retiredExtentsDue(table: String?) async throws(CatalogError) -> [ExtentRecord]
    /// Removes the records of retired extents whose objects were deleted.
    func purgeRetiredExtents(_ ids: [ExtentID]) async throws(CatalogError)
    /// Removes upload registrations older than `olderThanSeconds` and returns their keys: the
    /// uploads were abandoned, and their objects may be deleted.
    func takeStaleUploads(olderThanSeconds: Int) async throws(CatalogError) -> [String]
    /// The keys among `objectKeys` the catalog knows: an extent's (active or retired), a
    /// registered upload's, a bucket object's or a multipart part's.
    func knownObjectKeys(_ objectKeys: [String]) async throws(CatalogError) -> Set<String>

    // MARK: Vector collections
    /// Registers a collection; `.conflict` when the name exists.
    func createVectorCollection(_ definition: VectorCollectionDefinition) async throws(CatalogError) -> VectorCollectionInfo
    func vectorCollection(named name: String) async throws(CatalogError) -> VectorCollectionInfo?
    func vectorCollections() async throws(CatalogError) -> [VectorCollectionInfo]
    /// Removes the collection and returns the keys of its objects (the caller deletes them).
    func dropVectorCollection(named name: String) async throws(CatalogError) -> [String]
    /// Registers an uploaded object after every earlier one. A repeated `batchID` is a no-op
    /// (`.alreadyCommitted`), so a retried write is applied once.
    func appendVectorObject(collectionID: Int64, kind: VectorObjectKind, objectKey: String, recordCount: Int64,
                            batchID: String?) async throws(CatalogError) -> CommitOutcome
    /// The collection's objects in sequence order.
    func vectorObjects(collectionID: Int64) async throws(CatalogError) -> [VectorObject]
    /// Compaction: in one transaction, registers `segment` and removes the objects up to and
    /// including `throughSequence`; returns their keys. `.conflict` if another compaction won.
    func replaceVectorObjects(collectionID: Int64, throughSequence: Int64, segmentKey: String, recordCount: Int64) async throws(CatalogError) -> [String]

    // MARK: Nodes
    func registerNode(_ node: NodeIdentity) async throws(CatalogError)
    func heartbeat(nodeID: String) async throws(CatalogError)
    /// Removes a node that is shutting down, so coordinators stop placing units on it at once
    /// rather than after its heartbeat ages out. Removing an unknown node is not an error.
    func unregisterNode(id: String) async throws(CatalogError)
    /// Every registered node; those not seen within `timeoutSeconds` are reported dead.
    func nodes(timeoutSeconds: Int) async throws(CatalogError) -> [NodeStatus]

    // MARK: API keys (the HTTP server's principals)
    /// Stores a new key: its record and the SHA-256 of its secret. `.conflict` if the id exists.
    func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws(CatalogError)
    /// The key with `id` and its secret's hash, revoked or not; nil when there is none.
    func apiKey(id: String) async throws(CatalogError) -> (record: APIKeyRecord, secretHash: String)?
    /// Every key, revoked ones included, oldest first.
    func apiKeys() async throws(CatalogError) -> [APIKeyRecord]
    /// Revokes the key; false when no unrevoked key has `id`. Revocation is immediate: servers
    /// look keys up per request.
    func revokeAPIKey(id: String) async throws(CatalogError) -> Bool
    /// Gives a key an S3 access key and secret (SigV4 needs the secret itself).
    func setS3Credentials(keyID: String, accessKey: String, secret: String) async throws(CatalogError)
    /// The key with this S3 access key and its secret, revoked or not; nil when there is none.
    func s3Credentials(accessKey: String) async throws(CatalogError) -> (record: APIKeyRecord, secret: String)?

    // MARK: Buckets (the S3 surface): the index of objects whose bytes are in the store
    /// `.conflict` when the name exists.
    func createBucket(named name: String, settings: [String: String]) async throws(CatalogError) -> BucketInfo
    func bucket(named name: String) async throws(CatalogError) -> BucketInfo?
    func buckets() async throws(CatalogError) -> [BucketInfo]
    /// Replaces a bucket's settings; `.tableNotFound` when there is no such bucket.
    func updateBucket(named name: String, settings: [String: String]) async throws(CatalogError) -> BucketInfo
    /// Objects, bytes and uploads in progress of a bucket; `.tableNotFound` when there is none.
    func bucketUsage(named name: String) async throws(CatalogError) -> BucketUsage
    /// Removes a bucket that holds no objects, aborting its multipart uploads in progress (as S3
    /// does); returns their parts' storage keys. `.conflict` when it holds objects,
    /// `.tableNotFound` when there is none.
    func deleteBucket(named name: String) async throws(CatalogError) -> [String]
    /// Indexes `object` under its key (replacing what was there, as `condition` allows),
    /// records a put event and enqueues `work`, in one transaction. Returns the storage key it
    /// replaced, if any.
    func putObject(bucket: String, _ object: BucketObject, condition: PutCondition, enqueue work: [WorkRequest]) async throws(CatalogError) -> String?
    func object(bucket: String, key: String) async throws(CatalogError) -> BucketObject?
    /// Removes the key (and records a delete event); returns its storage key, nil when absent.
    func deleteObject(bucket: String, key: String) async throws(CatalogError) -> String?
    /// Objects whose keys start with `prefix` and sort after `after` (byte order), up to `limit`.
    func listObjects(bucket: String, prefix: String, after: String?, limit: Int) async throws(CatalogError) -> [BucketObject]
    func createUpload(bucket: String, key: String, contentType: String?, metadata: [String: String]) async throws(CatalogError) -> MultipartUpload
    func upload(id: String) async throws(CatalogError) -> MultipartUpload?
    func uploads(bucket: String) async throws(CatalogError) -> [MultipartUpload]
    /// Records a part (a part number uploaded again replaces the earlier one, whose storage
    /// key is returned). `.tableNotFound` when the upload is gone.
    func putPart(uploadID: String, _ part: UploadPart) async throws(CatalogError) -> String?
    func parts(uploadID: String) async throws(CatalogError) -> [UploadPart]
    /// Ends an upload as `object` (its parts already joined into `object.storageKey`) in one
    /// transaction: the upload and its part records go, the object is indexed with a put event.
    /// Returns the storage keys no longer referenced: the replaced object's and every part's.
    /// `.tableNotFound` when the upload is gone (completed or aborted by another request).
    func completeUpload(uploadID: String, _ object: BucketObject, enqueue work: [WorkRequest]) async throws(CatalogError) -> [String]
    /// Removes an upload; returns its parts' storage keys. `.tableNotFound` when it is gone.
    func abortUpload(uploadID: String) async throws(CatalogError) -> [String]

    // MARK: Bucket rules
    /// `.conflict` when the bucket has a rule of that name, `.tableNotFound` without the bucket.
    func createRule(_ rule: BucketRule) async throws(CatalogError) -> BucketRule
    /// The bucket's rules, highest priority first.
    func rules(bucket: String) async throws(CatalogError) -> [BucketRule]
    /// False when the bucket has no rule `id`.
    func deleteRule(bucket: String, id: Int64) async throws(CatalogError) -> Bool

    // MARK: Work units
    /// Adds a source to `bucket`; `.conflict` when the bucket has one of that name.
    func createSource(_ source: BucketSource) async throws(CatalogError) -> BucketSource
    /// The bucket's sources, with their credentials (for the processes that read them).
    func sources(bucket: String) async throws(CatalogError) -> [BucketSource]
    /// Removes a source, its rules and what scans recorded of it; false when there was none.
    func deleteSource(bucket: String, name: String) async throws(CatalogError) -> Bool
    /// Of `seen`, the versions a scan of the source has not recorded (new keys, changed ETags).
    func unrecordedVersions(sourceID: Int64, _ seen: [SourceObjectVersion]) async throws(CatalogError) -> [SourceObjectVersion]
    /// Records `versions` as seen: the next scan treats them as known.
    func recordVersions(sourceID: Int64, _ versions: [SourceObjectVersion]) async throws(CatalogError)
    /// The version a scan recorded for `key`, nil when none.
    func recordedVersion(sourceID: Int64, key: String) async throws(CatalogError) -> SourceObjectVersion?
    func enqueueWork(kind: String, payload: String, deduplicationKey: String?) async throws(CatalogError) -> WorkUnitID
    func claimWork(kinds: [String], owner: String, leaseSeconds: Int) async throws(CatalogError) -> WorkUnit?
    func renewLease(_ id: WorkUnitID, owner: String, leaseSeconds: Int) async throws(CatalogError)
    func completeWork(_ id: WorkUnitID, owner: String, result: String) async throws(CatalogError)
    /// Gives a unit back: pending again while it has attempts left, else failed.
    func failWork(_ id: WorkUnitID, owner: String, error: String) async throws(CatalogError)
    func workUnit(_ id: WorkUnitID) async throws(CatalogError) -> WorkUnit?
    /// Units of `kind` whose payload contains `payload` (JSON containment: each given field has
    /// that value), newest first, up to `limit`.
    func workUnits(kind: String, payload: [String: String], limit: Int) async throws(CatalogError) -> [WorkUnit]
}
