// Tables and extents: creation, atomic commits, catalog-level pruning, compaction swaps.

import Foundation
import KymaCore
import KymaCatalog

extension PostgresCatalog {
    // MARK: - Tables

    public func createTable(_ definition: TableDefinition) async throws(CatalogError) -> TableInfo {
        guard !definition.name.isEmpty else { throw .invalidArgument("table name is empty") }
        let schemaJSON = try JSONCoding.encode(definition.schema.fields)
        let optionsJSON = try JSONCoding.encode(definition.options)
        let row = try await withConnection(operation: "create table") { connection throws(CatalogError) in
            do throws(CatalogError) {
                return try connection.execute("""
                    INSERT INTO tables (name, schema, format_name, options, time_column) VALUES ($1, $2, $3, $4, $5)
                    RETURNING id, (extract(epoch from created_at) * 1000)::bigint AS created_ms
                    """, [definition.name, schemaJSON, definition.formatName, optionsJSON, definition.timeColumn], operation: "create table")
            } catch .conflict {
                throw .conflict("table '\(definition.name)' already exists")
            }
        }
        return TableInfo(id: Int64(row.value(0, "id") ?? "") ?? 0, definition: definition,
                         createdAtMillis: Int64(row.value(0, "created_ms") ?? "") ?? 0)
    }

    public func table(named name: String) async throws(CatalogError) -> TableInfo? {
        let rows = try await withConnection(operation: "table lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.tableColumns + " WHERE name = $1", [name])
        }
        return try Self.tables(from: rows).first
    }

