// External sources of buckets (migration 0009): their definitions with credentials, and the
// object versions discovery scans have recorded.

import KymaCatalog
import KymaCore

extension PostgresCatalog {
    public func createSource(_ source: BucketSource) async throws(CatalogError) -> BucketSource {
        let rows = try await withConnection(operation: "create source") { connection throws(CatalogError) in
            let bucket = try Self.bucketID(source.bucket, connection)
            do throws(CatalogError) {
                return try connection.execute("""
                    INSERT INTO bucket_sources (bucket_id, name, endpoint, region, remote_bucket, prefix, access_key_id, secret_key)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id
                    """, [bucket, source.name, source.endpoint, source.region, source.remoteBucket, source.prefix, source.accessKeyID, source.secretKey],
                    operation: "create source")
            } catch .conflict {
                throw .conflict("bucket '\(source.bucket)' has a source named '\(source.name)'")
            }
        }
        var created = source
        created.id = Int64(rows.value(0, "id") ?? "") ?? 0
        return created
    }

    public func sources(bucket: String) async throws(CatalogError) -> [BucketSource] {
        let rows = try await withConnection(operation: "list sources", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT s.id, s.name, s.endpoint, s.region, s.remote_bucket, s.prefix, s.access_key_id, s.secret_key
                FROM bucket_sources s JOIN buckets b ON b.id = s.bucket_id WHERE b.name = $1 ORDER BY s.name
                """, [bucket], operation: "list sources")
        }
        return rows.rows.indices.map { i in
            BucketSource(id: Int64(rows.value(i, "id") ?? "") ?? 0, bucket: bucket, name: rows.value(i, "name") ?? "",
                         endpoint: rows.value(i, "endpoint") ?? "", region: rows.value(i, "region") ?? "", remoteBucket: rows.value(i, "remote_bucket") ?? "",
                         prefix: rows.value(i, "prefix") ?? "", accessKeyID: rows.value(i, "access_key_id"), secretKey: rows.value(i, "secret_key"))
        }
    }

    public func deleteSource(bucket: String, name: String) async throws(CatalogError) -> Bool {
        let rows = try await withConnection(operation: "delete source") { connection throws(CatalogError) in
            try connection.execute("DELETE FROM bucket_sources s USING buckets b WHERE s.bucket_id = b.id AND b.name = $1 AND s.name = $2",
                                   [bucket, name], operation: "delete source")
        }
        return rows.affectedRows > 0
    }

    public func unrecordedVersions(sourceID: Int64, _ seen: [SourceObjectVersion]) async throws(CatalogError) -> [SourceObjectVersion] {
        guard !seen.isEmpty else { return [] }
        let rows = try await withConnection(operation: "compare source objects", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT key, etag FROM source_objects WHERE source_id = $1 AND key = ANY($2::text[])
                """, [String(sourceID), SQLText.textArray(seen.map(\.key))], operation: "compare source objects")
        }
        var recorded: [String: String] = [:]
        for i in rows.rows.indices { recorded[rows.value(i, "key") ?? ""] = rows.value(i, "etag") }
        return seen.filter { recorded[$0.key] != $0.etag }
    }

    public func recordVersions(sourceID: Int64, _ versions: [SourceObjectVersion]) async throws(CatalogError) {
        guard !versions.isEmpty else { return }
        _ = try await withConnection(operation: "record source objects", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                INSERT INTO source_objects (source_id, key, etag, size)
                SELECT $1, k, e, s FROM unnest($2::text[], $3::text[], $4::bigint[]) AS v(k, e, s)
                ON CONFLICT (source_id, key) DO UPDATE SET etag = EXCLUDED.etag, size = EXCLUDED.size, seen_at = now()
                """, [String(sourceID), SQLText.textArray(versions.map(\.key)), SQLText.textArray(versions.map(\.etag)),
                      SQLText.textArray(versions.map { String($0.size) })], operation: "record source objects")
        }
    }

    public func recordedVersion(sourceID: Int64, key: String) async throws(CatalogError) -> SourceObjectVersion? {
        let rows = try await withConnection(operation: "source object", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("SELECT etag, size FROM source_objects WHERE source_id = $1 AND key = $2", [String(sourceID), key],
                                   operation: "source object")
        }
        guard let etag = rows.value(0, "etag") else { return nil }
        return SourceObjectVersion(key: key, etag: etag, size: Int64(rows.value(0, "size") ?? "") ?? 0)
    }
}
