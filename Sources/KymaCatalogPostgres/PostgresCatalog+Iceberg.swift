// The Iceberg SQL catalog on PostgreSQL (migration 0003): pyiceberg's tables, commit by
// compare-and-set on metadata_location.

import KymaCatalog

extension PostgresCatalog: IcebergTableCatalog {
    public var swapsMetadataPointer: Bool { true }

    public func createNamespace(_ namespace: String) async throws(CatalogError) {
        guard !namespace.isEmpty else { throw .invalidArgument("namespace is empty") }
        _ = try await withConnection(operation: "create namespace", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
                VALUES ($1, $2, 'exists', 'true') ON CONFLICT DO NOTHING
                """, [self.icebergCatalogName, namespace])
        }
    }

    public func namespaces() async throws(CatalogError) -> [String] {
        let rows = try await withConnection(operation: "list namespaces", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT DISTINCT namespace AS ns FROM iceberg_namespace_properties WHERE catalog_name = $1
                UNION SELECT DISTINCT table_namespace FROM iceberg_tables WHERE catalog_name = $1 ORDER BY 1
                """, [self.icebergCatalogName])
        }
        return rows.rows.indices.compactMap { rows.value($0, "ns") }
    }

    public func metadataLocation(_ table: IcebergTableIdentifier) async throws(CatalogError) -> String? {
        let rows = try await withConnection(operation: "load iceberg table", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT metadata_location FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3
                """, [self.icebergCatalogName, table.namespace, table.name])
        }
        return rows.rows.isEmpty ? nil : rows.value(0, "metadata_location")
    }

    public func commitTable(_ table: IcebergTableIdentifier, _ commit: IcebergCommit) async throws(CatalogError) -> String {
        let name = icebergCatalogName
        let expected = commit.expected, newLocation = commit.newLocation
        let affected = try await withConnection(operation: "commit iceberg table") { connection throws(CatalogError) -> Int in
            if let expected {
                return try connection.execute("""
                    UPDATE iceberg_tables SET metadata_location = $4, previous_metadata_location = $5
                    WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3 AND metadata_location = $5
                    """, [name, table.namespace, table.name, newLocation, expected]).affectedRows
            }
            return try connection.execute("""
                INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location, iceberg_type)
                VALUES ($1, $2, $3, $4, NULL, 'TABLE') ON CONFLICT DO NOTHING
                """, [name, table.namespace, table.name, newLocation]).affectedRows
        }
        guard affected == 1 else {
            throw .conflict(expected == nil ? "iceberg table \(table) already exists" : "iceberg table \(table) changed since it was read (concurrent commit)")
        }
        return newLocation
    }

    public func icebergTables(namespace: String) async throws(CatalogError) -> [IcebergTableIdentifier] {
        let rows = try await withConnection(operation: "list iceberg tables", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT table_name FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 ORDER BY table_name
                """, [self.icebergCatalogName, namespace])
        }
        return rows.rows.indices.compactMap { rows.value($0, "table_name").map { IcebergTableIdentifier(namespace: namespace, name: $0) } }
    }

    public func dropIcebergTable(_ table: IcebergTableIdentifier) async throws(CatalogError) {
        let rows = try await withConnection(operation: "drop iceberg table") { connection throws(CatalogError) in
            try connection.execute("DELETE FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3",
                                   [self.icebergCatalogName, table.namespace, table.name])
        }
        if rows.affectedRows == 0 { throw .tableNotFound(table.description) }
    }
}
