// Tables and extents: creation, atomic commits, catalog-level pruning, compaction swaps.

import Foundation
import KymaCore
import KymaCatalog

extension PostgresCatalog {
    // MARK: - Tables

    public func createTable(_ definition: TableDefinition) async throws(CatalogError) -> TableInfo {
        if let reason = Self.invalidNameReason(definition.name) { throw .invalidArgument("table name \(reason)") }
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
            try connection.executePrepared(Self.tableColumns + " WHERE name = $1", [name], operation: "table lookup")
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

    public func setTableOptions(named name: String, options: [String: String]) async throws(CatalogError) -> TableInfo {
        let optionsJSON = try JSONCoding.encode(options)
        let rows = try await withConnection(operation: "set table options") { connection throws(CatalogError) in
            try connection.execute("UPDATE tables SET options = $2 WHERE name = $1", [name, optionsJSON])
        }
        if rows.affectedRows == 0 { throw .tableNotFound(name) }
        guard let table = try await table(named: name) else { throw .tableNotFound(name) }
        return table
    }

    /// Why `name` cannot name a table (or a collection), or nil when it can: it must be 1 to 255
    /// bytes of UTF-8 with no control characters (it appears in keys, messages and URLs).
    static func invalidNameReason(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 255 { return "is \(name.utf8.count) bytes long; the limit is 255" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        return nil
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

    // MARK: - Catalog pruning

    public func extents(table: String, matching filter: ExtentFilter) async throws(CatalogError) -> [ExtentRecord] {
        let (sql, parameters) = Self.extentsQuery(table: table, filter: filter)
        let rows = try await withConnection(operation: "list extents", idempotent: true) { connection throws(CatalogError) in
            try connection.executePrepared(sql, parameters, operation: "list extents")
        }
        // The table's row comes back even when no extent matches (the join is a left join).
        guard !rows.rows.isEmpty else { throw .tableNotFound(table) }
        return try extents(from: rows)
    }

    public func extentTotals(table: String) async throws(CatalogError) -> ExtentTotals {
        let rows = try await withConnection(operation: "count extents", idempotent: true) { connection throws(CatalogError) in
            try connection.executePrepared("""
                SELECT count(e.id) AS n, coalesce(sum(e.row_count), 0) AS rows, coalesce(sum(e.byte_size), 0) AS bytes
                FROM tables t LEFT JOIN extents e ON e.table_id = t.id AND e.state = 'active' WHERE t.name = $1 GROUP BY t.id
                """, [table], operation: "count extents")
        }
        guard let n = rows.value(0, "n").flatMap({ Int($0) }) else { throw .tableNotFound(table) }
        return ExtentTotals(extents: n, rows: rows.value(0, "rows").flatMap { Int($0) } ?? 0, bytes: rows.value(0, "bytes").flatMap { Int($0) } ?? 0)
    }

    static let extentSelect = """
        SELECT e.id::text AS id, e.format_name, e.format_version, e.object_key, e.byte_size, e.row_count, e.min_time_ns,
               e.max_time_ns, e.column_stats::text AS column_stats, e.present_paths::text AS present_paths,
               e.summaries::text AS summaries, e.state, (extract(epoch from e.created_at) * 1000)::bigint AS created_ms
        """
    static let extentColumns = extentSelect + " FROM extents e"

    /// The pruning query: GiST interval overlap for time, GIN containment for paths, and
    /// per-column range probes into `extent_column_stats`. One round trip: the table is found by
    /// name in the same statement (a left join, so a table without matching extents gives one
    /// row of nulls and an unknown table none).
    static func extentsQuery(table: String, filter: ExtentFilter) -> (String, [String?]) {
        var parameters: [String?] = [table]
        func parameter(_ value: String?) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        var sql = extentSelect + " FROM tables t LEFT JOIN extents e ON e.table_id = t.id AND e.state = 'active'"
        if let range = filter.timeRange {
            let lower = parameter(String(range.lowerNanos)), upper = parameter(String(range.upperNanos))
            sql += " AND numrange(e.min_time_ns, e.max_time_ns, '[]') && numrange(\(lower)::numeric, \(upper)::numeric, '[]')"
        }
        if !filter.requiredPaths.isEmpty {
            sql += " AND e.present_paths @> \(parameter(SQLText.textArray(filter.requiredPaths)))::text[]"
        }
        for condition in filter.columnConditions {
            // Three index probes: extents whose bounds of the condition's kind meet the interval,
            // extents whose bounds are of the other kind, and extents with values but no bounds
            // (neither of the last two can prove a miss).
            let column = parameter(condition.column)
            let bounds = [condition.lower, condition.upper].compactMap { $0 }
            let isText = bounds.contains { if case .string = $0 { true } else { false } }
            let (minColumn, maxColumn, otherMin, cast) = isText
                ? ("s.min_text", "s.max_text", "s.min_num", "::text COLLATE \"C\"")
                : ("s.min_num", "s.max_num", "s.min_text", "::numeric")
            var inRange = "\(minColumn) IS NOT NULL"
            // The query's constants are bounded as stored statistics are (a long or NUL-holding
            // string widens to a bound), so the probe stays correct and PostgreSQL can take it.
            if let lower = condition.lower.map(StatisticBounds.lower).flatMap(StatisticText.bound) {
                inRange += " AND \(maxColumn) >= \(parameter(lower))\(cast)"
            }
            if let upper = condition.upper.flatMap(StatisticBounds.upper).flatMap(StatisticText.bound) {
                inRange += " AND \(minColumn) <= \(parameter(upper))\(cast)"
            }
            sql += """
                 AND e.id IN (
                    SELECT s.extent_id FROM extent_column_stats s WHERE s.table_id = t.id AND s.column_name = \(column) AND \(inRange)
                    UNION ALL
                    SELECT s.extent_id FROM extent_column_stats s WHERE s.table_id = t.id AND s.column_name = \(column)
                      AND \(otherMin) IS NOT NULL AND \(minColumn) IS NULL
                    UNION ALL
                    SELECT s.extent_id FROM extent_column_stats s WHERE s.table_id = t.id AND s.column_name = \(column) AND s.bounds_unknown)
                """
        }
        sql += " WHERE t.name = $1 ORDER BY e.min_time_ns, e.id"
        return (sql, parameters)
    }

    func extents(from rows: PostgresRows) throws(CatalogError) -> [ExtentRecord] {
        var result: [ExtentRecord] = []
        for index in rows.rows.indices where rows.value(index, "id") != nil {
            func text(_ column: String) -> String { rows.value(index, column) ?? "" }
            func int(_ column: String) -> Int64 { Int64(text(column)) ?? 0 }
            let id = text("id")
            let stats: [String: ColumnStatistics]
            if let cached = statisticsCache.withLock({ $0[id] }) {
                stats = cached
            } else {
                stats = try JSONCoding.decode(text("column_stats"))
                statisticsCache.withLock { cache in
                    if cache.count >= Self.statisticsCacheLimit { cache.removeAll() }
                    cache[id] = stats
                }
            }
            result.append(ExtentRecord(
                id: try ExtentID(id), formatName: text("format_name"), formatVersion: Int(int("format_version")),
                objectKey: text("object_key"), byteSize: int("byte_size"), rowCount: int("row_count"),
                timeRange: TimeRange(lowerNanos: int("min_time_ns"), upperNanos: int("max_time_ns")),
                columnStatistics: stats, presentPaths: SQLText.parseTextArray(text("present_paths")),
                summaries: text("summaries"), state: ExtentState(rawValue: text("state")) ?? .active,
                createdAtMillis: int("created_ms")))
        }
        return result
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
