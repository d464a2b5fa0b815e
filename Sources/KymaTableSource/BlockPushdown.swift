// Which parts of a filter block-level pruning can use: conjuncts become a `BlockPredicate` for
// footers, blocks and posting lists (and for `RangePruner`'s per-unit bounds). A conjunct that
// cannot be pushed is left out, so pruning keeps more; the executor re-evaluates the whole
// filter on what it reads.

import KymaCore
import KymaFormat
import KymaKernels
import KymaPlan

public enum BlockPushdown {
    public static func predicate(_ conjuncts: [Expr]) -> BlockPredicate {
        let parts = conjuncts.compactMap(predicate)
        if parts.isEmpty { return .alwaysTrue }
        return parts.count == 1 ? parts[0] : .and(parts)
    }

    static func comparison(_ op: CompareOperator) -> ComparisonOperator {
        switch op {
        case .equal: .equal
        case .notEqual: .notEqual
        case .less: .less
        case .lessOrEqual: .lessOrEqual
        case .greater: .greater
        case .greaterOrEqual: .greaterOrEqual
        }
    }

    /// A necessary condition for `expr` that formats can test, or nil.
    public static func predicate(_ expr: Expr) -> BlockPredicate? {
        switch expr {
        case .and(let parts):
            let pushed = parts.compactMap(predicate)
            return pushed.isEmpty ? nil : .and(pushed)
        case .or(let parts):
            var pushed: [BlockPredicate] = []
            for part in parts {
                guard let p = predicate(part) else { return nil }  // one unknown branch may match anything
                pushed.append(p)
            }
            return .or(pushed)
        case .compare(let op, .column(let name), .literal(let value)) where value != .null:
            return .compare(column: name, comparison(op), value)
        case .compare(let op, .literal(let value), .column(let name)) where value != .null:
            return .compare(column: name, comparison(op.swapped), value)
        case .between(.column(let name), .literal(let low), .literal(let high), negated: false) where low != .null && high != .null:
            return .and([.compare(column: name, .greaterOrEqual, low), .compare(column: name, .lessOrEqual, high)])
        case .inList(.column(let name), let items, negated: false):
            return inSet(name, items)
        case .call(.inSet, let arguments) where arguments.count > 1:
            guard case .column(let name) = arguments[0] else { return nil }
            return inSet(name, Array(arguments.dropFirst()))
        case .text(.has, .column(let name), .literal(.string(let needle)), negated: false),
             .text(.hasCaseSensitive, .column(let name), .literal(.string(let needle)), negated: false):
            // Every term of the needle is a whole term of a matching row.
            var terms: [BlockPredicate] = []
            Tokenizer.forEachTerm(Array(needle.utf8)[...]) { terms.append(.hasTerm(column: name, String(decoding: $0, as: UTF8.self))) }
            if terms.isEmpty { return nil }
            return terms.count == 1 ? terms[0] : .and(terms)
        case .call(.startsWith, let arguments) where arguments.count == 2:
            guard case .column(let name) = arguments[0], case .literal(.string(let prefix)) = arguments[1], !prefix.isEmpty else { return nil }
            return .prefix(column: name, prefix)
        case .call(.like, let arguments) where arguments.count == 3:
            guard case .column(let name) = arguments[0], case .literal(.string(let pattern)) = arguments[1] else { return nil }
            var escape: String? = nil
            if case .literal(.string(let e)) = arguments[2] { escape = e }
            guard let like = try? LikePattern(pattern, escape: escape, ignoreCase: false) else { return nil }
            let (prefix, _) = like.prefix
            return prefix.isEmpty ? nil : .prefix(column: name, prefix)
        default:
            if let name = presenceColumn(expr) { return .pathExists(name) }
            return nil
        }
    }

    static func inSet(_ name: String, _ items: [Expr]) -> BlockPredicate? {
        var values: [ScalarValue] = []
        for item in items {
            guard case .literal(let value) = item, value != .null else { return nil }
            values.append(value)
        }
        return .inSet(column: name, values)
    }

    /// The column of `isnotnull(c)` / `isnotempty(c)`: true only where `c` has a value.
    public static func presenceColumn(_ expr: Expr) -> String? {
        guard case .call(let function, let arguments) = expr, function == .isNotNull || function == .isNotEmpty,
              arguments.count == 1, case .column(let name) = arguments[0] else { return nil }
        return name
    }

    /// The predicate for one unit's schema: constants converted to the column's type where the
    /// conversion is exact, and leaves whose types do not meet (a column typed string in this
    /// extent, a number in the query) dropped, since the executor coerces them at run time.
    public static func adapt(_ predicate: BlockPredicate, to schema: Schema) -> BlockPredicate {
        func convert(_ column: String, _ value: ScalarValue) -> ScalarValue? {
            guard let type = schema.field(named: column)?.type else { return value }  // absent column: nothing matches; keep
            switch (type, value) {
            case (.int64, .int64), (.float64, .float64), (.string, .string), (.bool, .bool), (.timestamp, .timestamp): return value
            case (.float64, .int64(let v)): return .float64(Double(v))
            case (.int64, .float64(let v)): return v == v.rounded() && abs(v) < 9e18 ? .int64(Int64(v)) : nil
            case (.timestamp, .int64(let v)): return .timestamp(v)
            case (.timestamp, .string(let s)): return TimestampText.parse(s).map { .timestamp($0) }
            default: return nil
            }
        }
        switch predicate {
        case .and(let parts): return .and(parts.map { adapt($0, to: schema) })
        case .or(let parts): return .or(parts.map { adapt($0, to: schema) })
        case .not(let inner): return .not(adapt(inner, to: schema))
        case .compare(let column, let op, let value):
            guard let converted = convert(column, value) else { return .alwaysTrue }
            return .compare(column: column, op, converted)
        case .inSet(let column, let values):
            var converted: [ScalarValue] = []
            for value in values {
                guard let c = convert(column, value) else { return .alwaysTrue }
                converted.append(c)
            }
            return .inSet(column: column, converted)
        case .hasTerm(let column, _), .prefix(let column, _):
            if let type = schema.field(named: column)?.type, type != .string { return .alwaysTrue }
            return predicate
        default:
            return predicate
        }
    }
}
