// The catalog side of Apache Iceberg tables: which metadata file is current for each table and
// how a change is committed. Two families implement it:
//  - pointer catalogs (the SQL catalog on PostgreSQL, AWS Glue): the writer writes the complete
//    new metadata file and the catalog swaps the table's pointer by compare-and-set;
//  - the REST catalog: the writer sends the change as the REST spec's requirements and updates
//    and the server applies them and writes the metadata file.
// `KymaIceberg` builds every change in both forms, so one operation works on every catalog.

/// A table's identity in an Iceberg catalog.
public struct IcebergTableIdentifier: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public var description: String { "\(namespace).\(name)" }
}

/// One commit to an Iceberg catalog.
public struct IcebergCommit: Sendable {
    /// The metadata location the change was computed from; nil creates the table.
    public var expected: String?
    /// The complete new metadata file, already written to the object store (pointer catalogs).
    public var newLocation: String
    /// The same change as the REST spec's request body (JSON): `CreateTableRequest` when
    /// creating, `CommitTableRequest` (`requirements`, `updates`) otherwise. Commits to a pointer
    /// catalog (`swapsMetadataPointer`) may leave it empty, except when creating.
    public var restRequest: [UInt8]

    public init(expected: String?, newLocation: String, restRequest: [UInt8]) {
        self.expected = expected
        self.newLocation = newLocation
        self.restRequest = restRequest
    }
}

/// Where Iceberg tables' metadata pointers live.
///
/// ## Contract
/// `commitTable` makes the change current only if the table is still at `expected` (nil: the
/// table must not exist yet and is created) and returns the now-current metadata location. A
/// lost race is `.conflict`: the caller re-reads, re-applies its change to the new base and
/// retries. Any other error leaves the table as it was, or (for a failure after the server
/// received the request) in a state the next `metadataLocation` read reveals; callers re-read.
///
/// ## Concurrency
/// Implementations are `Sendable` and safe to call from many tasks and processes; conflicting
/// commits are serialised by the catalog (a row update, a versioned Glue table, the REST server).
public protocol IcebergTableCatalog: Sendable {
    /// The catalog name (pyiceberg's `catalog_name` for the SQL catalog).
    var icebergCatalogName: String { get }
    /// false: the catalog applies `restRequest` and writes metadata itself (REST); true: the
    /// caller writes `newLocation` and the catalog swaps the pointer.
    var swapsMetadataPointer: Bool { get }
    func createNamespace(_ namespace: String) async throws(CatalogError)
    func namespaces() async throws(CatalogError) -> [String]
    func metadataLocation(_ table: IcebergTableIdentifier) async throws(CatalogError) -> String?
    func commitTable(_ table: IcebergTableIdentifier, _ commit: IcebergCommit) async throws(CatalogError) -> String
    func icebergTables(namespace: String) async throws(CatalogError) -> [IcebergTableIdentifier]
    func dropIcebergTable(_ table: IcebergTableIdentifier) async throws(CatalogError)
}

/// The rest of an Iceberg catalog's namespace and table bookkeeping, for a catalog that serves
/// the Iceberg REST API itself (Kyma's own SQL catalog behind `kyma serve`).
///
/// ## Contract
/// Namespaces exist once created (with at least the property `exists`) or while a table is in
/// them. `createNamespace(_:properties:)` MUST fail with `.conflict` when the namespace exists;
/// `dropNamespace` with `.tableNotFound` when it does not and `.conflict` while it holds a
/// table; `renameIcebergTable` with `.tableNotFound` when the source is missing and `.conflict`
/// when the destination exists. Each is one transaction.
public protocol IcebergNamespaceCatalog: IcebergTableCatalog {
    /// The namespace's properties; nil when it does not exist.
    func namespaceProperties(_ namespace: String) async throws(CatalogError) -> [String: String]?
    func createNamespace(_ namespace: String, properties: [String: String]) async throws(CatalogError)
    /// Sets `updates` and removes `removals`; returns the removal keys that were not there.
    func updateNamespaceProperties(_ namespace: String, updates: [String: String], removals: [String]) async throws(CatalogError) -> [String]
    func dropNamespace(_ namespace: String) async throws(CatalogError)
    func renameIcebergTable(_ from: IcebergTableIdentifier, to: IcebergTableIdentifier) async throws(CatalogError)
}
