// KymaIngest: logs in. Parses JSON lines (nested objects flattened to dotted paths) or raw text
// lines, types columns per extent, cuts extents by rows and time window, writes them with the
// table's SegmentFormat, uploads them, and commits them to the catalog in one transaction.
// Acknowledged means durable in object storage and committed in the catalog.

import KymaCatalog
import KymaCore
import KymaFormat
import KymaObjectStore

public enum InputKind: String, Sendable {
    /// One JSON object per line.
    case jsonLines = "json"
    /// One `_msg` per line.
    case text
}

public enum OnError: String, Sendable {
    /// Any bad line rejects the whole batch; nothing is written.
    case reject
    /// Bad lines are reported and left out; the rest is written.
    case skip
}

public struct IngestOptions: Sendable {
    public var kind: InputKind = .jsonLines
    /// The field holding each row's time; nil stamps rows with the ingest time as `_time`.
    public var timeField: String?
    public var timeFormat: TimeFormat = .rfc3339
    public var onError: OnError = .reject
    public var maxRowsPerExtent = 1_000_000
    /// Rows of one extent lie in one window of this many nanoseconds (default one day).
    public var timeWindowNanos: Int64 = 86_400_000_000_000
    /// The client batch part these lines are (from `Catalog.beginBatch`): committing lines of
    /// an input already committed under the batch id is a no-op.
    public var batch: BatchPart?

    public init() {}
}

/// A line that could not be ingested, by 1-based line number.
public struct LineError: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var reason: String
    public var description: String { "line \(line): \(reason)" }
}

public enum IngestError: Error, Sendable, CustomStringConvertible {
    case rejected([LineError])
    case tableFormat(String)
    /// The input's time field is not the table's time column.
    case timeColumnMismatch(table: String, tableColumn: String, requested: String)
    case format(FormatError)
    case store(ObjectStoreError)
    case catalog(CatalogError)
    /// A failure from outside the layers above (a bug, not bad input).
    case unexpected(String)

    public var description: String {
        switch self {
        case .rejected(let errors):
            let shown = errors.prefix(5).map(\.description).joined(separator: "; ")
            return "batch rejected, nothing written: \(errors.count) bad line(s): \(shown)\(errors.count > 5 ? "; ..." : "")"
        case .tableFormat(let reason): return reason
        case .timeColumnMismatch(let table, let tableColumn, let requested):
            return "table '\(table)' has time column '\(tableColumn)' but the input's time field is '\(requested)' (use --time-field \(tableColumn == "_time" ? "only with a table created with --time-column" : tableColumn))"
        case .format(let error): return "\(error)"
        case .store(let error): return "\(error)"
        case .catalog(let error): return "\(error)"
        case .unexpected(let reason): return "unexpected ingest failure: \(reason)"
        }
    }
}

extension IngestError {
    /// The error of a lower layer as an ingest error.
    init(wrapping error: any Error) {
        switch error {
        case let error as IngestError: self = error
        case let error as FormatError: self = .format(error)
        case let error as ObjectStoreError: self = .store(error)
        case let error as CatalogError: self = .catalog(error)
        default: self = .unexpected("\(error)")
        }
    }
}

public struct IngestReport: Sendable {
    public var rowsWritten = 0
    public var extents: [ExtentRecord] = []
    public var skipped: [LineError] = []
    public var outcome: CommitOutcome = .committed
}

/// Ingests batches of lines into a table. Stateless: everything durable goes to the store and
/// the catalog.
public struct LogIngestor: Sendable {
    public let catalog: any Catalog
    public let store: any ObjectStore
    public let formats: FormatRegistry

    public init(catalog: any Catalog, store: any ObjectStore, formats: FormatRegistry) {
        self.catalog = catalog
        self.store = store
        self.formats = formats
    }

