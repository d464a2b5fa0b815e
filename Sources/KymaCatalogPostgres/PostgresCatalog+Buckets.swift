// Buckets, their object index, multipart uploads and events (migration 0007). Keys sort in byte
// order (COLLATE "C"), as S3 lists them.

import Foundation
import KymaCatalog

extension PostgresCatalog {
    public func createBucket(named name: String, settings: [String: String]) async throws(CatalogError) -> BucketInfo {
        if let reason = Self.invalidNameReason(name) { throw .invalidArgument("bucket name \(reason)") }
        let encoded = try JSONCoding.encode(settings)
        let rows = try await withConnection(operation: "create bucket") { connection throws(CatalogError) in
            do throws(CatalogError) {
                return try connection.execute("""
                    INSERT INTO buckets (name, settings) VALUES ($1, $2::jsonb)
                    RETURNING id, name, settings::text AS settings, (extract(epoch from created_at) * 1000)::bigint AS created_ms
                    """, [name, encoded], operation: "create bucket")
            } catch .conflict {
                throw .conflict("bucket '\(name)' already exists")
            }
        }
        return try Self.bucketInfos(rows)[0]
    }

    public func bucket(named name: String) async throws(CatalogError) -> BucketInfo? {
        let rows = try await withConnection(operation: "bucket lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.bucketColumns + " WHERE name = $1", [name], operation: "bucket lookup")
        }
        return try Self.bucketInfos(rows).first
    }

