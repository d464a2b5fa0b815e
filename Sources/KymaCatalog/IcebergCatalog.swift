// The catalog side of Apache Iceberg tables: which metadata file is current for each table,
// swapped by compare-and-set. The PostgreSQL implementation uses exactly the tables pyiceberg's
// SqlCatalog and the Iceberg JDBC catalog use, so those tools read Kyma's tables and Kyma reads
// theirs.

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

/// Where Iceberg tables' metadata pointers live.
///
/// ## Contract
/// `commitTable` replaces the metadata location only if the current one is still `expected`
/// (nil: the table must not exist yet, and is created). A lost race is `.conflict`; the caller
/// re-reads, re-applies its change to the new base and retries.
public protocol IcebergTableCatalog: Sendable {
    /// The catalog name written in every row (pyiceberg's `catalog_name`).
    var icebergCatalogName: String { get }
    func createNamespace(_ namespace: String) async throws(CatalogError)
    func namespaces() async throws(CatalogError) -> [String]
    func metadataLocation(_ table: IcebergTableIdentifier) async throws(CatalogError) -> String?
    func commitTable(_ table: IcebergTableIdentifier, expected: String?, newLocation: String) async throws(CatalogError)
    func icebergTables(namespace: String) async throws(CatalogError) -> [IcebergTableIdentifier]
    func dropIcebergTable(_ table: IcebergTableIdentifier) async throws(CatalogError)
}
