// The meaning of an expression over one row: the reference every vectorized path of the
// executor is tested against, and what constant folding evaluates (with no row at all).

import KymaCore

/// A value and whether it is a Kusto timespan (an int64 of nanoseconds that prints as one).
public struct TypedValue: Sendable, Hashable {
    public var value: ScalarValue
    public var isTimespan: Bool

    public init(_ value: ScalarValue, isTimespan: Bool = false) {
        self.value = value
        self.isTimespan = isTimespan
    }
}

public enum ExprSemantics {
    /// `expr` over one row. `column` gives a column's value (null when the row lacks it), or nil
    /// when the value is not known (then so is the result: constant folding passes `{ _ in nil }`).
    public static func evaluate(_ expr: Expr, now: Int64, column: (String) -> ScalarValue?) throws(QueryError) -> TypedValue? {
        switch expr {
        case .literal(let value): return TypedValue(value)
        case .timespan(let nanos): return TypedValue(.int64(nanos), isTimespan: true)
        case .column(let name): return column(name).map { TypedValue($0) }
        case .not(let inner):
            guard let v = try evaluate(inner, now: now, column: column) else { return nil }
            return TypedValue(try logicalNot(v.value))
        case .negate(let inner):
            guard let v = try evaluate(inner, now: now, column: column) else { return nil }
            return TypedValue(try ScalarArithmetic.negate(v.value, checked: false), isTimespan: v.isTimespan)
        case .and(let parts), .or(let parts):
            var values: [ScalarValue] = []
            for part in parts {
                guard let v = try evaluate(part, now: now, column: column) else { return nil }
                values.append(v.value)
            }
            if case .and = expr { return TypedValue(try logical(values, isAnd: true)) }
            return TypedValue(try logical(values, isAnd: false))
        case .compare(let op, let a, let b):
            guard let x = try evaluate(a, now: now, column: column), let y = try evaluate(b, now: now, column: column) else { return nil }
            return TypedValue(ScalarCompare.compare(op, x.value, y.value))
        case .arithmetic(let op, let a, let b):
            guard let x = try evaluate(a, now: now, column: column), let y = try evaluate(b, now: now, column: column) else { return nil }
            return TypedValue(try ScalarArithmetic.apply(op, x.value, y.value),
                              isTimespan: ScalarArithmetic.resultIsTimespan(op, x.isTimespan, y.isTimespan))
        case .text(let op, let a, let b, let negated):
            guard let x = try evaluate(a, now: now, column: column), let y = try evaluate(b, now: now, column: column) else { return nil }
            return TypedValue(.bool(KustoText.matches(op, x.value, y.value) != negated))
        case .inList(let value, let items, let negated):
            guard let x = try evaluate(value, now: now, column: column) else { return nil }
            var found = false
            for item in items {
                guard let y = try evaluate(item, now: now, column: column) else { return nil }
                if x.value != .null, y.value != .null, ScalarCompare.order(x.value, y.value) == 0 { found = true }
            }
            guard x.value != .null else { return TypedValue(.bool(false)) }
            return TypedValue(.bool(found != negated))
        case .between(let value, let low, let high, let negated):
            guard let x = try evaluate(value, now: now, column: column), let lo = try evaluate(low, now: now, column: column),
                  let hi = try evaluate(high, now: now, column: column) else { return nil }
            return TypedValue(between(x.value, lo.value, hi.value, negated: negated))
        case .call(let function, let arguments):
            var values: [ScalarValue] = []
            var spans: [Bool] = []
            for argument in arguments {
                guard let v = try evaluate(argument, now: now, column: column) else { return nil }
                values.append(v.value)
                spans.append(v.isTimespan)
            }
            return TypedValue(try ScalarFunctions.apply(function, values, now: now, timespans: spans),
                              isTimespan: ScalarFunctions.resultIsTimespan(function, spans))
        case .cast(let inner, let target, let mode):
            guard let v = try evaluate(inner, now: now, column: column) else { return nil }
            return TypedValue(try ScalarCasts.cast(v.value, to: target, mode: mode, isTimespan: v.isTimespan))
        }
    }

    public static func logicalNot(_ value: ScalarValue) throws(QueryError) -> ScalarValue {
        switch value {
        case .null: return .null
        case .bool(let b): return .bool(!b)
        default: throw .type("not() needs a boolean, got \(value)")
        }
    }

    /// Three-valued logic: false wins an and, true wins an or, otherwise null if any is null.
    public static func logical(_ values: [ScalarValue], isAnd: Bool) throws(QueryError) -> ScalarValue {
        var sawNull = false
        for item in values {
            switch item {
            case .bool(let b): if b != isAnd { return .bool(b) }
            case .null: sawNull = true
            default: throw .type("\(isAnd ? "and" : "or") needs booleans, got \(item)")
            }
        }
        return sawNull ? .null : .bool(isAnd)
    }

    public static func between(_ x: ScalarValue, _ low: ScalarValue, _ high: ScalarValue, negated: Bool) -> ScalarValue {
        guard x != .null, low != .null, high != .null, let lo = ScalarCompare.order(x, low), let hi = ScalarCompare.order(x, high) else { return .null }
        return .bool((lo >= 0 && hi <= 0) != negated)
    }
}

/// Kusto's string predicates over whole values (the reference of the executor's text kernels):
/// a null or non-string reads as its `tostring`, ASCII letters fold for the case-insensitive ones.
public enum KustoText {
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    static func isTermByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }

    public static func matches(_ op: TextOperator, _ value: ScalarValue, _ needleValue: ScalarValue) -> Bool {
        let ignoreCase = op != .hasCaseSensitive && op != .containsCaseSensitive
        var text = Array((ScalarCasts.kustoString(value, timespan: false).stringValue ?? "").utf8)
        var needle = Array((ScalarCasts.kustoString(needleValue, timespan: false).stringValue ?? "").utf8)
        if ignoreCase {
            text = text.map(lower)
            needle = needle.map(lower)
        }
        let n = needle.count
        func occurs(at i: Int) -> Bool { i >= 0 && i + n <= text.count && text[i..<i + n].elementsEqual(needle) }
        switch op {
        case .equalsIgnoringCase: return text == needle
        case .startsWith: return occurs(at: 0)
        case .endsWith: return occurs(at: text.count - n)
        case .contains, .containsCaseSensitive:
            return n == 0 || (0...max(0, text.count - n)).contains { occurs(at: $0) }
        case .has, .hasCaseSensitive:
            // An empty needle is tried at the start only (as the kernels search).
            if n == 0 { return text.isEmpty || !isTermByte(text[0]) }
            guard text.count >= n else { return false }
            return (0...(text.count - n)).contains { i in
                occurs(at: i) && (i == 0 || !isTermByte(text[i - 1])) && (i + n == text.count || !isTermByte(text[i + n]))
            }
        }
    }
}
