// Lists are JSON array text (as `make_set` and `list` produce them: Kyma has no list type yet):
// `list_sort` and `list_element` read them back. Datetimes inside a list are RFC 3339 strings.

import KymaCore

public enum ListFunctions {
    static func elements(_ text: String) throws(QueryError) -> [ScalarValue] {
        guard let values = JSONText.scalarArray(text) else { throw .type("not a list (a JSON array): \(text.prefix(60))") }
        return values
    }

    /// The text of a list of values.
    public static func render(_ values: [ScalarValue]) -> String {
        "[" + values.map(JSONValue.render).joined(separator: ",") + "]"
    }

    /// Ascending, nulls last (DuckDB's default order); values that do not compare by kind.
    public static func sort(_ text: String) throws(QueryError) -> String {
        let values = try elements(text)
        let sorted = values.enumerated().sorted { a, b in
            let x = a.element, y = b.element
            if x == .null || y == .null { return y == .null && x != .null || (x == .null && y == .null && a.offset < b.offset) }
            let order = ScalarCompare.order(x, y) ?? (kindRank(x) - kindRank(y))
            return order != 0 ? order < 0 : a.offset < b.offset
        }
        return render(sorted.map(\.element))
    }

    static func kindRank(_ value: ScalarValue) -> Int {
        switch value {
        case .null: 0
        case .bool: 1
        case .int64, .float64: 2
        case .timestamp: 3
        case .string: 4
        case .binary: 5
        }
    }

    /// The element at 1-based `index` (negative: from the end), or null when there is none.
    public static func element(_ text: String, _ index: Int64) throws(QueryError) -> ScalarValue {
        let values = try elements(text)
        let count = Int64(values.count)
        let position = index > 0 ? index - 1 : (index < 0 ? count + index : -1)
        guard position >= 0, position < count else { return .null }
        return values[Int(position)]
    }
}
