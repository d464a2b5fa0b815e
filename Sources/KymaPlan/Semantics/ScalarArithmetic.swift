// The row-at-a-time meaning of comparisons and arithmetic over `ScalarValue`: the reference the
// executor's typed loops must agree with, and what constant folding evaluates. No input traps:
// every overflow is either wrapped (Kusto) or an error (SQL), never a crash.

import KymaCore

public enum ScalarCompare {
    /// Order of two non-null values. Numbers compare across int/float; a string compared with a
    /// number is read as a number (columns typed differently in different extents still compare);
    /// nil when the values cannot be compared.
    public static func order(_ a: ScalarValue, _ b: ScalarValue) -> Int? {
        if let order = ScalarOrder.compare(a, b) { return order }
        switch (a, b) {
        case (.string(let s), .int64), (.string(let s), .float64):
            guard let x = Double(s) else { return nil }
            return ScalarOrder.compare(.float64(x), b)
        case (.int64, .string(let s)), (.float64, .string(let s)):
            guard let y = Double(s) else { return nil }
            return ScalarOrder.compare(a, .float64(y))
        case (.timestamp, .string(let s)):
            guard let t = TimestampText.parse(s) else { return nil }
            return ScalarOrder.compare(a, .timestamp(t))
        case (.string(let s), .timestamp):
            guard let t = TimestampText.parse(s) else { return nil }
            return ScalarOrder.compare(.timestamp(t), b)
        default: return nil
        }
    }

    /// `a op b` with SQL's three-valued result: null when either side is null or they do not compare.
    public static func compare(_ op: CompareOperator, _ a: ScalarValue, _ b: ScalarValue) -> ScalarValue {
        guard a != .null, b != .null, let order = order(a, b) else { return .null }
        return .bool(op.holds(order))
    }
}

public enum ScalarArithmetic {
    /// Whether `a op b` is a timespan, given which operands are: timespan ± timespan, timespan
    /// scaled by a number, and datetime − datetime are timespans; datetime ± timespan is a datetime.
    public static func resultIsTimespan(_ op: ArithmeticOperator, _ a: Bool, _ b: Bool) -> Bool {
        let additive = op.isAddition || op.isSubtraction
        return (a && b && additive) || (a && !additive) || (b && !a && (op == .multiply || op == .sqlMultiply))
    }

    public static func apply(_ op: ArithmeticOperator, _ a: ScalarValue, _ b: ScalarValue) throws(QueryError) -> ScalarValue {
        switch (a, b) {
        case (.null, _), (_, .null): return .null
        case (.int64(let x), .int64(let y)): return try integers(op, x, y)
        case (.timestamp(let x), .int64(let y)):
            switch op {
            case .add, .sqlAdd: return .timestamp(try checked(op, x.addingReportingOverflow(y), "+", x, y))
            case .subtract, .sqlSubtract: return .timestamp(try checked(op, x.subtractingReportingOverflow(y), "-", x, y))
            default: throw .type("cannot apply \(op.symbol) to a datetime")
            }
        case (.int64(let x), .timestamp(let y)) where op.isAddition:
            return .timestamp(try checked(op, x.addingReportingOverflow(y), "+", x, y))
        case (.timestamp(let x), .timestamp(let y)) where op.isSubtraction:
            return .int64(try checked(op, x.subtractingReportingOverflow(y), "-", x, y))
        default:
            guard let x = number(a), let y = number(b) else {
                throw .type("cannot apply \(op.symbol) to \(a) and \(b)")
            }
            // SQL `//` by zero is null for reals too (DuckDB with error_on_division_by_zero off;
            // its `%` of doubles by zero is NaN, as here).
            if y == 0, op == .sqlIntegerDivide { return .null }
            return .float64(reals(op, x, y))
        }
    }