    /// Ingests `input` (lines separated by LF or CRLF) into `table`, creating it with
    /// `defaultFormat` when missing.
    public func ingest(_ input: [UInt8], into table: String, options: IngestOptions,
                       defaultFormat: String = "tlm", nowNanos: Int64) async throws(IngestError) -> IngestReport {
        var report = IngestReport()
        // The table's time column is its pruning column and `_time` in queries: one per table.
        let requested = options.timeField ?? "_time"
        let existing: TableInfo?
        do {
            existing = try await catalog.table(named: table)
        } catch {
            throw .catalog(error)
        }
        if let existing, (existing.definition.timeColumn ?? "_time") != requested {
            throw .timeColumnMismatch(table: table, tableColumn: existing.definition.timeColumn ?? "_time", requested: requested)
        }
        let (rows, errors) = Self.parse(input, options: options, nowNanos: nowNanos)
        if !errors.isEmpty && options.onError == .reject { throw .rejected(errors) }
        report.skipped = errors
        guard !rows.isEmpty else { return report }
        let info = try await ensureTable(table, defaultFormat: defaultFormat, timeField: options.timeField)
        guard let format = formats.format(named: info.definition.formatName) else {
            throw .tableFormat("table '\(table)' uses format '\(info.definition.formatName)', which this binary does not have")
        }

        let timeColumn = options.timeField ?? "_time"
        guard (info.definition.timeColumn ?? "_time") == timeColumn else {  // created concurrently with another
            throw .timeColumnMismatch(table: table, tableColumn: info.definition.timeColumn ?? "_time", requested: timeColumn)
        }
        var formatOptions = info.definition.options
        formatOptions["time_column"] = timeColumn
        var records: [ExtentRecord] = []
        var uploaded: [ObjectKey] = []
        do throws(IngestError) {
            for group in Self.cut(rows, maxRows: options.maxRowsPerExtent, window: options.timeWindowNanos) {
                let (schema, batch) = Self.columns(group, timeColumn: timeColumn)
                let finished: FinishedExtent
                do {
                    let writer = try format.makeWriter(schema: schema, options: FormatOptions(formatOptions))
                    try writer.append(batch)
                    finished = try writer.finish()
                } catch {
                    throw .format(error)
                }
                let id = ExtentID.random()
                let key: ObjectKey
                do { key = try ObjectKey("tables/\(info.id)/extents/\(id.uuid).\(format.name)") } catch { throw .store(error) }
                // Registered first, uploaded second, committed last: a crash anywhere leaves
                // either nothing or an object the garbage collector can tell is abandoned.
                do { try await catalog.registerUploads(table: table, objectKeys: [key.rawValue]) } catch { throw .catalog(error) }
                do { try await store.putIfAbsent(key, finished.bytes) } catch { throw .store(error) }
                uploaded.append(key)
                records.append(Self.record(id: id, key: key, finished.manifest))
            }
        } catch {
            for key in uploaded { try? await store.delete(key) }  // never committed; the collector takes the registrations
            throw error
        }
        do {
            report.outcome = try await catalog.commitExtents(table: table, extents: records, batch: options.batch)
        } catch {
            // The outcome may be unknown (a lost connection, a timeout): the objects stay, and
            // the garbage collector deletes them later only if no commit took their registrations.
            throw .catalog(error)
        }
        if report.outcome == .alreadyCommitted {
            for key in uploaded { try? await store.delete(key) }  // a retry: the first attempt's extents stand
            return report
        }
        report.extents = records
        report.rowsWritten = rows.count
        return report
    }

    /// The table's catalog entry, creating it with `defaultFormat` when missing (a concurrent
    /// creation by another writer is fine).
    public func ensureTable(_ table: String, defaultFormat: String = "tlm", timeField: String?) async throws(IngestError) -> TableInfo {
        try await tableInfo(table, defaultFormat: defaultFormat, timeField: timeField)
    }

