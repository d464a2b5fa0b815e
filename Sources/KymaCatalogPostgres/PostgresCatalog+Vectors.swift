// Vector collections in the catalog: definitions and the ordered write-ahead and segment objects
// (migration 0002). The vectors themselves are only ever on the object store.

import KymaCatalog
import KymaCore

extension PostgresCatalog {
    public func createVectorCollection(_ definition: VectorCollectionDefinition) async throws(CatalogError) -> VectorCollectionInfo {
        guard !definition.name.isEmpty else { throw .invalidArgument("collection name is empty") }
        let rows = try await withConnection(operation: "create vector collection") { connection throws(CatalogError) in
            do throws(CatalogError) {
                return try connection.execute("""
                    INSERT INTO vector_collections (name, dimension, metric, m, ef_construction, quantization) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
                    """, [definition.name, String(definition.dimension), definition.metric, String(definition.m), String(definition.efConstruction),
                        definition.quantization],
                    operation: "create vector collection")
            } catch .conflict {
                throw .conflict("vector collection '\(definition.name)' already exists")
            }
        }
        return VectorCollectionInfo(id: Int64(rows.value(0, "id") ?? "") ?? 0, definition: definition)
    }

    public func vectorCollection(named name: String) async throws(CatalogError) -> VectorCollectionInfo? {
        let rows = try await withConnection(operation: "vector collection lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.collectionColumns + " WHERE name = $1", [name])
        }
        return Self.collections(from: rows).first
    }

    public func vectorCollections() async throws(CatalogError) -> [VectorCollectionInfo] {
        let rows = try await withConnection(operation: "list vector collections", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.collectionColumns + " ORDER BY name")
        }
        return Self.collections(from: rows)
    }

    public func dropVectorCollection(named name: String) async throws(CatalogError) -> [String] {
        let rows = try await withConnection(operation: "drop vector collection") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> PostgresRows in
                let keys = try connection.execute("""
                    SELECT o.object_key FROM vector_objects o JOIN vector_collections c ON c.id = o.collection_id WHERE c.name = $1
                    """, [name])
                let deleted = try connection.execute("DELETE FROM vector_collections WHERE name = $1", [name])
                if deleted.affectedRows == 0 { throw .tableNotFound(name) }
                return keys
            }
        }
        return rows.rows.indices.compactMap { rows.value($0, "object_key") }
    }

    public func appendVectorObject(collectionID: Int64, kind: VectorObjectKind, objectKey: String, recordCount: Int64,
                                   batchID: String?) async throws(CatalogError) -> CommitOutcome {
        try await withConnection(operation: "append vector object", idempotent: batchID != nil) { connection throws(CatalogError) in
            // A retried batch id inserts nothing (the partial unique index), so it is applied once.
            let inserted = try connection.execute("""
                INSERT INTO vector_objects (collection_id, kind, object_key, record_count, batch_id) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (collection_id, batch_id) WHERE batch_id IS NOT NULL DO NOTHING
                """, [String(collectionID), kind.rawValue, objectKey, String(recordCount), batchID], operation: "append vector object")
            return inserted.affectedRows == 0 ? .alreadyCommitted : .committed
        }
    }

    public func vectorObjects(collectionID: Int64) async throws(CatalogError) -> [VectorObject] {
        let rows = try await withConnection(operation: "list vector objects", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT sequence, kind, object_key, record_count FROM vector_objects WHERE collection_id = $1 ORDER BY sequence
                """, [String(collectionID)])
        }
        return rows.rows.indices.compactMap { i in
            guard let kind = VectorObjectKind(rawValue: rows.value(i, "kind") ?? "") else { return nil }
            return VectorObject(sequence: Int64(rows.value(i, "sequence") ?? "") ?? 0, kind: kind, objectKey: rows.value(i, "object_key") ?? "",
                                recordCount: Int64(rows.value(i, "record_count") ?? "") ?? 0)
        }
    }

    public func replaceVectorObjects(collectionID: Int64, throughSequence: Int64, segmentKey: String, recordCount: Int64) async throws(CatalogError) -> [String] {
        let rows = try await withConnection(operation: "compact vector objects") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> PostgresRows in
                // Lock the collection row: two compactions of one collection run one after the other.
                _ = try connection.execute("SELECT id FROM vector_collections WHERE id = $1 FOR UPDATE", [String(collectionID)])
                let removed = try connection.execute("""
                    DELETE FROM vector_objects WHERE collection_id = $1 AND sequence <= $2 RETURNING object_key
                    """, [String(collectionID), String(throughSequence)])
                guard removed.affectedRows > 0 else { throw .conflict("the objects to compact are gone (a concurrent compaction won)") }
                // The segment takes the place of what it replaces: a sequence before every later write.
                _ = try connection.execute("""
                    INSERT INTO vector_objects (collection_id, sequence, kind, object_key, record_count) VALUES ($1, $2, 'segment', $3, $4)
                    """, [String(collectionID), String(throughSequence), segmentKey, String(recordCount)])
                return removed
            }
        }
        return rows.rows.indices.compactMap { rows.value($0, "object_key") }
    }

    static let collectionColumns = "SELECT id, name, dimension, metric, m, ef_construction, quantization FROM vector_collections"

    static func collections(from rows: PostgresRows) -> [VectorCollectionInfo] {
        rows.rows.indices.map { i in
            VectorCollectionInfo(id: Int64(rows.value(i, "id") ?? "") ?? 0, definition: VectorCollectionDefinition(
                name: rows.value(i, "name") ?? "", dimension: Int(rows.value(i, "dimension") ?? "") ?? 0, metric: rows.value(i, "metric") ?? "",
                m: Int(rows.value(i, "m") ?? "") ?? 16, efConstruction: Int(rows.value(i, "ef_construction") ?? "") ?? 200,
                quantization: rows.value(i, "quantization") ?? "none"))
        }
    }
}
