// API keys (migration 0005): records and secret hashes; the secret itself is never stored.

import Foundation
import KymaCatalog

extension PostgresCatalog {
    public func createAPIKey(_ record: APIKeyRecord, secretHash: String) async throws(CatalogError) {
        if let reason = Self.invalidNameReason(record.name) { throw .invalidArgument("key name \(reason)") }
        let tables: String? = try record.tables.map { tables throws(CatalogError) in try JSONCoding.encode(tables) }
        try await withConnection(operation: "create API key") { connection throws(CatalogError) in
            do throws(CatalogError) {
                try connection.execute("""
                    INSERT INTO api_keys (id, name, role, tables, secret_hash) VALUES ($1, $2, $3, $4::jsonb, $5)
                    """, [record.id, record.name, record.role.rawValue, tables, secretHash], operation: "create API key")
            } catch .conflict {
                throw .conflict("API key id '\(record.id)' already exists")
            }
        }
    }

    public func apiKey(id: String) async throws(CatalogError) -> (record: APIKeyRecord, secretHash: String)? {
        let rows = try await withConnection(operation: "API key lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.keyColumns + " WHERE id = $1", [id], operation: "API key lookup")
        }
        guard let record = try Self.keys(from: rows).first, let hash = rows.value(0, "secret_hash") else { return nil }
        return (record, hash)
    }

    public func apiKeys() async throws(CatalogError) -> [APIKeyRecord] {
        let rows = try await withConnection(operation: "list API keys", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.keyColumns + " ORDER BY created_at, id", [], operation: "list API keys")
        }
        return try Self.keys(from: rows)
    }

    public func revokeAPIKey(id: String) async throws(CatalogError) -> Bool {
        let rows = try await withConnection(operation: "revoke API key", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", [id], operation: "revoke API key")
        }
        return rows.affectedRows > 0
    }

    public func setS3Credentials(keyID: String, accessKey: String, secret: String) async throws(CatalogError) {
        let rows = try await withConnection(operation: "set S3 credentials") { connection throws(CatalogError) in
            do throws(CatalogError) {
                return try connection.execute("UPDATE api_keys SET s3_access_key = $2, s3_secret = $3 WHERE id = $1", [keyID, accessKey, secret],
                                              operation: "set S3 credentials")
            } catch .conflict {
                throw .conflict("S3 access key '\(accessKey)' is taken")
            }
        }
        if rows.affectedRows == 0 { throw .invalidArgument("no API key '\(keyID)'") }
    }

    public func s3Credentials(accessKey: String) async throws(CatalogError) -> (record: APIKeyRecord, secret: String)? {
        let rows = try await withConnection(operation: "S3 credential lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.keyColumns + " WHERE s3_access_key = $1", [accessKey], operation: "S3 credential lookup")
        }
        guard let record = try Self.keys(from: rows).first, let secret = rows.value(0, "s3_secret") else { return nil }
        return (record, secret)
    }

    static let keyColumns = """
        SELECT id, name, role, tables::text AS tables, secret_hash, s3_secret, revoked_at IS NOT NULL AS revoked,
               (extract(epoch from created_at) * 1000)::bigint AS created_ms FROM api_keys
        """

    static func keys(from rows: PostgresRows) throws(CatalogError) -> [APIKeyRecord] {
        var keys: [APIKeyRecord] = []
        for index in rows.rows.indices {
            guard let role = APIKeyRole(rawValue: rows.value(index, "role") ?? "") else {
                throw .constraint("stored API key role '\(rows.value(index, "role") ?? "")' is unknown")
            }
            let tables: [String]? = try rows.value(index, "tables").map { text throws(CatalogError) in try JSONCoding.decode(text) }
            keys.append(APIKeyRecord(id: rows.value(index, "id") ?? "", name: rows.value(index, "name") ?? "", role: role, tables: tables,
                                     createdAtMillis: Int64(rows.value(index, "created_ms") ?? "") ?? 0, revoked: rows.value(index, "revoked") == "t"))
        }
        return keys
    }
}
