// Scalar expressions of a logical plan: column references, literals, operators and functions,
// with Kusto's semantics (documented in docs/kql.md) whatever language produced them.

import KymaCore

public enum CompareOperator: String, Sendable, Hashable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    /// The operator with its operands swapped (`a < b` is `b > a`).
    public var swapped: CompareOperator {
        switch self {
        case .equal, .notEqual: self
        case .less: .greater
        case .lessOrEqual: .greaterOrEqual
        case .greater: .less
        case .greaterOrEqual: .lessOrEqual
        }
    }

    public func holds(_ order: Int) -> Bool {
        switch self {
        case .equal: order == 0
        case .notEqual: order != 0
        case .less: order < 0
        case .lessOrEqual: order <= 0
        case .greater: order > 0
        case .greaterOrEqual: order >= 0
        }
    }
}

public enum ArithmeticOperator: String, Sendable, Hashable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%"
}

/// String predicates. A null string reads as empty (Kusto has no null strings).
public enum TextOperator: String, Sendable, Hashable {
    /// Whole term, case-insensitive (Kusto `has`).
    case has
    /// Whole term, case-sensitive (`has_cs`).
    case hasCaseSensitive = "has_cs"
    /// Substring, case-insensitive (`contains`).
    case contains
    case containsCaseSensitive = "contains_cs"
    /// Prefix, case-insensitive (`startswith`).
    case startsWith = "startswith"
    case endsWith = "endswith"
    /// Equality ignoring case (`=~`).
    case equalsIgnoringCase = "=~"
}

public enum ScalarFunction: String, Sendable, Hashable, CaseIterable {
    case isNull = "isnull", isNotNull = "isnotnull", isEmpty = "isempty", isNotEmpty = "isnotempty"
    /// `bin(value, size)`: rounds down to a multiple of size (numbers, or datetimes by a timespan).
    case bin
    case toString = "tostring", toInt = "toint", toLong = "tolong", toDouble = "todouble"
    case strlen, toLower = "tolower", toUpper = "toupper"
    /// `iff(condition, then, else)`.
    case iff
    /// The query's start time (one value for the whole query).
    case now
}

/// A scalar expression.
public indirect enum Expr: Sendable, Hashable, CustomStringConvertible {
    case column(String)
    case literal(ScalarValue)
    /// A duration in nanoseconds (`5m`, `1h`, `timespan(…)`).
    case timespan(Int64)
    case not(Expr)
    case negate(Expr)
    case arithmetic(ArithmeticOperator, Expr, Expr)
    case compare(CompareOperator, Expr, Expr)
    case and([Expr])
    case or([Expr])
    /// `lhs op rhs`, negated for `!has`, `!contains`...
    case text(TextOperator, Expr, Expr, negated: Bool)
    /// `value in (…)`; `negated` for `!in`. A null value is in nothing and not-in nothing.
    case inList(Expr, [Expr], negated: Bool)
    /// `value between (low .. high)`, both ends included.
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    case call(ScalarFunction, [Expr])

    public var description: String {
        switch self {
        case .column(let name): return name
        case .literal(let value):
            switch value {
            case .string(let s): return "\"\(s)\""
            case .null: return "null"
            case .bool(let b): return String(b)
            case .int64(let v): return String(v)
            case .float64(let v): return String(v)
            case .timestamp(let v): return "datetime(\(v)ns)"
            case .binary(let v): return "binary(\(v.count) bytes)"
            }
        case .timespan(let nanos): return "timespan(\(nanos)ns)"
        case .not(let e): return "not(\(e))"
        case .negate(let e): return "-(\(e))"
        case .arithmetic(let op, let a, let b): return "(\(a) \(op.rawValue) \(b))"
        case .compare(let op, let a, let b): return "(\(a) \(op.rawValue) \(b))"
        case .and(let parts): return "(" + parts.map(\.description).joined(separator: " and ") + ")"
        case .or(let parts): return "(" + parts.map(\.description).joined(separator: " or ") + ")"
        case .text(let op, let a, let b, let negated): return "(\(a) \(negated ? "!" : "")\(op.rawValue) \(b))"
        case .inList(let e, let items, let negated):
            return "(\(e) \(negated ? "!in" : "in") (\(items.map(\.description).joined(separator: ", "))))"
        case .between(let e, let low, let high, let negated):
            return "(\(e) \(negated ? "!between" : "between") (\(low) .. \(high)))"
        case .call(let function, let arguments):
            return "\(function.rawValue)(\(arguments.map(\.description).joined(separator: ", ")))"
        }
    }

    /// Column names the expression reads.
    public var columns: Set<String> {
        var found = Set<String>()
        visit { if case .column(let name) = $0 { found.insert(name) } }
        return found
    }

    /// Calls `body` on this expression and every sub-expression, parents first.
    public func visit(_ body: (Expr) -> Void) {
        body(self)
        for child in children { child.visit(body) }
    }

    public var children: [Expr] {
        switch self {
        case .column, .literal, .timespan: []
        case .not(let e), .negate(let e): [e]
        case .arithmetic(_, let a, let b), .compare(_, let a, let b), .text(_, let a, let b, _): [a, b]
        case .and(let parts), .or(let parts): parts
        case .inList(let e, let items, _): [e] + items
        case .between(let e, let low, let high, _): [e, low, high]
        case .call(_, let arguments): arguments
        }
    }

    /// The expression with `transform` applied bottom-up (children first).
    public func rewritten(_ transform: (Expr) -> Expr) -> Expr {
        let rebuilt: Expr
        switch self {
        case .column, .literal, .timespan: rebuilt = self
        case .not(let e): rebuilt = .not(e.rewritten(transform))
        case .negate(let e): rebuilt = .negate(e.rewritten(transform))
        case .arithmetic(let op, let a, let b): rebuilt = .arithmetic(op, a.rewritten(transform), b.rewritten(transform))
        case .compare(let op, let a, let b): rebuilt = .compare(op, a.rewritten(transform), b.rewritten(transform))
        case .and(let parts): rebuilt = .and(parts.map { $0.rewritten(transform) })
        case .or(let parts): rebuilt = .or(parts.map { $0.rewritten(transform) })
        case .text(let op, let a, let b, let negated): rebuilt = .text(op, a.rewritten(transform), b.rewritten(transform), negated: negated)
        case .inList(let e, let items, let negated):
            rebuilt = .inList(e.rewritten(transform), items.map { $0.rewritten(transform) }, negated: negated)
        case .between(let e, let low, let high, let negated):
            rebuilt = .between(e.rewritten(transform), low: low.rewritten(transform), high: high.rewritten(transform), negated: negated)
        case .call(let function, let arguments): rebuilt = .call(function, arguments.map { $0.rewritten(transform) })
        }
        return transform(rebuilt)
    }

    /// The conjuncts of an `and` (nested ones flattened); the expression itself otherwise.
    public var conjuncts: [Expr] {
        if case .and(let parts) = self { return parts.flatMap(\.conjuncts) }
        return [self]
    }
}
