// Extent commits: upload registration, content-keyed client batches, atomic commits and
// compaction swaps, and what the garbage collector asks of the catalog.

import KymaCore
import KymaCatalog

extension PostgresCatalog {
    // MARK: - Uploads

    public func registerUploads(table: String, objectKeys: [String]) async throws(CatalogError) {
        guard !objectKeys.isEmpty else { return }
        let tableID = try await tableID(table)
        let keys = SQLText.textArray(objectKeys)
        try await withConnection(operation: "register uploads", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                INSERT INTO pending_uploads (object_key, table_id) SELECT k, $1 FROM unnest($2::text[]) AS k
                ON CONFLICT (object_key) DO NOTHING
                """, [String(tableID), keys], operation: "register uploads")
        }
    }

    public func takeStaleUploads(olderThanSeconds: Int) async throws(CatalogError) -> [String] {
        let rows = try await withConnection(operation: "take stale uploads") { connection throws(CatalogError) in
            try connection.execute("""
                DELETE FROM pending_uploads WHERE registered_at <= now() - make_interval(secs => $1) RETURNING object_key
                """, [String(olderThanSeconds)], operation: "take stale uploads")
        }
        return rows.rows.compactMap { $0.first ?? nil }
    }

    public func knownObjectKeys(_ objectKeys: [String]) async throws(CatalogError) -> Set<String> {
        guard !objectKeys.isEmpty else { return [] }
        let keys = SQLText.textArray(objectKeys)
        let rows = try await withConnection(operation: "known object keys", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT k FROM unnest($1::text[]) AS k
                WHERE EXISTS (SELECT 1 FROM extents e WHERE e.object_key = k)
                   OR EXISTS (SELECT 1 FROM pending_uploads p WHERE p.object_key = k)
                   OR EXISTS (SELECT 1 FROM bucket_objects o WHERE o.storage_key = k)
                   OR EXISTS (SELECT 1 FROM multipart_parts m WHERE m.storage_key = k)
                """, [keys], operation: "known object keys")
        }
        return Set(rows.rows.compactMap { $0.first ?? nil })
    }

    // MARK: - Client batches

    public func beginBatch(table: String, batchID: String, inputDigests: [String]) async throws(CatalogError) -> BatchProgress {
        try Self.validate(batchID: batchID)
        guard !inputDigests.isEmpty else { throw .invalidArgument("batch '\(batchID)' has no inputs") }
        let inputs = inputDigests.sorted().joined(separator: ",")
        let tableID = try await tableID(table)
        let rows = try await withConnection(operation: "begin batch", idempotent: true) { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> PostgresRows in
                try connection.execute("""
                    INSERT INTO ingest_batches (table_id, batch_id, extent_count, inputs) VALUES ($1, $2, 0, $3)
                    ON CONFLICT (table_id, batch_id) DO NOTHING
                    """, [String(tableID), batchID, inputs], operation: "begin batch")
                let recorded = try connection.execute("SELECT inputs FROM ingest_batches WHERE table_id = $1 AND batch_id = $2",
                                                      [String(tableID), batchID], operation: "begin batch")
                guard recorded.value(0, "inputs") == inputs else {
                    let reason = recorded.value(0, "inputs") == nil
                        ? "it was committed by an older Kyma that did not record its inputs; use a new batch id"
                        : "it was used for other input (the batch's files differ in content from those it was first given)"
                    throw .batchMismatch(batchID: batchID, reason: reason)
                }
                return try connection.execute("""
                    SELECT input_digest, first_line, last_line FROM ingest_batch_parts
                    WHERE table_id = $1 AND batch_id = $2 ORDER BY input_digest, first_line
                    """, [String(tableID), batchID], operation: "begin batch")
            }
        }
        var committed: [String: [ClosedRange<Int>]] = [:]
        for index in rows.rows.indices {
            guard let digest = rows.value(index, "input_digest"), let first = rows.value(index, "first_line").flatMap({ Int($0) }),
                  let last = rows.value(index, "last_line").flatMap({ Int($0) }), first <= last else {
                throw .constraint("a batch part of '\(batchID)' is malformed")
            }
            committed[digest, default: []].append(first...last)
        }
        return BatchProgress(committedLines: committed)
    }

    static func validate(batchID: String) throws(CatalogError) {
        guard !batchID.isEmpty else { throw .invalidArgument("batch id is empty") }
        guard batchID.utf8.count <= BatchPart.maxIDBytes else {
            throw .invalidArgument("batch id is \(batchID.utf8.count) bytes long; the limit is \(BatchPart.maxIDBytes)")
        }
    }

    // MARK: - Commits

    public func commitExtents(table: String, extents: [ExtentRecord], batch: BatchPart?) async throws(CatalogError) -> CommitOutcome {
        if let batch { try Self.validate(batchID: batch.batchID) }
        let tableID = try await tableID(table)
        let prepared = try extents.map { (extent) throws(CatalogError) in try PreparedExtent(extent) }
        // With a batch part the commit is idempotent, so a lost connection is retried: the
        // retry recognises its own earlier commit by the extent ids.
        return try await withConnection(operation: "commit extents", idempotent: batch != nil) { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> CommitOutcome in
                if let batch {
                    switch try Self.claimBatchPart(batch, tableID: tableID, extentIDs: prepared.map(\.record.id), connection) {
                    case .claimed: break
                    case .committedBefore:
                        let ids = SQLText.textArray(prepared.map(\.record.id.uuid))
                        let ours = try connection.execute("SELECT count(*) AS n FROM extents WHERE id = ANY($1::uuid[])", [ids],
                                                          operation: "commit extents")
                        if !prepared.isEmpty, ours.value(0, "n") == String(prepared.count) { return .committed }
                        try connection.execute("DELETE FROM pending_uploads WHERE object_key = ANY($1::text[])",
                                               [SQLText.textArray(prepared.map(\.record.objectKey))], operation: "commit extents")
                        return .alreadyCommitted
                    }
                }
                try Self.consumeRegistrations(prepared, connection)
                for extent in prepared { try Self.insert(extent, tableID: tableID, connection) }
                return .committed
            }
        }
    }

    enum PartClaim { case claimed, committedBefore }

    /// Records `batch`'s lines as committed, under a lock on the batch row (so concurrent
    /// retries of one batch take turns). Lines already committed as one or more parts that
    /// cover them are `.committedBefore`; a partial overlap is refused.
    static func claimBatchPart(_ batch: BatchPart, tableID: Int64, extentIDs: [ExtentID],
                               _ connection: PostgresConnection) throws(CatalogError) -> PartClaim {
        let extentCount = extentIDs.count
        let recorded = try connection.execute(
            "SELECT inputs FROM ingest_batches WHERE table_id = $1 AND batch_id = $2 FOR UPDATE",
            [String(tableID), batch.batchID], operation: "commit batch part")
        guard recorded.rows.count == 1 else {
            throw .invalidArgument("batch '\(batch.batchID)' was not begun (beginBatch records its inputs first)")
        }
        guard let inputs = recorded.value(0, "inputs") else { return .committedBefore }  // recorded before inputs were
        guard inputs.split(separator: ",").contains(Substring(batch.inputDigest)) else {
            throw .batchMismatch(batchID: batch.batchID, reason: "input \(batch.inputDigest.prefix(12))... is not one of the batch's inputs")
        }
        let overlapping = try connection.execute("""
            SELECT first_line, last_line FROM ingest_batch_parts
            WHERE table_id = $1 AND batch_id = $2 AND input_digest = $3 AND first_line <= $5 AND last_line >= $4
            ORDER BY first_line
            """, [String(tableID), batch.batchID, batch.inputDigest, String(batch.lines.lowerBound), String(batch.lines.upperBound)],
            operation: "commit batch part")
        if !overlapping.rows.isEmpty {
            var next = batch.lines.lowerBound  // covered when the overlapping parts leave no gap
            for index in overlapping.rows.indices {
                let first = Int(overlapping.value(index, "first_line") ?? "") ?? .max
                let last = Int(overlapping.value(index, "last_line") ?? "") ?? .min
                if first > next { break }
                next = max(next, last + 1)
            }
            guard next > batch.lines.upperBound else {
                throw .batchMismatch(batchID: batch.batchID, reason:
                    "lines \(batch.lines.lowerBound)-\(batch.lines.upperBound) overlap lines committed by another attempt; run the ingest again to commit only what is missing")
            }
            return .committedBefore
        }
        try connection.execute("""
            INSERT INTO ingest_batch_parts (table_id, batch_id, input_digest, first_line, last_line, extent_ids) VALUES ($1, $2, $3, $4, $5, $6::uuid[])
            """, [String(tableID), batch.batchID, batch.inputDigest, String(batch.lines.lowerBound), String(batch.lines.upperBound),
                  SQLText.textArray(extentIDs.map(\.uuid))],
            operation: "commit batch part")
        try connection.execute("UPDATE ingest_batches SET extent_count = extent_count + $3 WHERE table_id = $1 AND batch_id = $2",
                               [String(tableID), batch.batchID, String(extentCount)], operation: "commit batch part")
        return .claimed
    }

    /// Removes the upload registrations of `extents`' keys; every one must still be there (the
    /// collector has not taken it), or the transaction fails.
    static func consumeRegistrations(_ extents: [PreparedExtent], _ connection: PostgresConnection) throws(CatalogError) {
        guard !extents.isEmpty else { return }
        let keys = extents.map(\.record.objectKey)
        let removed = try connection.execute(
            "DELETE FROM pending_uploads WHERE object_key = ANY($1::text[]) RETURNING object_key",
            [SQLText.textArray(keys)], operation: "commit extents")
        guard removed.rows.count == Set(keys).count else {
            let taken = Set(removed.rows.compactMap { $0.first ?? nil })
            throw .uploadCollected(objectKey: keys.first { !taken.contains($0) } ?? keys[0])
        }
    }

    public func replaceExtents(table: String, retiring: [ExtentID], adding: [ExtentRecord], graceSeconds: Int) async throws(CatalogError) {
        let tableID = try await tableID(table)
        let prepared = try adding.map { (extent) throws(CatalogError) in try PreparedExtent(extent) }
        let ids = SQLText.textArray(retiring.map(\.uuid))
        let grace = String(max(0, graceSeconds))
        try await withConnection(operation: "replace extents") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) in
                let retired = try connection.execute("""
                    UPDATE extents SET state = 'retired', retired_at = now(), delete_after = now() + make_interval(secs => $3)
                    WHERE table_id = $1 AND id = ANY($2::uuid[]) AND state = 'active'
                    """, [String(tableID), ids, grace], operation: "retire extents")
                guard retired.affectedRows == Set(retiring).count else {
                    throw .conflict("some extents to replace are no longer active (a concurrent compaction won)")
                }
                try Self.consumeRegistrations(prepared, connection)
                for extent in prepared { try Self.insert(extent, tableID: tableID, connection) }
            }
        }
    }

    public func batchOutput(table: String, batchIDs: [String]) async throws(CatalogError) -> BatchOutput {
        guard !batchIDs.isEmpty else { return BatchOutput(active: [], activeRows: 0, gone: 0) }
        let tableID = try await tableID(table)
        let rows = try await withConnection(operation: "batch output", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("""
                SELECT x.id::text AS id, e.row_count, e.state FROM ingest_batch_parts p CROSS JOIN LATERAL unnest(p.extent_ids) AS x(id)
                LEFT JOIN extents e ON e.id = x.id
                WHERE p.table_id = $1 AND p.batch_id = ANY($2::text[])
                """, [String(tableID), SQLText.textArray(batchIDs)], operation: "batch output")
        }
        var output = BatchOutput(active: [], activeRows: 0, gone: 0)
        for i in rows.rows.indices {
            if rows.value(i, "state") == "active", let text = rows.value(i, "id"), let id = try? ExtentID(text) {
                output.active.append(id)
                output.activeRows += Int64(rows.value(i, "row_count") ?? "") ?? 0
            } else {
                output.gone += 1
            }
        }
        return output
    }

    public func retiredExtentsDue(table: String?) async throws(CatalogError) -> [ExtentRecord] {
        var sql = Self.extentColumns + " WHERE e.state = 'retired' AND e.delete_after <= now()"
        var parameters: [String?] = []
        if let table {
            sql += " AND e.table_id = $1"
            parameters.append(String(try await tableID(table)))
        }
        let query = sql + " ORDER BY e.delete_after", values = parameters
        let rows = try await withConnection(operation: "list retired extents", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(query, values, operation: "list retired extents")
        }
        return try extents(from: rows)
    }

    public func purgeRetiredExtents(_ ids: [ExtentID]) async throws(CatalogError) {
        let array = SQLText.textArray(ids.map(\.uuid))
        try await withConnection(operation: "purge extents", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("DELETE FROM extents WHERE id = ANY($1::uuid[]) AND state = 'retired'", [array])
        }
    }

    static func insert(_ extent: PreparedExtent, tableID: Int64, _ connection: PostgresConnection) throws(CatalogError) {
        let record = extent.record
        do throws(CatalogError) {
            try connection.execute("""
                INSERT INTO extents (id, table_id, format_name, format_version, object_key, byte_size, row_count,
                                     min_time_ns, max_time_ns, column_stats, present_paths, summaries)
                VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::text[], $12::jsonb)
                """, [record.id.uuid, String(tableID), record.formatName, String(record.formatVersion), record.objectKey,
                      String(record.byteSize), String(record.rowCount), String(record.timeRange.lowerNanos),
                      String(record.timeRange.upperNanos), extent.statisticsJSON, SQLText.textArray(record.presentPaths),
                      record.summaries], operation: "insert extent")
        } catch .conflict(let message) {
            throw .conflict("extent \(record.id) or its object key '\(record.objectKey)' is already committed (\(message))")
        }
        guard !extent.columnRows.isEmpty else { return }
        let rows = extent.columnRows
        try connection.execute("""
            INSERT INTO extent_column_stats (extent_id, table_id, column_name, min_num, max_num, min_text, max_text, null_count, bounds_unknown)
            SELECT $1::uuid, $2, c, mn, mx, mt, xt, nc, bu
            FROM unnest($3::text[], $4::numeric[], $5::numeric[], $6::text[], $7::text[], $8::bigint[], $9::boolean[]) AS u(c, mn, mx, mt, xt, nc, bu)
            """, [record.id.uuid, String(tableID), SQLText.textArray(rows.map(\.column)),
                  SQLText.nullableArray(rows.map(\.minNumeric)), SQLText.nullableArray(rows.map(\.maxNumeric)),
                  SQLText.nullableArray(rows.map(\.minText)), SQLText.nullableArray(rows.map(\.maxText)),
                  SQLText.textArray(rows.map { String($0.nullCount) }), SQLText.textArray(rows.map { $0.boundsUnknown ? "t" : "f" })],
            operation: "insert column statistics")
    }
}

