// The one rule for typing a column from values of possibly different types (schema on read):
// ingest, query results, vector payloads and JSON files all follow it.

public enum ColumnTyping {
    /// The column type for values of type `current` (nil: none yet) and `next`: equal types stay,
    /// int64 with float64 is float64, any other mix is string.
    public static func merge(_ current: DataType?, _ next: DataType) -> DataType {
        guard let current, current != next else { return next }
        return Set([current, next]) == [.int64, .float64] ? .float64 : .string
    }

    /// The common type of the non-null values; nil when every value is null.
    public static func commonType<S: Sequence>(_ values: S) -> DataType? where S.Element == ScalarValue {
        var type: DataType? = nil
        for value in values { if let t = value.dataType { type = merge(type, t) } }
        return type
    }
}
