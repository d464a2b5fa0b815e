// The order of scalar values that statistics and pruning use: numbers across long and double,
// strings and binary by bytes (UTF-8 for strings, as Parquet and Iceberg bounds are), false before
// true. Shared by the segment formats' pruning and Iceberg's file bounds.

/// Ordering of scalar values of comparable types: numbers across int/float/timestamp, strings
/// by UTF-8 bytes, bools false < true. nil when the two cannot be compared.
public enum ScalarOrder {
    public static func compare(_ a: ScalarValue, _ b: ScalarValue) -> Int? {
        switch (a, b) {
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)), (.int64(let x), .timestamp(let y)),
             (.timestamp(let x), .int64(let y)):
            return x < y ? -1 : (x == y ? 0 : 1)
        case (.float64(let x), .float64(let y)): return order(x, y)
        case (.int64(let x), .float64(let y)): return order(Double(x), y)
        case (.float64(let x), .int64(let y)): return order(x, Double(y))
        case (.string(let x), .string(let y)):
            if x == y { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        case (.binary(let x), .binary(let y)):
            if x == y { return 0 }
            return x.lexicographicallyPrecedes(y) ? -1 : 1
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        default: return nil
        }
    }

    static func order(_ x: Double, _ y: Double) -> Int? {
        if x.isNaN || y.isNaN { return nil }
        return x < y ? -1 : (x == y ? 0 : 1)
    }
}