/// An extent record with its SQL-side forms computed before any connection is taken. Its
/// statistics are bounded first (`StatisticBounds`): what the catalog stores and indexes is
/// short, holds no NUL, and still brackets every value.
struct PreparedExtent: Sendable {
    struct ColumnRow: Sendable {
        var column: String
        var minNumeric: String?
        var maxNumeric: String?
        var minText: String?
        var maxText: String?
        var nullCount: Int64
        /// The extent has values in this column but no usable bounds: pruning keeps it.
        var boundsUnknown: Bool
    }

    var record: ExtentRecord
    var statisticsJSON: String
    var columnRows: [ColumnRow]

    init(_ record: ExtentRecord) throws(CatalogError) {
        guard !record.objectKey.isEmpty else { throw .invalidArgument("extent \(record.id) has no object key") }
        guard record.timeRange.lowerNanos <= record.timeRange.upperNanos else {
            throw .invalidArgument("extent \(record.id) has min time after max time")
        }
        var bounded = record
        bounded.columnStatistics = record.columnStatistics.mapValues { stats in
            var stats = stats
            if let max = stats.max, let upper = StatisticBounds.upper(max) {
                stats.max = upper
                stats.min = stats.min.map(StatisticBounds.lower)
            } else {
                stats.min = nil
                stats.max = nil
            }
            return stats
        }
        self.record = bounded
        self.statisticsJSON = try JSONCoding.encode(bounded.columnStatistics)
        self.columnRows = bounded.columnStatistics.sorted { $0.key < $1.key }.map { column, stats in
            var row = ColumnRow(column: column, minNumeric: stats.min.flatMap(StatisticText.numeric),
                                maxNumeric: stats.max.flatMap(StatisticText.numeric), minText: stats.min.flatMap(StatisticText.text),
                                maxText: stats.max.flatMap(StatisticText.text), nullCount: stats.nullCount, boundsUnknown: false)
            let hasLower = row.minNumeric != nil || row.minText != nil, hasUpper = row.maxNumeric != nil || row.maxText != nil
            row.boundsUnknown = stats.nullCount < record.rowCount && !(hasLower && hasUpper)
            return row
        }
    }
}