    public func buckets() async throws(CatalogError) -> [BucketInfo] {
        let rows = try await withConnection(operation: "list buckets", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.bucketColumns + " ORDER BY name", [], operation: "list buckets")
        }
        return try Self.bucketInfos(rows)
    }

    public func updateBucket(named name: String, settings: [String: String]) async throws(CatalogError) -> BucketInfo {
        let encoded = try JSONCoding.encode(settings)
        let rows = try await withConnection(operation: "update bucket") { connection throws(CatalogError) in
            try connection.execute("""
                UPDATE buckets SET settings = $2::jsonb WHERE name = $1
                RETURNING id, name, settings::text AS settings, (extract(epoch from created_at) * 1000)::bigint AS created_ms
                """, [name, encoded], operation: "update bucket")
        }
        guard let bucket = try Self.bucketInfos(rows).first else { throw .tableNotFound(name) }
        return bucket
    }

    public func bucketUsage(named name: String) async throws(CatalogError) -> BucketUsage {
        let rows = try await withConnection(operation: "bucket usage", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT (SELECT count(*) FROM bucket_objects o WHERE o.bucket_id = b.id) AS objects,
                       (SELECT coalesce(sum(size), 0) FROM bucket_objects o WHERE o.bucket_id = b.id) AS bytes,
                       (SELECT count(*) FROM multipart_uploads u WHERE u.bucket_id = b.id) AS uploads
                FROM buckets b WHERE b.name = $1
                """, [name], operation: "bucket usage")
        }
        guard let objects = rows.value(0, "objects").flatMap({ Int64($0) }) else { throw .tableNotFound(name) }
        return BucketUsage(objects: objects, bytes: Int64(rows.value(0, "bytes") ?? "") ?? 0, uploadsInProgress: Int64(rows.value(0, "uploads") ?? "") ?? 0)
    }

    public func deleteBucket(named name: String) async throws(CatalogError) -> [String] {
        try await withConnection(operation: "delete bucket") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> [String] in
                let found = try connection.execute("SELECT id FROM buckets WHERE name = $1 FOR UPDATE", [name], operation: "delete bucket")
                guard let id = found.value(0, "id") else { throw CatalogError.tableNotFound(name) }
                let used = try connection.execute("SELECT EXISTS (SELECT 1 FROM bucket_objects WHERE bucket_id = $1) AS used", [id], operation: "delete bucket")
                guard used.value(0, "used") == "f" else { throw CatalogError.conflict("bucket '\(name)' is not empty") }
                let parts = try connection.execute("""
                    SELECT p.storage_key FROM multipart_parts p JOIN multipart_uploads u ON u.upload_id = p.upload_id WHERE u.bucket_id = $1
                    """, [id], operation: "delete bucket")
                // Uploads, their parts and the bucket's events go with it (ON DELETE CASCADE).
                try connection.execute("DELETE FROM buckets WHERE id = $1", [id], operation: "delete bucket")
                return parts.rows.indices.compactMap { parts.value($0, "storage_key") }
            }
        }
    }

    public func putObject(bucket: String, _ object: BucketObject, condition: PutCondition, enqueue work: [WorkRequest]) async throws(CatalogError) -> String? {
        let metadata = try JSONCoding.encode(object.metadata)
        return try await withConnection(operation: "put object") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> String? in
                let id = try Self.bucketID(bucket, connection)
                let replaced = try Self.index(object, metadata: metadata, bucketID: id, condition: condition, connection, operation: "put object")
                try Self.enqueue(work, connection, operation: "put object")
                return replaced
            }
        }
    }

    public func object(bucket: String, key: String) async throws(CatalogError) -> BucketObject? {
        let rows = try await withConnection(operation: "object lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.objectColumns + " WHERE b.name = $1 AND o.key = $2", [bucket, key], operation: "object lookup")
        }
        return try Self.objects(rows).first
    }

    public func deleteObject(bucket: String, key: String) async throws(CatalogError) -> String? {
        try await withConnection(operation: "delete object") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> String? in
                let id = try Self.bucketID(bucket, connection)
                let deleted = try connection.execute("DELETE FROM bucket_objects WHERE bucket_id = $1 AND key = $2 RETURNING storage_key",
                                                     [id, key], operation: "delete object")
                guard let storage = deleted.value(0, "storage_key") else { return nil }
                try connection.execute("INSERT INTO bucket_events (bucket_id, key, kind) VALUES ($1, $2, 'delete')", [id, key], operation: "delete object")
                return storage
            }
        }
    }

    public func listObjects(bucket: String, prefix: String, after: String?, limit: Int) async throws(CatalogError) -> [BucketObject] {
        let rows = try await withConnection(operation: "list objects", idempotent: true) { connection throws(CatalogError) in
            // The prefix as a range of the key order: keys >= prefix and < the prefix's successor.
            try connection.execute(Self.objectColumns + """
                 WHERE b.name = $1 AND o.key >= $2 AND ($3::text IS NULL OR o.key > $3) AND left(o.key, char_length($2)) = $2
                 ORDER BY o.key LIMIT $4
                """, [bucket, prefix, after, String(max(0, limit))], operation: "list objects")
        }
        return try Self.objects(rows)
    }

    public func createUpload(bucket: String, key: String, contentType: String?, metadata: [String: String]) async throws(CatalogError) -> MultipartUpload {
        let uploadID = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let encoded = try JSONCoding.encode(metadata)
        let rows = try await withConnection(operation: "create multipart upload") { connection throws(CatalogError) in
            let id = try Self.bucketID(bucket, connection)
            return try connection.execute("""
                INSERT INTO multipart_uploads (upload_id, bucket_id, key, content_type, metadata) VALUES ($1, $2, $3, $4, $5::jsonb)
                RETURNING (extract(epoch from initiated_at) * 1000)::bigint AS initiated_ms
                """, [uploadID, id, key, contentType, encoded], operation: "create multipart upload")
        }
        return MultipartUpload(uploadID: uploadID, bucket: bucket, key: key, contentType: contentType, metadata: metadata,
                               initiatedMillis: Int64(rows.value(0, "initiated_ms") ?? "") ?? 0)
    }

    public func upload(id: String) async throws(CatalogError) -> MultipartUpload? {
        let rows = try await withConnection(operation: "upload lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.uploadColumns + " WHERE u.upload_id = $1", [id], operation: "upload lookup")
        }
        return try Self.uploads(rows).first
    }

    public func uploads(bucket: String) async throws(CatalogError) -> [MultipartUpload] {
        let rows = try await withConnection(operation: "list uploads", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.uploadColumns + " WHERE b.name = $1 ORDER BY u.key, u.initiated_at", [bucket], operation: "list uploads")
        }
        return try Self.uploads(rows)
    }

    public func putPart(uploadID: String, _ part: UploadPart) async throws(CatalogError) -> String? {
        try await withConnection(operation: "put part") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> String? in
                let upload = try connection.execute("SELECT 1 FROM multipart_uploads WHERE upload_id = $1 FOR SHARE", [uploadID], operation: "put part")
                guard !upload.rows.isEmpty else { throw CatalogError.tableNotFound("upload \(uploadID)") }
                let old = try connection.execute("SELECT storage_key FROM multipart_parts WHERE upload_id = $1 AND part_number = $2",
                                                 [uploadID, String(part.number)], operation: "put part")
                try connection.execute("""
                    INSERT INTO multipart_parts (upload_id, part_number, size, etag, storage_key, checksum) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (upload_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
                        storage_key = excluded.storage_key, checksum = excluded.checksum, last_modified = now()
                    """, [uploadID, String(part.number), String(part.size), part.etag, part.storageKey, part.checksum], operation: "put part")
                return old.value(0, "storage_key")
            }
        }
    }

    public func parts(uploadID: String) async throws(CatalogError) -> [UploadPart] {
        let rows = try await withConnection(operation: "list parts", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT part_number, size, etag, storage_key, checksum, (extract(epoch from last_modified) * 1000)::bigint AS modified_ms
                FROM multipart_parts WHERE upload_id = $1 ORDER BY part_number
                """, [uploadID], operation: "list parts")
        }
        return rows.rows.indices.map { i in
            UploadPart(number: Int(rows.value(i, "part_number") ?? "") ?? 0, size: Int64(rows.value(i, "size") ?? "") ?? 0,
                       etag: rows.value(i, "etag") ?? "", storageKey: rows.value(i, "storage_key") ?? "", checksum: rows.value(i, "checksum"),
                       lastModifiedMillis: Int64(rows.value(i, "modified_ms") ?? "") ?? 0)
        }
    }

    public func completeUpload(uploadID: String, _ object: BucketObject, enqueue work: [WorkRequest]) async throws(CatalogError) -> [String] {
        let metadata = try JSONCoding.encode(object.metadata)
        return try await withConnection(operation: "complete multipart upload") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> [String] in
                let upload = try connection.execute("SELECT bucket_id FROM multipart_uploads WHERE upload_id = $1 FOR UPDATE", [uploadID],
                                                    operation: "complete multipart upload")
                guard let id = upload.value(0, "bucket_id") else { throw CatalogError.tableNotFound("upload \(uploadID)") }
                let parts = try connection.execute("SELECT storage_key FROM multipart_parts WHERE upload_id = $1", [uploadID], operation: "complete multipart upload")
                try connection.execute("DELETE FROM multipart_uploads WHERE upload_id = $1", [uploadID], operation: "complete multipart upload")
                let replaced = try Self.index(object, metadata: metadata, bucketID: id, condition: .always, connection, operation: "complete multipart upload")
                try Self.enqueue(work, connection, operation: "complete multipart upload")
                return parts.rows.indices.compactMap { parts.value($0, "storage_key") } + (replaced.map { [$0] } ?? [])
            }
        }
    }

    public func abortUpload(uploadID: String) async throws(CatalogError) -> [String] {
        try await withConnection(operation: "abort multipart upload") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> [String] in
                let parts = try connection.execute("SELECT storage_key FROM multipart_parts WHERE upload_id = $1", [uploadID], operation: "abort multipart upload")
                let deleted = try connection.execute("DELETE FROM multipart_uploads WHERE upload_id = $1", [uploadID], operation: "abort multipart upload")
                guard deleted.affectedRows > 0 else { throw CatalogError.tableNotFound("upload \(uploadID)") }
                return parts.rows.indices.compactMap { parts.value($0, "storage_key") }
            }
        }
    }

    // MARK: - Rules

    public func createRule(_ rule: BucketRule) async throws(CatalogError) -> BucketRule {
        let options = try JSONCoding.encode(rule.options)
        let rows = try await withConnection(operation: "create rule") { connection throws(CatalogError) in
            let id = try Self.bucketID(rule.bucket, connection)
            var sourceID: String? = nil
            if let source = rule.source {
                let found = try connection.execute("SELECT id FROM bucket_sources WHERE bucket_id = $1 AND name = $2", [id, source], operation: "create rule")
                guard let value = found.value(0, "id") else { throw .invalidArgument("bucket '\(rule.bucket)' has no source '\(source)'") }
                sourceID = value
            }
            do throws(CatalogError) {
                return try connection.execute("""
                    INSERT INTO bucket_rules (bucket_id, name, pipeline, destination, options, include, exclude, content_types, min_size, max_size, priority, enabled, source_id)
                    VALUES ($1, $2, $3, $4, $5::jsonb, $6::text[], $7::text[], $8::text[], $9, $10, $11, $12, $13) RETURNING id
                    """, [id, rule.name, rule.pipeline, rule.destination, options, SQLText.textArray(rule.include), SQLText.textArray(rule.exclude),
                          SQLText.textArray(rule.contentTypes), rule.minSize.map(String.init), rule.maxSize.map(String.init), String(rule.priority),
                          rule.enabled ? "true" : "false", sourceID], operation: "create rule")
            } catch .conflict {
                throw .conflict("bucket '\(rule.bucket)' has a rule named '\(rule.name)'")
            }
        }
        var created = rule
        created.id = Int64(rows.value(0, "id") ?? "") ?? 0
        return created
    }

    public func rules(bucket: String) async throws(CatalogError) -> [BucketRule] {
        let rows = try await withConnection(operation: "list rules", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT r.id, b.name AS bucket, r.name, r.pipeline, r.destination, r.options::text AS options, array_to_json(r.include)::text AS include,
                       array_to_json(r.exclude)::text AS exclude, array_to_json(r.content_types)::text AS content_types, r.min_size, r.max_size,
                       r.priority, r.enabled, s.name AS source
                FROM bucket_rules r JOIN buckets b ON b.id = r.bucket_id LEFT JOIN bucket_sources s ON s.id = r.source_id
                WHERE b.name = $1 ORDER BY r.priority DESC, r.id
                """, [bucket], operation: "list rules")
        }
        var rules: [BucketRule] = []
        for i in rows.rows.indices {
            rules.append(BucketRule(
                id: Int64(rows.value(i, "id") ?? "") ?? 0, bucket: rows.value(i, "bucket") ?? "", name: rows.value(i, "name") ?? "",
                pipeline: rows.value(i, "pipeline") ?? "", destination: rows.value(i, "destination") ?? "",
                options: try JSONCoding.decode(rows.value(i, "options") ?? "{}"), include: try JSONCoding.decode(rows.value(i, "include") ?? "[]"),
                exclude: try JSONCoding.decode(rows.value(i, "exclude") ?? "[]"), contentTypes: try JSONCoding.decode(rows.value(i, "content_types") ?? "[]"),
                minSize: rows.value(i, "min_size").flatMap { Int64($0) }, maxSize: rows.value(i, "max_size").flatMap { Int64($0) },
                priority: Int(rows.value(i, "priority") ?? "") ?? 0, enabled: rows.value(i, "enabled") == "t", source: rows.value(i, "source")))
        }
        return rules
    }

    public func deleteRule(bucket: String, id: Int64) async throws(CatalogError) -> Bool {
        let rows = try await withConnection(operation: "delete rule") { connection throws(CatalogError) in
            try connection.execute("DELETE FROM bucket_rules r USING buckets b WHERE r.bucket_id = b.id AND b.name = $1 AND r.id = $2",
                                   [bucket, String(id)], operation: "delete rule")
        }
        return rows.affectedRows > 0
    }

    // MARK: - Rows

    static let bucketColumns = "SELECT id, name, settings::text AS settings, (extract(epoch from created_at) * 1000)::bigint AS created_ms FROM buckets"

    static func bucketInfos(_ rows: PostgresRows) throws(CatalogError) -> [BucketInfo] {
        var out: [BucketInfo] = []
        for i in rows.rows.indices {
            let settings: [String: String] = try JSONCoding.decode(rows.value(i, "settings") ?? "{}")
            out.append(BucketInfo(id: Int64(rows.value(i, "id") ?? "") ?? 0, name: rows.value(i, "name") ?? "",
                                  createdAtMillis: Int64(rows.value(i, "created_ms") ?? "") ?? 0, settings: settings))
        }
        return out
    }

    /// Points `object.key` at the object (as `condition` allows) and records the put event, inside
    /// the caller's transaction; returns the storage key it replaced.
    static func index(_ object: BucketObject, metadata: String, bucketID id: String, condition: PutCondition, _ connection: PostgresConnection,
                      operation: String) throws(CatalogError) -> String? {
        try lockKey(bucketID: id, key: object.key, connection)
        let current = try connection.execute("SELECT storage_key, etag FROM bucket_objects WHERE bucket_id = $1 AND key = $2 FOR UPDATE",
                                             [id, object.key], operation: operation)
        guard condition.allows(current: current.value(0, "etag")) else {
            throw CatalogError.conflict("the put's condition (\(condition)) does not hold for key '\(object.key)'")
        }
        try connection.execute("""
            INSERT INTO bucket_objects (bucket_id, key, size, etag, content_type, metadata, storage_key, checksum, last_modified)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, now())
            ON CONFLICT (bucket_id, key) DO UPDATE SET size = excluded.size, etag = excluded.etag, content_type = excluded.content_type,
                metadata = excluded.metadata, storage_key = excluded.storage_key, checksum = excluded.checksum, last_modified = now()
            """, [id, object.key, String(object.size), object.etag, object.contentType, metadata, object.storageKey, object.checksum],
            operation: operation)
        try connection.execute("INSERT INTO bucket_events (bucket_id, key, kind, etag, size) VALUES ($1, $2, 'put', $3, $4)",
                               [id, object.key, object.etag, String(object.size)], operation: operation)
        return current.value(0, "storage_key")
    }

    /// Serializes the writers of one key until the transaction ends. A row lock cannot: a key
    /// with no row yet has nothing to lock, and two conditional creates would both see it free.
    static func lockKey(bucketID: String, key: String, _ connection: PostgresConnection) throws(CatalogError) {
        try connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($2, $1::bigint))", [bucketID, key], operation: "lock object key")
    }

    static func bucketID(_ name: String, _ connection: PostgresConnection) throws(CatalogError) -> String {
        let rows = try connection.execute("SELECT id FROM buckets WHERE name = $1", [name], operation: "bucket lookup")
        guard let id = rows.value(0, "id") else { throw .tableNotFound(name) }
        return id
    }

    static let objectColumns = """
        SELECT o.key, o.size, o.etag, o.content_type, o.metadata::text AS metadata, o.storage_key, o.checksum,
               (extract(epoch from o.last_modified) * 1000)::bigint AS modified_ms
        FROM bucket_objects o JOIN buckets b ON b.id = o.bucket_id
        """

    static func objects(_ rows: PostgresRows) throws(CatalogError) -> [BucketObject] {
        var out: [BucketObject] = []
        for i in rows.rows.indices {
            let metadata: [String: String] = try JSONCoding.decode(rows.value(i, "metadata") ?? "{}")
            out.append(BucketObject(key: rows.value(i, "key") ?? "", size: Int64(rows.value(i, "size") ?? "") ?? 0, etag: rows.value(i, "etag") ?? "",
                                    contentType: rows.value(i, "content_type"), metadata: metadata, storageKey: rows.value(i, "storage_key") ?? "",
                                    checksum: rows.value(i, "checksum"), lastModifiedMillis: Int64(rows.value(i, "modified_ms") ?? "") ?? 0))
        }
        return out
    }

    static let uploadColumns = """
        SELECT u.upload_id, b.name AS bucket, u.key, u.content_type, u.metadata::text AS metadata,
               (extract(epoch from u.initiated_at) * 1000)::bigint AS initiated_ms
        FROM multipart_uploads u JOIN buckets b ON b.id = u.bucket_id
        """

    static func uploads(_ rows: PostgresRows) throws(CatalogError) -> [MultipartUpload] {
        var out: [MultipartUpload] = []
        for i in rows.rows.indices {
            let metadata: [String: String] = try JSONCoding.decode(rows.value(i, "metadata") ?? "{}")
            out.append(MultipartUpload(uploadID: rows.value(i, "upload_id") ?? "", bucket: rows.value(i, "bucket") ?? "", key: rows.value(i, "key") ?? "",
                                       contentType: rows.value(i, "content_type"), metadata: metadata,
                                       initiatedMillis: Int64(rows.value(i, "initiated_ms") ?? "") ?? 0))
        }
        return out
    }
}