    static func integers(_ op: ArithmeticOperator, _ x: Int64, _ y: Int64) throws(QueryError) -> ScalarValue {
        switch op {
        case .add, .sqlAdd: return .int64(try checked(op, x.addingReportingOverflow(y), "+", x, y))
        case .subtract, .sqlSubtract: return .int64(try checked(op, x.subtractingReportingOverflow(y), "-", x, y))
        case .multiply, .sqlMultiply: return .int64(try checked(op, x.multipliedReportingOverflow(by: y), "*", x, y))
        case .divide, .sqlIntegerDivide:
            guard y != 0 else { return .null }
            return .int64(try checked(op, x.dividedReportingOverflow(by: y), "/", x, y))
        case .modulo, .sqlModulo:
            guard y != 0 else { return .null }
            // Int64.min % -1 overflows in the machine, but its value is 0.
            return .int64(y == -1 ? 0 : x % y)
        case .sqlDivide: return .float64(Double(x) / Double(y))
        }
    }

    /// Kusto wraps; SQL reports the overflow (DuckDB: "Overflow in addition of INT64").
    @inline(__always)
    static func checked(_ op: ArithmeticOperator, _ result: (partialValue: Int64, overflow: Bool), _ symbol: String, _ x: Int64, _ y: Int64) throws(QueryError) -> Int64 {
        guard result.overflow else { return result.partialValue }
        switch op {
        case .add, .subtract, .multiply, .divide, .modulo: return result.partialValue
        default: throw .type("integer overflow in \(x) \(symbol) \(y)")
        }
    }

    static func reals(_ op: ArithmeticOperator, _ x: Double, _ y: Double) -> Double {
        switch op {
        case .add, .sqlAdd: x + y
        case .subtract, .sqlSubtract: x - y
        case .multiply, .sqlMultiply: x * y
        // DuckDB's `//` on reals is plain division.
        case .divide, .sqlDivide, .sqlIntegerDivide: x / y
        case .modulo, .sqlModulo: x.truncatingRemainder(dividingBy: y)
        }
    }

    public static func negate(_ value: ScalarValue, checked: Bool) throws(QueryError) -> ScalarValue {
        switch value {
        case .null: return .null
        case .int64(let v):
            if checked, v == .min { throw .type("integer overflow in -(\(v))") }
            return .int64(0 &- v)
        case .float64(let v): return .float64(-v)
        default: throw .type("cannot negate \(value)")
        }
    }

    public static func number(_ value: ScalarValue) -> Double? {
        switch value {
        case .int64(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    /// Kusto `bin`: rounds down to a multiple of `size` (toward negative infinity).
    public static func bin(_ value: ScalarValue, _ size: ScalarValue) throws(QueryError) -> ScalarValue {
        switch (value, size) {
        case (.null, _), (_, .null): return .null
        case (.timestamp(let t), .int64(let s)), (.int64(let t), .int64(let s)):
            guard s > 0 else { throw .type("bin() size must be positive") }
            let floored = floorMultiple(t, s)
            if case .timestamp = value { return .timestamp(floored) }
            return .int64(floored)
        default:
            guard let x = number(value), let s = number(size), s > 0 else { throw .type("bin() needs a number or datetime and a positive size, got \(value), \(size)") }
            return .float64((x / s).rounded(.down) * s)
        }
    }

    /// The largest multiple of `step` (> 0) at or below `value`, clamped at Int64.min.
    public static func floorMultiple(_ value: Int64, _ step: Int64) -> Int64 {
        var quotient = value / step
        if value % step != 0, value < 0 { quotient -= 1 }
        let (product, overflow) = quotient.multipliedReportingOverflow(by: step)
        return overflow ? .min : product
    }
}

/// Exact nearest-rank positions for percentiles and discrete quantiles: rank ⌈q·n⌉ computed in
/// integers from q rounded to 9 decimal places, so 0.7 of 10 rows is rank 7 (in doubles,
/// 0.7 × 10 = 7.000000000000001 would give 8). DuckDB computes it exactly from the decimal too.
public enum QuantileRank {
    /// The 1-based rank (1...count) of quantile `fraction` (0...1) of `count` values.
    public static func nearest(count: Int, fraction: Double) -> Int {
        guard count > 0 else { return 0 }
        let scale: Int64 = 1_000_000_000
        let scaled = Int64((min(1, max(0, fraction)) * Double(scale)).rounded())
        let (product, overflow) = Int64(count).multipliedReportingOverflow(by: scaled)
        let rank = overflow ? Int64((fraction * Double(count)).rounded(.up)) : (product + scale - 1) / scale
        return Int(max(1, min(Int64(count), rank)))
    }
}
