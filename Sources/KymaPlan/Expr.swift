// Scalar expressions of a logical plan: column references, literals, operators and functions.
// Each node has one meaning whatever language produced it; where KQL and SQL (DuckDB) differ,
// the plan has one node per meaning and each frontend picks its own (Kusto's `contains` reads a
// null as "", SQL's `contains` is null on null; Kusto's `/` on integers truncates, SQL's divides
// as reals). The row-at-a-time meaning of every node is `ScalarSemantics` (Semantics/).

import KymaCore

public enum CompareOperator: String, Sendable, Hashable, Codable {
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

    /// The operator that holds exactly when this one does not (for non-null operands).
    public var negated: CompareOperator {
        switch self {
        case .equal: .notEqual
        case .notEqual: .equal
        case .less: .greaterOrEqual
        case .lessOrEqual: .greater
        case .greater: .lessOrEqual
        case .greaterOrEqual: .less
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

/// Arithmetic with two meanings: Kusto's (`add`...`modulo`) and SQL's as DuckDB defines it
/// (`sql*`). Null in, null out for every operator.
public enum ArithmeticOperator: String, Sendable, Hashable, Codable {
    /// Kusto: integers wrap on overflow; `/` on two integers truncates; division or modulo by
    /// zero is null; datetime ± timespan is a datetime, datetime − datetime a timespan.
    case add, subtract, multiply, divide, modulo
    /// SQL `+ - *`: as Kusto's, but integer overflow is an error (`QueryError.type`).
    case sqlAdd = "sql_add", sqlSubtract = "sql_subtract", sqlMultiply = "sql_multiply"
    /// SQL `/`: always real division (DuckDB: `7 / 2` is 3.5); x / 0 is ±infinity or NaN.
    case sqlDivide = "sql_divide"
    /// SQL `//`: integer division truncating toward zero (reals: floor of the quotient); by zero null.
    case sqlIntegerDivide = "sql_integer_divide"
    /// SQL `%`: truncated remainder (sign of the dividend); by zero null.
    case sqlModulo = "sql_modulo"

    public var symbol: String {
        switch self {
        case .add, .sqlAdd: "+"
        case .subtract, .sqlSubtract: "-"
        case .multiply, .sqlMultiply: "*"
        case .divide, .sqlDivide: "/"
        case .sqlIntegerDivide: "//"
        case .modulo, .sqlModulo: "%"
        }
    }

    /// The operator's kind without its dialect (for rules that hold in both).
    public var isAddition: Bool { self == .add || self == .sqlAdd }
    public var isSubtraction: Bool { self == .subtract || self == .sqlSubtract }
}

/// Kusto's string predicates. A null string reads as empty (Kusto has no null strings).
public enum TextOperator: String, Sendable, Hashable, Codable {
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

/// The type a `cast` converts to.
public enum CastTarget: String, Sendable, Hashable, Codable, CaseIterable {
    case bool
    /// SQL INTEGER: an int64 value in the 32-bit range (outside it the cast fails).
    case int32
    case int64
    case float64
    case string
    case timestamp
}

/// Whose conversion rules a `cast` follows.
public enum CastMode: String, Sendable, Hashable, Codable {
    /// Kusto's `toint`/`tolong`/`todouble`/`tostring`: a value that does not convert is null,
    /// reals truncate toward zero, null becomes "" as a string, datetimes print as RFC 3339.
    case kusto
    /// SQL `CAST` (DuckDB's rules for DOUBLE): a value that does not convert is an error, reals
    /// round half to even (text half away from zero), datetimes print as `2024-01-02 03:04:05.5`,
    /// reals as DuckDB prints doubles.
    case sql
    /// SQL `TRY_CAST`: as `sql`, but a value that does not convert is null.
    case sqlTry = "sql_try"
}

public enum ScalarFunction: String, Sendable, Hashable, Codable, CaseIterable {
    // MARK: Kusto
    case isNull = "isnull", isNotNull = "isnotnull", isEmpty = "isempty", isNotEmpty = "isnotempty"
    /// `bin(value, size)`: rounds down to a multiple of size (numbers, or datetimes by a timespan).
    case bin
    /// Characters (grapheme clusters) of a string (Kusto `strlen`); non-strings by their text.
    case strlen
    /// Lowercase / uppercase of a string; null stays null, other values pass unchanged.
    case toLower = "tolower", toUpper = "toupper"
    /// `iff(condition, then, else)`: `then` where the condition is true, else `else` (null
    /// conditions take `else`); SQL's CASE is built from it.
    case iff
    /// The query's start time (one value for the whole query).
    case now

    // MARK: SQL (DuckDB's meaning; any null argument gives null unless said otherwise)
    /// The first non-null argument.
    case coalesce
    /// `nullif(a, b)`: null where a = b, else a.
    case nullIf = "nullif"
    /// The largest / smallest non-null argument (null only when all are null).
    case greatest, least
    /// Unicode code points of a string (DuckDB `length`).
    case length
    /// `substring(s, start [, count])`: 1-based code-point positions; a start below 1 counts
    /// from position 1 as DuckDB does (the count shrinks), a negative start counts from the end.
    case substring
    /// Concatenation skipping nulls (DuckDB `concat`).
    case concat
    /// `a || b`: concatenation, null when either is null.
    case concatStrict = "concat_strict"
    /// `trim(s [, characters])` both ends; `ltrim`, `rtrim` one end; default characters: space.
    case trim, ltrim, rtrim
    /// Case-sensitive prefix, suffix and substring tests.
    case startsWith = "starts_with", endsWith = "ends_with", strContains = "contains"
    /// `replace(s, from, to)`: every occurrence.
    case replace
    /// `left(s, n)`, `right(s, n)` in code points.
    case left, right
    /// `strpos(s, needle)`: 1-based code-point position of the first occurrence, 0 when absent.
    case strpos
    /// `like(s, pattern, escape)` / `ilike`: SQL LIKE with `%` and `_`; escape is a one-character
    /// string or null.
    case like, ilike
    /// `regexp_matches(s, pattern [, options])`: the pattern (RE2 syntax) matches somewhere in s.
    case regexpMatches = "regexp_matches"
    /// `regexp_full_match(s, pattern)`: the pattern matches the whole of s.
    case regexpFullMatch = "regexp_full_match"
    /// `in_set(x, a, b, ...)`: SQL `x IN (a, b, ...)` with three-valued logic: null when x is null,
    /// or when no item equals x and some item is null.
    case inSet = "in_set"
    /// `floor(x)`, `ceil(x)`, `abs(x)`; `round(x [, digits])` half away from zero.
    case floor, ceil, abs, round
    /// `date_trunc(part, t)`: t truncated to the start of its year, quarter, month, week
    /// (Monday), day, hour, minute, second, millisecond or microsecond.
    case dateTrunc = "date_trunc"
    /// `date_part(part, t)` (SQL `extract`): year, quarter, month, week (ISO), day, dow (Sunday
    /// 0), isodow, doy, hour, minute, second, millisecond, microsecond (as DuckDB counts them
    /// within the minute), epoch (seconds, a real).
    case datePart = "date_part"
    /// `time_bucket(width, t [, origin])`: the start of t's bucket of `width` (a timespan) counted
    /// from origin (default 2000-01-03, a Monday, as DuckDB).
    case timeBucket = "time_bucket"
    /// `time_bucket_months(months, t [, origin])`: buckets of whole months (origin 2000-01-01).
    case timeBucketMonths = "time_bucket_months"
    /// `list_sort(list)`: a list (JSON array text) sorted ascending, nulls last.
    case listSort = "list_sort"
    /// `list_element(list, i)`: the i-th element (1-based; negative counts from the end), or null.
    case listElement = "list_element"
}

/// A scalar expression.
public indirect enum Expr: Sendable, Hashable, Codable, CustomStringConvertible {
    case column(String)
    case literal(ScalarValue)
    /// A duration in nanoseconds (`5m`, `1h`, `timespan(…)`, SQL day-time intervals).
    case timespan(Int64)
    case not(Expr)
    case negate(Expr)
    case arithmetic(ArithmeticOperator, Expr, Expr)
    case compare(CompareOperator, Expr, Expr)
    case and([Expr])
    case or([Expr])
    /// `lhs op rhs`, negated for `!has`, `!contains`...
    case text(TextOperator, Expr, Expr, negated: Bool)
    /// Kusto `value in (…)`; `negated` for `!in`. A null value is in nothing and not-in nothing.
    case inList(Expr, [Expr], negated: Bool)
    /// `value between (low .. high)`, both ends included; null when any operand is null.
    case between(Expr, low: Expr, high: Expr, negated: Bool)
    case call(ScalarFunction, [Expr])
    case cast(Expr, CastTarget, CastMode)

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
            case .timestamp(let v): return "datetime(\(TimeText.rfc3339(v)))"
            case .binary(let v): return "binary(\(v.count) bytes)"
            }
        case .timespan(let nanos): return "timespan(\(nanos)ns)"
        case .not(let e): return "not(\(e))"
        case .negate(let e): return "-(\(e))"
        case .arithmetic(let op, let a, let b): return "(\(a) \(op.symbol) \(b))"
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
        case .cast(let e, let target, let mode):
            return "\(mode == .kusto ? "to" : mode == .sql ? "cast:" : "try_cast:")\(target.rawValue)(\(e))"
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

    /// Whether `predicate` holds for this expression or any sub-expression.
    public func contains(where predicate: (Expr) -> Bool) -> Bool {
        if predicate(self) { return true }
        return children.contains { $0.contains(where: predicate) }
    }

    public var children: [Expr] {
        switch self {
        case .column, .literal, .timespan: []
        case .not(let e), .negate(let e), .cast(let e, _, _): [e]
        case .arithmetic(_, let a, let b), .compare(_, let a, let b), .text(_, let a, let b, _): [a, b]
        case .and(let parts), .or(let parts): parts
        case .inList(let e, let items, _): [e] + items
        case .between(let e, let low, let high, _): [e, low, high]
        case .call(_, let arguments): arguments
        }
    }

    /// The expression with `transform` applied bottom-up (children first).
    public func rewritten(_ transform: (Expr) throws(QueryError) -> Expr) throws(QueryError) -> Expr {
        let rebuilt: Expr
        switch self {
        case .column, .literal, .timespan: rebuilt = self
        case .not(let e): rebuilt = .not(try e.rewritten(transform))
        case .negate(let e): rebuilt = .negate(try e.rewritten(transform))
        case .cast(let e, let target, let mode): rebuilt = .cast(try e.rewritten(transform), target, mode)
        case .arithmetic(let op, let a, let b): rebuilt = .arithmetic(op, try a.rewritten(transform), try b.rewritten(transform))
        case .compare(let op, let a, let b): rebuilt = .compare(op, try a.rewritten(transform), try b.rewritten(transform))
        case .and(let parts): rebuilt = .and(try parts.map { e throws(QueryError) in try e.rewritten(transform) })
        case .or(let parts): rebuilt = .or(try parts.map { e throws(QueryError) in try e.rewritten(transform) })
        case .text(let op, let a, let b, let negated):
            rebuilt = .text(op, try a.rewritten(transform), try b.rewritten(transform), negated: negated)
        case .inList(let e, let items, let negated):
            rebuilt = .inList(try e.rewritten(transform), try items.map { i throws(QueryError) in try i.rewritten(transform) }, negated: negated)
        case .between(let e, let low, let high, let negated):
            rebuilt = .between(try e.rewritten(transform), low: try low.rewritten(transform), high: try high.rewritten(transform), negated: negated)
        case .call(let function, let arguments):
            rebuilt = .call(function, try arguments.map { a throws(QueryError) in try a.rewritten(transform) })
        }
        return try transform(rebuilt)
    }

    /// `rewritten` for transforms that cannot fail.
    public func mapped(_ transform: (Expr) -> Expr) -> Expr {
        // The closure never throws, so neither does the rewrite.
        (try? rewritten { e throws(QueryError) in transform(e) }) ?? self
    }

    /// The conjuncts of an `and` (nested ones flattened); the expression itself otherwise.
    public var conjuncts: [Expr] {
        if case .and(let parts) = self { return parts.flatMap(\.conjuncts) }
        return [self]
    }

    /// The depth of the expression tree (a leaf is 1), computed without recursion so that any
    /// tree can be measured.
    public var depth: Int {
        var deepest = 0
        var stack: [(Expr, Int)] = [(self, 1)]
        while let (node, level) = stack.popLast() {
            deepest = max(deepest, level)
            for child in node.children { stack.append((child, level + 1)) }
        }
        return deepest
    }

    /// The conjunction of `parts`: true for none, the part itself for one.
    public static func conjunction(_ parts: [Expr]) -> Expr {
        switch parts.count {
        case 0: .literal(.bool(true))
        case 1: parts[0]
        default: .and(parts)
        }
    }
}
