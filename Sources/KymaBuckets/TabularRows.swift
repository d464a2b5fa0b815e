// Rows of a tabular object as typed columns: JSON lines (flattened paths), CSV (RFC 4180:
// quoted fields, doubled quotes, CRLF or LF, a header row naming the columns). Types are
// inferred over all rows (int64, float64, bool, timestamp for the named time field, else
// string), or taken from a table's schema when the rows go into one. Used by the
// rows-to-iceberg pipeline and `kyma iceberg create/append`.

import Foundation
import KymaCore
import KymaIngest

public enum TabularRows {
    public struct Rows {
        /// Column names in first-seen order.
        public var order: [String]
        public var rows: [[String: ScalarValue]]
        /// CSV: cells are their text, typed only by the column they go into (so a code like
        /// `0E0` in a text column stays `0E0`, not the number 0).
        public var textCells = false
    }

    /// JSON lines; blank lines are skipped. `timeField`'s RFC 3339 strings become timestamps.
    public static func jsonLines(_ bytes: [UInt8], timeField: String?, limit: Int? = nil, source: String) throws(BucketsError) -> Rows {
        var out = Rows(order: [], rows: [])
        var seen: Set<String> = []
        for (number, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            if let limit, out.rows.count >= limit { break }
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
            var row: [String: ScalarValue] = [:]
            do throws(JSONParseError) {
                for (name, value) in try JSONLineParser.flatten(line) {
                    if seen.insert(name).inserted { out.order.append(name) }
                    row[name] = value
                }
            } catch {
                throw BucketsError(.badObject, "\(source): line \(number + 1): \(error.reason)")
            }
            try convertTime(&row, timeField: timeField, place: "\(source): line \(number + 1)")
            out.rows.append(row)
        }
        return out
    }

    /// CSV with a header row. A column is typed as JSON scalars would be when every cell
    /// reads so (integers, decimals, true/false), else it is text; an empty cell is null.
    public static func csv(_ bytes: [UInt8], delimiter: UInt8 = UInt8(ascii: ","), timeField: String?, source: String) throws(BucketsError) -> Rows {
        let records = try csvRecords(bytes, delimiter: delimiter, source: source)
        guard let header = records.first else { return Rows(order: [], rows: []) }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.contains(""), Set(names).count == names.count else {
            throw BucketsError(.badObject, "\(source): the header row needs unique, non-empty column names; got \(names)")
        }
        var out = Rows(order: names, rows: [], textCells: true)
        for (index, record) in records.dropFirst().enumerated() {
            if record.count == 1, record[0].isEmpty { continue }  // a blank line
            guard record.count == names.count else {
                throw BucketsError(.badObject, "\(source): record \(index + 2) has \(record.count) fields, the header \(names.count)")
            }
            var row: [String: ScalarValue] = [:]
            for (name, cell) in zip(names, record) { row[name] = cell.isEmpty ? .null : .string(cell) }
            try convertTime(&row, timeField: timeField, place: "\(source): record \(index + 2)")
            out.rows.append(row)
        }
        return out
    }

    static func scalar(_ cell: String) -> ScalarValue {
        if cell.isEmpty { return .null }
        if let integer = Int64(cell) { return .int64(integer) }
        if cell.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }), let number = Double(cell), number.isFinite { return .float64(number) }
        if cell == "true" { return .bool(true) }
        if cell == "false" { return .bool(false) }
        return .string(cell)
    }

    static func convertTime(_ row: inout [String: ScalarValue], timeField: String?, place: String) throws(BucketsError) {
        guard let timeField, let value = row[timeField], value != .null else { return }
        guard let nanos = TimeFormat.rfc3339.nanos(value) else { throw BucketsError(.badObject, "\(place): \(timeField) is not an RFC 3339 time: \(value)") }
        row[timeField] = .timestamp(nanos)
    }

    /// RFC 4180 records: fields split by `delimiter`, records by LF or CRLF; a field in double
    /// quotes may hold delimiters, line breaks and doubled quotes.
    static func csvRecords(_ bytes: [UInt8], delimiter: UInt8, source: String) throws(BucketsError) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field: [UInt8] = []
        var quoted = false, wasQuoted = false
        var i = 0
        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        while i < bytes.count {
            let byte = bytes[i]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") { field.append(byte); i += 2; continue }
                    quoted = false
                } else {
                    field.append(byte)
                }
                i += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard field.isEmpty, !wasQuoted else {
                    throw BucketsError(.badObject, "\(source): record \(records.count + 1): a quote inside an unquoted field")
                }
                quoted = true
                wasQuoted = true
            case delimiter:
                endField()
            case 0x0A:
                endField()
                records.append(record)
                record = []
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break  // the LF ends the record
            default:
                if wasQuoted { throw BucketsError(.badObject, "\(source): record \(records.count + 1): text after a closing quote") }
                field.append(byte)
            }
            i += 1
        }
        if quoted { throw BucketsError(.badObject, "\(source): a quoted field is not closed") }
        if !field.isEmpty || !record.isEmpty || wasQuoted {
            endField()
            records.append(record)
        }
        return records
    }

    /// Every column seen, with the type its values share (text when they share none).
    public static func fields(_ rows: Rows) -> [(name: String, type: DataType)] {
        rows.order.map { name in (name: name, type: ColumnTyping.commonType(rows.rows.map { typed($0[name] ?? .null, rows) }) ?? .string) }
    }

    /// A CSV cell as the value it reads as; other values as they are.
    static func typed(_ value: ScalarValue, _ rows: Rows) -> ScalarValue {
        if rows.textCells, case .string(let text) = value { return scalar(text) }
        return value
    }

    /// The rows as one batch: columns `given` (a table's schema), else every column seen with
    /// its inferred type. A value that does not fit its column is an error naming both, except
    /// integers in a float column and anything in a string column (rendered as JSON text).
    public static func batch(_ rows: Rows, into given: [(name: String, type: DataType)]? = nil, source: String) throws(BucketsError) -> (fields: [(name: String, type: DataType)], batch: ColumnBatch) {
        let fields = given ?? Self.fields(rows)
        var builders = fields.map { ColumnBuilder($0.type) }
        do {
            for row in rows.rows {
                for (k, field) in fields.enumerated() {
                    var value = row[field.name] ?? .null
                    if field.type != .string { value = Self.typed(value, rows) }
                    if case .int64(let v) = value, field.type == .float64 { value = .float64(Double(v)) }
                    if value != .null, value.dataType != field.type {
                        guard field.type == .string else {
                            throw BucketsError(.badObject, "\(source): column '\(field.name)' is \(field.type.rawValue), got \(JSONValue.render(value))")
                        }
                        value = .string(JSONValue.render(value))
                    }
                    try builders[k].append(value)
                }
            }
            return (fields, try ColumnBatch(rowCount: rows.rows.count, columns: zip(fields, builders).map { ($0.name, $1.finish()) }))
        } catch let error as BucketsError {
            throw error
        } catch {
            throw BucketsError(.badObject, "\(source): \(error)")
        }
    }
}
