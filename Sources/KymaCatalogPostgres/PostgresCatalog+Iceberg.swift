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

extension PostgresCatalog: IcebergNamespaceCatalog {
    public func namespaceProperties(_ namespace: String) async throws(CatalogError) -> [String: String]? {
        let rows = try await withConnection(operation: "load namespace", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT property_key, property_value FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2
                UNION ALL SELECT 'exists', 'true' FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2
                """, [self.icebergCatalogName, namespace])
        }
        guard !rows.rows.isEmpty else { return nil }
        var properties: [String: String] = [:]
        for i in rows.rows.indices { properties[rows.value(i, "property_key") ?? ""] = rows.value(i, "property_value") ?? "" }
        return properties
    }

    public func createNamespace(_ namespace: String, properties: [String: String]) async throws(CatalogError) {
        guard !namespace.isEmpty else { throw .invalidArgument("namespace is empty") }
        var all = properties
        all["exists"] = "true"
        let keys = all.keys.sorted()
        let values = keys.map { all[$0] ?? "" }
        let name = icebergCatalogName
        _ = try await withConnection(operation: "create namespace") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) in
                let existing = try connection.execute("""
                    SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2
                    UNION ALL SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 LIMIT 1
                    """, [name, namespace])
                guard existing.rows.isEmpty else { throw .conflict("namespace \(namespace) already exists") }
                try connection.execute("""
                    INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
                    SELECT $1, $2, k, v FROM unnest($3::text[], $4::text[]) AS p(k, v)
                    """, [name, namespace, SQLText.textArray(keys), SQLText.textArray(values)])
            }
        }
    }

    public func updateNamespaceProperties(_ namespace: String, updates: [String: String], removals: [String]) async throws(CatalogError) -> [String] {
        guard try await namespaceProperties(namespace) != nil else { throw .tableNotFound("namespace \(namespace)") }
        let keys = updates.keys.sorted()
        let values = keys.map { updates[$0] ?? "" }
        let name = icebergCatalogName
        return try await withConnection(operation: "update namespace") { connection throws(CatalogError) -> [String] in
            try connection.transaction { () throws(CatalogError) -> [String] in
                let removed = try connection.execute("""
                    DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2 AND property_key = ANY($3::text[])
                    RETURNING property_key
                    """, [name, namespace, SQLText.textArray(removals)])
                let gone = Set(removed.rows.indices.compactMap { removed.value($0, "property_key") })
                try connection.execute("""
                    INSERT INTO iceberg_namespace_properties (catalog_name, namespace, property_key, property_value)
                    SELECT $1, $2, k, v FROM unnest($3::text[], $4::text[]) AS p(k, v)
                    ON CONFLICT (catalog_name, namespace, property_key) DO UPDATE SET property_value = EXCLUDED.property_value
                    """, [name, namespace, SQLText.textArray(keys), SQLText.textArray(values)])
                return removals.filter { !gone.contains($0) }
            }
        }
    }

    public func dropNamespace(_ namespace: String) async throws(CatalogError) {
        let name = icebergCatalogName
        try await withConnection(operation: "drop namespace") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) in
                let tables = try connection.execute("SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 LIMIT 1", [name, namespace])
                guard tables.rows.isEmpty else { throw .conflict("namespace \(namespace) is not empty") }
                let removed = try connection.execute("DELETE FROM iceberg_namespace_properties WHERE catalog_name = $1 AND namespace = $2", [name, namespace])
                guard removed.affectedRows > 0 else { throw .tableNotFound("namespace \(namespace)") }
            }
        }
    }

    public func renameIcebergTable(_ from: IcebergTableIdentifier, to: IcebergTableIdentifier) async throws(CatalogError) {
        let name = icebergCatalogName
        try await withConnection(operation: "rename iceberg table") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) in
                let taken = try connection.execute("SELECT 1 FROM iceberg_tables WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3",
                                                   [name, to.namespace, to.name])
                guard taken.rows.isEmpty else { throw .conflict("iceberg table \(to) already exists") }
                let moved = try connection.execute("""
                    UPDATE iceberg_tables SET table_namespace = $4, table_name = $5
                    WHERE catalog_name = $1 AND table_namespace = $2 AND table_name = $3
                    """, [name, from.namespace, from.name, to.namespace, to.name])
                guard moved.affectedRows == 1 else { throw .tableNotFound(from.description) }
            }
        }
    }
}
