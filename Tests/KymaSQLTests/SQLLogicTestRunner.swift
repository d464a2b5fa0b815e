// A small runner of SQL logic test files (the sqllogictest format DataFusion and DuckDB keep their
// semantics in): `Tests/KymaSQLTests/slt/*.slt`, so new cases are data, not code. Tables are
// declared in the files as JSON lines and held in memory (cut into parts of three rows, so
// aggregation runs in two phases); every query runs through the query service as the CLI's do.
// `harness/slt-check` runs the same files on DuckDB, so the expected answers are DuckDB's.
//
//   table NAME [column:type ...]      then JSON lines up to a blank line (types: int, real,
//                                      text, bool, timestamp; others are inferred)
//   statement error [substring]       then the query; it must fail (with the substring)
//   query TYPES [nosort|rowsort|valuesort]   then the query, `----`, the rows (values tab-separated:
//                                      NULL, (empty), true/false, reals as DuckDB prints doubles,
//                                      timestamps as 2024-01-02 03:04:05)
//   # not-duckdb                       the next record is Kyma's own (has(), KQL forms)

import Foundation
import KymaCore
import KymaExec
import KymaKQL
import KymaPlan
import KymaQueryService
import KymaSQL
import KymaTableSource

struct SQLLogicFile {
    enum Record {
        case query(types: [Character], sort: String, text: String, expected: [String], line: Int)
        case error(substring: String, text: String, line: Int)
    }

    var tables: [InMemoryTableSource] = []
    var records: [Record] = []

    static func parse(_ path: String) throws -> SQLLogicFile {
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        var file = SQLLogicFile()
        var i = 0
        func block() -> [String] {
            var out: [String] = []
            while i < lines.count, !lines[i].trimmingCharacters(in: .whitespaces).isEmpty {
                out.append(lines[i])
                i += 1
            }
            return out
        }
        while i < lines.count {
            let line = lines[i].trimmingCharacters(in: .whitespaces)
            let number = i + 1
            i += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ").map(String.init)
            switch words[0] {
            case "table":
                let name = words[1]
                var types: [String: String] = [:]
                for spec in words.dropFirst(2) {
                    let parts = spec.split(separator: ":").map(String.init)
                    types[parts[0]] = parts[1]
                }
                file.tables.append(try table(name, types: types, rows: block()))
            case "statement":
                let substring = words.count > 2 ? words[2...].joined(separator: " ") : ""
                file.records.append(.error(substring: substring, text: block().joined(separator: "\n"), line: number))
            case "query":
                var text: [String] = []
                while i < lines.count, lines[i] != "----" {
                    text.append(lines[i])
                    i += 1
                }
                i += 1
                let expected = block()
                file.records.append(.query(types: Array(words[1]), sort: words.count > 2 ? words[2] : "nosort",
                                           text: text.joined(separator: "\n"), expected: expected, line: number))
            default:
                throw QueryError.internalError("\(path):\(number): unknown record '\(line)'")
            }
        }
        return file
    }

    static func table(_ name: String, types: [String: String], rows: [String]) throws -> InMemoryTableSource {
        var objects: [[String: Any]] = []
        var order: [String] = []
        for row in rows {
            guard let object = try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any] else { continue }
            objects.append(object)
            for key in object.keys.sorted() where !order.contains(key) { order.append(key) }
        }
        for key in types.keys where !order.contains(key) { order.append(key) }
        func value(_ any: Any?, _ type: String?) -> ScalarValue {
            guard let any, !(any is NSNull) else { return .null }
            switch (any, type) {
            case (let s as String, "timestamp"?): return TimestampText.parse(s).map { .timestamp($0) } ?? .null
            case (let s as String, _): return .string(s)
            case (let n as NSNumber, let t):
                let kind = String(cString: n.objCType)
                if kind == "c" { return .bool(n.boolValue) }
                if t == "real" || kind == "d" || kind == "f" { return .float64(n.doubleValue) }
                return .int64(n.int64Value)
            default: return .null
            }
        }
        // Parts of three rows: units of their own, so scans and aggregation cross units.
        var parts: [[ColumnBatch]] = []
        for start in stride(from: 0, to: objects.count, by: 3) {
            let slice = objects[start..<min(objects.count, start + 3)]
            var columns: [(String, Column)] = []
            for name in order {
                let values = slice.map { value($0[name], types[name]) }
                let declared: DataType? = switch types[name] {
                case "int": .int64
                case "real": .float64
                case "text": .string
                case "bool": .bool
                case "timestamp": .timestamp
                default: nil
                }
                let type = declared ?? ColumnTyping.commonType(values) ?? .string
                var builder = ColumnBuilder(type)
                for v in values { try builder.append(v == .null || v.dataType == type ? v : (type == .float64 ? (v.int64.map { .float64(Double($0)) } ?? .null) : .null)) }
                columns.append((name, builder.finish()))
            }
            parts.append([try ColumnBatch(rowCount: slice.count, columns: columns)])
        }
        return try InMemoryTableSource(table: name, timeColumn: types.first { $0.value == "timestamp" }?.key, parts: parts)
    }

    /// A value as the files write it; `type` is the column's letter (I, R, T).
    static func text(_ value: ScalarValue, _ type: Character) -> String {
        switch value {
        case .null: return "NULL"
        case .string(let s): return s.isEmpty ? "(empty)" : s
        case .bool(let b): return b ? "true" : "false"
        case .int64(let v): return type == "R" ? ScalarCasts.sqlReal(Double(v)) : String(v)
        case .float64(let v):
            if type == "I", v == v.rounded(), abs(v) < 9e18 { return String(Int64(v)) }
            return ScalarCasts.sqlReal(v)
        case .timestamp(let t): return TimestampText.sql(t)
        case .binary(let b): return b.map { String(format: "%02x", $0) }.joined()
        }
    }
}

extension ScalarValue {
    var int64: Int64? {
        if case .int64(let v) = self { return v }
        return nil
    }
}
