// Rows as text, written as they arrive: JSON lines (nulls left out, datetimes RFC 3339 UTC),
// CSV (RFC 4180 quoting, a header line) or an aligned table. The CLI and the server write
// results through these, batch by batch.

import KymaCore
import KymaExec
import KymaPlan

public enum ResultFormat: String, Sendable, CaseIterable {
    case table, json, csv

    /// Bytes to write before the first row.
    public func header(_ names: [String]) -> String {
        switch self {
        case .csv: return names.map(Self.csvField).joined(separator: ",") + "\n"
        case .json, .table: return ""
        }
    }

    /// The text of one batch's rows (its first `count` when given), aligned to `names`
    /// (columns a batch lacks are null).
    public func rows(_ batch: ColumnBatch, names: [String], count: Int? = nil) -> String {
        var out = ""
        let positions = names.map { batch.names.firstIndex(of: $0) }
        for row in 0..<min(batch.rowCount, count ?? batch.rowCount) {
            let values = positions.map { $0.map { batch.columns[$0].value(at: row) } ?? .null }
            switch self {
            case .json: out += Self.jsonObject(names: names, values: values) + "\n"
            case .csv: out += values.map { Self.csvField(Self.text($0)) }.joined(separator: ",") + "\n"
            case .table: out += values.map(Self.text).joined(separator: "\t") + "\n"
            }
        }
        return out
    }

    /// A row as a JSON object; null values are left out.
    public static func jsonObject(names: [String], values: [ScalarValue]) -> String {
        var parts: [String] = []
        for (name, value) in zip(names, values) where value != .null {
            parts.append(JSONText.quote(name) + ":" + JSONValue.render(value))
        }
        return "{" + parts.joined(separator: ",") + "}"
    }

    /// A value as a cell: strings as they are, datetimes RFC 3339, reals shortest, null empty.
    public static func text(_ value: ScalarValue) -> String {
        switch value {
        case .null: ""
        case .string(let s): s
        case .timestamp(let t): TimeText.rfc3339(t)
        case .float64(let v): NumberText.real(v)
        default: JSONValue.render(value)
        }
    }

    public static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }

    /// A whole result as an aligned table with a row count (the CLI's default).
    public static func table(_ result: QueryResult) -> String {
        let rows = result.rows.map { $0.map(text) }
        var widths = result.names.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(separator: "  ")
                .reversed().drop { $0 == " " }.reversed().map(String.init).joined()
        }
        var out = line(result.names) + "\n"
        out += line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for row in rows { out += line(row) + "\n" }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        return out
    }
}