    public func tables() async throws(CatalogError) -> [TableInfo] {
        let rows = try await withConnection(operation: "list tables", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.tableColumns + " ORDER BY name")
        }
        return try Self.tables(from: rows)
    }

    public func dropTable(named name: String) async throws(CatalogError) {
        let rows = try await withConnection(operation: "drop table") { connection throws(CatalogError) in
            try connection.execute("DELETE FROM tables WHERE name = $1", [name])
        }
        if rows.affectedRows == 0 { throw .tableNotFound(name) }
    }

    static let tableColumns = """
        SELECT id, name, schema::text AS schema, format_name, options::text AS options, time_column,
               (extract(epoch from created_at) * 1000)::bigint AS created_ms FROM tables
        """

    static func tables(from rows: PostgresRows) throws(CatalogError) -> [TableInfo] {
        var result: [TableInfo] = []
        for index in rows.rows.indices {
            let fields: [Field] = try JSONCoding.decode(rows.value(index, "schema") ?? "[]")
            let options: [String: String] = try JSONCoding.decode(rows.value(index, "options") ?? "{}")
            let schema: Schema
            do { schema = try Schema(fields) } catch { throw .constraint("stored schema is invalid: \(error)") }
            let definition = TableDefinition(
                name: rows.value(index, "name") ?? "", schema: schema, formatName: rows.value(index, "format_name") ?? "",
                options: options, timeColumn: rows.value(index, "time_column"))
            result.append(TableInfo(id: Int64(rows.value(index, "id") ?? "") ?? 0, definition: definition,
                                    createdAtMillis: Int64(rows.value(index, "created_ms") ?? "") ?? 0))
        }
        return result
    }

    func tableID(_ name: String) async throws(CatalogError) -> Int64 {
        let rows = try await withConnection(operation: "table lookup", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("SELECT id FROM tables WHERE name = $1", [name])
        }
        guard let text = rows.value(0, "id"), let id = Int64(text) else { throw .tableNotFound(name) }
        return id
    }

    // MARK: - Extent commits

    public func commitExtents(table: String, extents: [ExtentRecord], batchID: String?) async throws(CatalogError) -> CommitOutcome {
        let tableID = try await tableID(table)
        let prepared = try extents.map { (extent) throws(CatalogError) in try PreparedExtent(extent) }
        return try await withConnection(operation: "commit extents", idempotent: batchID != nil) { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) -> CommitOutcome in
                if let batchID {
                    // The batch row is inserted first: a concurrent retry of the same batch waits
                    // on it and then sees it committed.
                    let inserted = try connection.execute("""
                        INSERT INTO ingest_batches (table_id, batch_id, extent_count) VALUES ($1, $2, $3)
                        ON CONFLICT (table_id, batch_id) DO NOTHING
                        """, [String(tableID), batchID, String(extents.count)], operation: "record batch")
                    if inserted.affectedRows == 0 { return .alreadyCommitted }
                }
                for extent in prepared { try Self.insert(extent, tableID: tableID, connection) }
                return .committed
            }
        }
    }

    public func replaceExtents(table: String, retiring: [ExtentID], adding: [ExtentRecord]) async throws(CatalogError) {
        let tableID = try await tableID(table)
        let prepared = try adding.map { (extent) throws(CatalogError) in try PreparedExtent(extent) }
        let ids = SQLText.textArray(retiring.map(\.uuid))
        try await withConnection(operation: "replace extents") { connection throws(CatalogError) in
            try connection.transaction { () throws(CatalogError) in
                let retired = try connection.execute("""
                    UPDATE extents SET state = 'retired', retired_at = now()
                    WHERE table_id = $1 AND id = ANY($2::uuid[]) AND state = 'active'
                    """, [String(tableID), ids], operation: "retire extents")
                guard retired.affectedRows == Set(retiring).count else {
                    throw .conflict("some extents to replace are no longer active (a concurrent compaction won)")
                }
                for extent in prepared { try Self.insert(extent, tableID: tableID, connection) }
            }
        }
    }

    public func retiredExtents(olderThanSeconds: Int) async throws(CatalogError) -> [ExtentRecord] {
        let rows = try await withConnection(operation: "list retired extents", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(Self.extentColumns + " WHERE e.state = 'retired' AND e.retired_at <= now() - make_interval(secs => $1) ORDER BY e.retired_at",
                                   [String(olderThanSeconds)])
        }
        return try Self.extents(from: rows)
    }

    public func purgeRetiredExtents(_ ids: [ExtentID]) async throws(CatalogError) {
        let array = SQLText.textArray(ids.map(\.uuid))
        try await withConnection(operation: "purge extents", idempotent: true) { connection throws(CatalogError) in
            try connection.execute("DELETE FROM extents WHERE id = ANY($1::uuid[]) AND state = 'retired'", [array])
        }
    }

    // MARK: - Catalog pruning

    public func extents(table: String, matching filter: ExtentFilter) async throws(CatalogError) -> [ExtentRecord] {
        let tableID = try await tableID(table)
        let (sql, parameters) = Self.extentsQuery(tableID: tableID, filter: filter)
        let rows = try await withConnection(operation: "list extents", idempotent: true) { connection throws(CatalogError) in
            try connection.execute(sql, parameters, operation: "list extents")
        }
        return try Self.extents(from: rows)
    }

    static let extentColumns = """
        SELECT e.id::text AS id, e.format_name, e.format_version, e.object_key, e.byte_size, e.row_count, e.min_time_ns,
               e.max_time_ns, e.column_stats::text AS column_stats, e.present_paths::text AS present_paths,
               e.summaries::text AS summaries, e.state, (extract(epoch from e.created_at) * 1000)::bigint AS created_ms
        FROM extents e
        """

    /// The pruning query: GiST interval overlap for time, GIN containment for paths, and
    /// per-column range probes into `extent_column_stats`.
    static func extentsQuery(tableID: Int64, filter: ExtentFilter) -> (String, [String?]) {
        var parameters: [String?] = [String(tableID)]
        func parameter(_ value: String?) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        var sql = extentColumns + " WHERE e.table_id = $1 AND e.state = 'active'"
        if let range = filter.timeRange {
            let lower = parameter(String(range.lowerNanos)), upper = parameter(String(range.upperNanos))
            sql += " AND numrange(e.min_time_ns, e.max_time_ns, '[]') && numrange(\(lower)::numeric, \(upper)::numeric, '[]')"
        }
        if !filter.requiredPaths.isEmpty {
            sql += " AND e.present_paths @> \(parameter(SQLText.textArray(filter.requiredPaths)))::text[]"
        }
        for condition in filter.columnConditions {
            // Two index probes: extents whose bounds of the condition's kind meet the interval,
            // and extents whose bounds are of the other kind (which cannot prove a miss).
            let column = parameter(condition.column)
            let bounds = [condition.lower, condition.upper].compactMap { $0 }
            let isText = bounds.contains { if case .string = $0 { true } else { false } }
            let (minColumn, maxColumn, otherMin, cast) = isText
                ? ("s.min_text", "s.max_text", "s.min_num", "::text COLLATE \"C\"")
                : ("s.min_num", "s.max_num", "s.min_text", "::numeric")
            var inRange = "\(minColumn) IS NOT NULL"
            if let lower = condition.lower.flatMap(StatisticText.bound) { inRange += " AND \(maxColumn) >= \(parameter(lower))\(cast)" }
            if let upper = condition.upper.flatMap(StatisticText.bound) { inRange += " AND \(minColumn) <= \(parameter(upper))\(cast)" }
            sql += """
                 AND e.id IN (
                    SELECT s.extent_id FROM extent_column_stats s WHERE s.table_id = $1 AND s.column_name = \(column) AND \(inRange)
                    UNION ALL
                    SELECT s.extent_id FROM extent_column_stats s WHERE s.table_id = $1 AND s.column_name = \(column)
                      AND \(otherMin) IS NOT NULL AND \(minColumn) IS NULL)
                """
        }
        sql += " ORDER BY e.min_time_ns, e.id"
        return (sql, parameters)
    }

    static func extents(from rows: PostgresRows) throws(CatalogError) -> [ExtentRecord] {
        var result: [ExtentRecord] = []
        for index in rows.rows.indices {
            func text(_ column: String) -> String { rows.value(index, column) ?? "" }
            func int(_ column: String) -> Int64 { Int64(text(column)) ?? 0 }
            let stats: [String: ColumnStatistics] = try JSONCoding.decode(text("column_stats"))
            result.append(ExtentRecord(
                id: try ExtentID(text("id")), formatName: text("format_name"), formatVersion: Int(int("format_version")),
                objectKey: text("object_key"), byteSize: int("byte_size"), rowCount: int("row_count"),
                timeRange: TimeRange(lowerNanos: int("min_time_ns"), upperNanos: int("max_time_ns")),
                columnStatistics: stats, presentPaths: SQLText.parseTextArray(text("present_paths")),
                summaries: text("summaries"), state: ExtentState(rawValue: text("state")) ?? .active,
                createdAtMillis: int("created_ms")))
        }
        return result
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
            INSERT INTO extent_column_stats (extent_id, table_id, column_name, min_num, max_num, min_text, max_text, null_count)
            SELECT $1::uuid, $2, c, mn, mx, mt, xt, nc
            FROM unnest($3::text[], $4::numeric[], $5::numeric[], $6::text[], $7::text[], $8::bigint[]) AS u(c, mn, mx, mt, xt, nc)
            """, [record.id.uuid, String(tableID), SQLText.textArray(rows.map(\.column)),
                  SQLText.nullableArray(rows.map(\.minNumeric)), SQLText.nullableArray(rows.map(\.maxNumeric)),
                  SQLText.nullableArray(rows.map(\.minText)), SQLText.nullableArray(rows.map(\.maxText)),
                  SQLText.textArray(rows.map { String($0.nullCount) })], operation: "insert column statistics")
    }
}

/// An extent record with its SQL-side forms computed before any connection is taken.
struct PreparedExtent: Sendable {
    struct ColumnRow: Sendable {
        var column: String
        var minNumeric: String?
        var maxNumeric: String?
        var minText: String?
        var maxText: String?
        var nullCount: Int64
    }

    var record: ExtentRecord
    var statisticsJSON: String
    var columnRows: [ColumnRow]

    init(_ record: ExtentRecord) throws(CatalogError) {
        guard !record.objectKey.isEmpty else { throw .invalidArgument("extent \(record.id) has no object key") }
        guard record.timeRange.lowerNanos <= record.timeRange.upperNanos else {
            throw .invalidArgument("extent \(record.id) has min time after max time")
        }
        self.record = record
        self.statisticsJSON = try JSONCoding.encode(record.columnStatistics)
        self.columnRows = record.columnStatistics.sorted { $0.key < $1.key }.map { column, stats in
            ColumnRow(column: column, minNumeric: stats.min.flatMap(StatisticText.numeric),
                             maxNumeric: stats.max.flatMap(StatisticText.numeric), minText: stats.min.flatMap(StatisticText.text),
                             maxText: stats.max.flatMap(StatisticText.text), nullCount: stats.nullCount)
        }
    }
}

/// Scalar values in the text forms PostgreSQL's numeric and text columns take.
enum StatisticText {
    static func numeric(_ value: ScalarValue) -> String? {
        switch value {
        case .int64(let v), .timestamp(let v): String(v)
        case .bool(let v): v ? "1" : "0"
        case .float64(let v): v.isNaN ? "NaN" : v.isInfinite ? (v > 0 ? "Infinity" : "-Infinity") : "\(v)"
        case .string, .binary, .null: nil
        }
    }

    static func text(_ value: ScalarValue) -> String? {
        if case .string(let v) = value { return v }
        return nil
    }

    static func bound(_ value: ScalarValue) -> String? {
        numeric(value) ?? text(value)
    }
}

enum JSONCoding {
    static func encode<T: Encodable>(_ value: T) throws(CatalogError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .invalidArgument("cannot encode \(T.self) as JSON: \(error)")
        }
    }

    static func decode<T: Decodable>(_ text: String) throws(CatalogError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw .constraint("stored JSON is not a valid \(T.self): \(error)")
        }
    }
}