    private func tableInfo(_ table: String, defaultFormat: String, timeField: String?) async throws(IngestError) -> TableInfo {
        do throws(CatalogError) {
            if let existing = try await catalog.table(named: table) { return existing }
            do throws(CatalogError) {
                return try await catalog.createTable(TableDefinition(name: table, formatName: defaultFormat, timeColumn: timeField))
            } catch .conflict {
                if let existing = try await catalog.table(named: table) { return existing }  // created concurrently
                throw CatalogError.tableNotFound(table)
            }
        } catch {
            throw .catalog(error)
        }
    }

    // MARK: - Parsing

    struct Row {
        var time: Int64
        var fields: [(String, ScalarValue)]
    }

    static func parse(_ input: [UInt8], options: IngestOptions, nowNanos: Int64) -> ([Row], [LineError]) {
        var rows: [Row] = []
        var errors: [LineError] = []
        var lineNumber = 0
        var keys = JSONKeyCache()
        for var line in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.last == 0x0D { line = line.dropLast() }
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            switch options.kind {
            case .text:
                guard let text = String(validating: line, as: UTF8.self) else {
                    errors.append(LineError(line: lineNumber, reason: "not valid UTF-8"))
                    continue
                }
                rows.append(Row(time: nowNanos, fields: [("_time", .timestamp(nowNanos)), ("_msg", .string(text))]))
            case .jsonLines:
                do throws(JSONParseError) {
                    var fields = try JSONLineParser.flatten(line, rawNumberPath: options.timeFormat == .rfc3339 ? nil : options.timeField, keys: &keys)
                    if let name = duplicateName(fields) { throw JSONParseError(column: 1, reason: "duplicate key '\(name)'") }
                    var time = nowNanos
                    if let timeField = options.timeField {
                        guard let index = fields.firstIndex(where: { $0.0 == timeField }) else {
                            throw JSONParseError(column: 1, reason: "no time field '\(timeField)'")
                        }
                        let nanos: Int64
                        switch options.timeFormat.read(fields[index].1) {
                        case .nanos(let value): nanos = value
                        case .outOfRange:
                            throw JSONParseError(column: 1, reason: "time field '\(timeField)' is out of range (\(fields[index].1)): times are nanoseconds in an Int64, 1677-09-21 to 2262-04-11")
                        case .malformed:
                            throw JSONParseError(column: 1, reason: "time field '\(timeField)' is not \(options.timeFormat.rawValue): \(fields[index].1)")
                        }
                        time = nanos
                        fields[index].1 = .timestamp(nanos)
                    } else {
                        fields.removeAll { $0.0 == "_time" }
                        fields.append(("_time", .timestamp(nowNanos)))
                    }
                    rows.append(Row(time: time, fields: fields))
                } catch {
                    errors.append(LineError(line: lineNumber, reason: "column \(error.column): \(error.reason)"))
                }
            }
        }
        return (rows, errors)
    }

    /// A name that occurs twice among `fields`: pairwise for the usual handful of fields (no
    /// hashing per line), through a set for wide ones.
    static func duplicateName(_ fields: [(String, ScalarValue)]) -> String? {
        if fields.count <= 24 {
            for i in fields.indices { for j in 0..<i where fields[j].0 == fields[i].0 { return fields[i].0 } }
            return nil
        }
        var seen = Set<String>()
        return fields.first { !seen.insert($0.0).inserted }?.0
    }

    /// Sorts by time and cuts into groups of at most `maxRows` within one time window each.
    static func cut(_ rows: [Row], maxRows: Int, window: Int64) -> [[Row]] {
        let sorted = rows.sorted { $0.time < $1.time }
        var groups: [[Row]] = []
        var current: [Row] = []
        var currentWindow: Int64? = nil
        for row in sorted {
            let rowWindow = row.time >= 0 ? row.time / window : (row.time + 1) / window - 1
            if current.count >= maxRows || (currentWindow != nil && currentWindow != rowWindow) {
                groups.append(current)
                current = []
            }
            currentWindow = rowWindow
            current.append(row)
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    // MARK: - Typing

    /// One extent's schema and batch. A path's type is the one type of its values; int64 mixed
    /// with float64 is float64; any other mix is string (values written as their text).
    static func columns(_ rows: [Row], timeColumn: String) -> (Schema, ColumnBatch) {
        var slots = FieldSlots()
        var types: [DataType?] = []
        for row in rows {
            for (k, (name, value)) in row.fields.enumerated() {
                let slot = slots.slot(name, at: k)
                if slot == types.count { types.append(nil) }
                if let type = value.dataType { types[slot] = ColumnTyping.merge(types[slot], type) }
            }
        }
        let fields = zip(slots.names, types).map { Field(name: $0, type: $1 ?? .string) }
        var builders = fields.map { ColumnBuilder($0.type) }
        var filled = [Bool](repeating: false, count: fields.count)
        for row in rows {
            // Each path at most once per row (duplicate keys are refused when parsing).
            for (k, (name, value)) in row.fields.enumerated() {
                let slot = slots.slot(name, at: k)
                try? builders[slot].append(coerce(value, to: fields[slot].type))  // coerce makes the types agree
                filled[slot] = true
            }
            for slot in filled.indices {
                if filled[slot] { filled[slot] = false } else { builders[slot].appendNull() }
            }
        }
        let schema = (try? Schema(fields)) ?? .empty  // names are unique: they come from a dictionary of paths
        let batch = (try? ColumnBatch(rowCount: rows.count, columns: zip(fields, builders).map { ($0.name, $1.finish()) })) ?? ColumnBatch(rowCount: 0)
        return (schema, batch)
    }

    /// Column positions of field names in first-seen order. Rows mostly repeat the previous
    /// row's field order, so a field is first matched against the name at its position in the
    /// row before, and hashed only when that differs.
    struct FieldSlots {
        private(set) var names: [String] = []
        private var index: [String: Int] = [:]
        private var lastNames: [String] = []
        private var lastSlots: [Int] = []

        mutating func slot(_ name: String, at position: Int) -> Int {
            if position < lastNames.count, lastNames[position] == name { return lastSlots[position] }
            let slot: Int
            if let found = index[name] {
                slot = found
            } else {
                slot = names.count
                index[name] = slot
                names.append(name)
            }
            if position < lastNames.count {
                lastNames[position] = name
                lastSlots[position] = slot
            } else {
                lastNames.append(name)
                lastSlots.append(slot)
            }
            return slot
        }
    }

    static func coerce(_ value: ScalarValue, to type: DataType) -> ScalarValue {
        switch (value, type) {
        case (.null, _): return .null
        case (.int64(let v), .float64): return .float64(Double(v))
        case (_, .string):
            switch value {
            case .string: return value
            case .int64(let v): return .string(String(v))
            case .float64(let v): return .string(String(v))
            case .bool(let v): return .string(v ? "true" : "false")
            case .timestamp(let v): return .string(String(v))
            case .binary(let v): return .string(String(decoding: v, as: UTF8.self))
            case .null: return .null
            }
        default: return value
        }
    }

    static func record(id: ExtentID, key: ObjectKey, _ manifest: ExtentManifest) -> ExtentRecord {
        var statistics: [String: ColumnStatistics] = [:]
        for (name, summary) in manifest.columns {
            statistics[name] = ColumnStatistics(min: summary.min, max: summary.max, nullCount: Int64(summary.nullCount))
        }
        return ExtentRecord(id: id, formatName: manifest.formatName, formatVersion: manifest.formatVersion, objectKey: key.rawValue,
                            byteSize: Int64(manifest.byteSize), rowCount: Int64(manifest.rowCount), timeRange: manifest.timeRange ?? .all,
                            columnStatistics: statistics, presentPaths: manifest.presentPaths.sorted())
    }
}
