// Which parts of a filter each pruning level can use: conjuncts become a `BlockPredicate` for
// footers and blocks and an `ExtentFilter` for the catalog. A conjunct that cannot be pushed is
// left out (pruning keeps more); the executor always re-evaluates the whole filter.

import KymaCatalog
import KymaCore
import KymaExec
import KymaFormat
import KymaKernels
import KymaPlan

enum Pushdown {
    static func blockPredicate(_ conjuncts: [Expr], timeColumn: String) -> BlockPredicate {
        let parts = conjuncts.compactMap { predicate($0, timeColumn: timeColumn) }
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
    static func predicate(_ expr: Expr, timeColumn: String) -> BlockPredicate? {
        switch expr {
        case .and(let parts):
            let pushed = parts.compactMap { predicate($0, timeColumn: timeColumn) }
            return pushed.isEmpty ? nil : .and(pushed)
        case .or(let parts):
            var pushed: [BlockPredicate] = []
            for part in parts {
                guard let p = predicate(part, timeColumn: timeColumn) else { return nil }  // one unknown branch may match anything
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
            var values: [ScalarValue] = []
            for item in items {
                guard case .literal(let value) = item, value != .null else { return nil }
                values.append(value)
            }
            return .inSet(column: name, values)
        case .text(.has, .column(let name), .literal(.string(let needle)), negated: false),
             .text(.hasCaseSensitive, .column(let name), .literal(.string(let needle)), negated: false):
            // Every term of the needle is a whole term of a matching row.
            var terms: [BlockPredicate] = []
            Tokenizer.forEachTerm(Array(needle.utf8)[...]) { terms.append(.hasTerm(column: name, String(decoding: $0, as: UTF8.self))) }
            if terms.isEmpty { return nil }
            return terms.count == 1 ? terms[0] : .and(terms)
        default:
            if let name = presenceColumn(expr) { return .pathExists(name) }
            return nil
        }
    }

    /// The column of `isnotnull(c)` / `isnotempty(c)`: true only where `c` has a value.
    static func presenceColumn(_ expr: Expr) -> String? {
        guard case .call(let function, let arguments) = expr, function == .isNotNull || function == .isNotEmpty,
              arguments.count == 1, case .column(let name) = arguments[0] else { return nil }
        return name
    }

    /// Conjuncts the catalog can use: the time range of the time column, ranges of other
    /// columns, and paths that must be present.
    static func extentFilter(_ conjuncts: [Expr], timeColumn: String) -> ExtentFilter {
        var filter = ExtentFilter()
        var lower = Int64.min, upper = Int64.max
        func bound(_ name: String, _ op: CompareOperator, _ value: ScalarValue) {
            if name == timeColumn, case .timestamp(let t) = value {
                switch op {
                case .equal: lower = max(lower, t); upper = min(upper, t)
                case .greater, .greaterOrEqual: lower = max(lower, t)
                case .less, .lessOrEqual: upper = min(upper, t)
                case .notEqual: break
                }
                return
            }
            guard value.dataType != .bool, value.dataType != .binary else { return }
            switch op {
            case .equal: filter.columnConditions.append(ColumnRangeCondition(column: name, lower: value, upper: value))
            case .greater, .greaterOrEqual: filter.columnConditions.append(ColumnRangeCondition(column: name, lower: value, upper: nil))
            case .less, .lessOrEqual: filter.columnConditions.append(ColumnRangeCondition(column: name, lower: nil, upper: value))
            case .notEqual: break
            }
        }
        for conjunct in conjuncts {
            switch conjunct {
            case .compare(let op, .column(let name), .literal(let value)) where value != .null: bound(name, op, value)
            case .compare(let op, .literal(let value), .column(let name)) where value != .null: bound(name, op.swapped, value)
            case .between(.column(let name), .literal(let low), .literal(let high), negated: false) where low != .null && high != .null:
                bound(name, .greaterOrEqual, low)
                bound(name, .lessOrEqual, high)
            default:
                if let name = presenceColumn(conjunct) { filter.requiredPaths.append(name) }
            }
        }
        if lower != .min || upper != .max { filter.timeRange = TimeRange(lowerNanos: lower, upperNanos: upper) }
        return filter
    }

    /// The predicate for one extent's schema: constants converted to the column's type where
    /// the conversion is exact, and leaves whose types do not meet (a column typed string in this
    /// extent, a number in the query) dropped, since the executor coerces them at run time.
    static func adapt(_ predicate: BlockPredicate, to schema: Schema) -> BlockPredicate {
        func convert(_ column: String, _ value: ScalarValue) -> ScalarValue? {
            guard let type = schema.field(named: column)?.type else { return value }  // absent column: nothing matches; keep
            switch (type, value) {
            case (.int64, .int64), (.float64, .float64), (.string, .string), (.bool, .bool), (.timestamp, .timestamp): return value
            case (.float64, .int64(let v)): return .float64(Double(v))
            case (.int64, .float64(let v)): return v == v.rounded() && abs(v) < 9e18 ? .int64(Int64(v)) : nil
            case (.timestamp, .int64(let v)): return .timestamp(v)
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

enum Rewrites {
    /// `_time` names the table's time column; constants are folded with the query's time.
    static func normalise(_ plan: LogicalPlan, timeColumn: String, now: Int64) -> LogicalPlan {
        func fix(_ expr: Expr) -> Expr {
            ConstantFolding.fold(expr.rewritten { node in
                if case .column("_time") = node, timeColumn != "_time" { return .column(timeColumn) }
                return node
            }, now: now)
        }
        func fixNamed(_ items: [NamedExpr]) -> [NamedExpr] { items.map { NamedExpr($0.name, fix($0.expr)) } }
        func fixKeys(_ keys: [SortKey]) -> [SortKey] { keys.map { SortKey(fix($0.expr), descending: $0.descending, nullsFirst: $0.nullsFirst) } }
        var out = plan
        out.operators = plan.operators.map { op in
            switch op {
            case .filter(let e): .filter(fix(e))
            case .project(let items): .project(fixNamed(items))
            case .extend(let items): .extend(fixNamed(items))
            case .aggregate(let keys, let aggregates):
                .aggregate(keys: fixNamed(keys), aggregates: aggregates.map { Aggregate($0.function, $0.arguments.map(fix), outputNames: $0.outputNames) })
            case .sort(let keys): .sort(fixKeys(keys))
            case .top(let n, let keys): .top(count: n, by: fixKeys(keys))
            case .distinct(let items): .distinct(fixNamed(items))
            case .projectAway(let names): .projectAway(names.map { $0 == "_time" && timeColumn != "_time" ? timeColumn : $0 })
            case .limit, .count: op
            }
        }
        return out
    }

    /// `sort by k | take n` is `top n by k` (a bounded heap instead of a full sort).
    static func topFromSortAndLimit(_ operators: [PlanOperator]) -> [PlanOperator] {
        var out: [PlanOperator] = []
        for op in operators {
            if case .limit(let n) = op, case .sort(let keys)? = out.last {
                out[out.count - 1] = .top(count: n, by: keys)
            } else {
                out.append(op)
            }
        }
        return out
    }

    /// Columns the scan must decode, or nil for all: everything the pipeline reads before its
    /// first operator that replaces the row's columns.
    static func requiredColumns(_ conjuncts: [Expr], _ pipeline: [PlanOperator]) -> [String]? {
        var needed = Set<String>()
        for c in conjuncts { needed.formUnion(c.columns) }
        var defined = Set<String>()
        func use(_ expr: Expr) { needed.formUnion(expr.columns.subtracting(defined)) }
        for op in pipeline {
            switch op {
            case .filter(let e): use(e)
            case .extend(let items):
                for item in items { use(item.expr); defined.insert(item.name) }
            case .projectAway: continue
            case .project(let items), .distinct(let items):
                items.forEach { use($0.expr) }
                return needed.sorted()
            case .aggregate(let keys, let aggregates):
                keys.forEach { use($0.expr) }
                aggregates.forEach { $0.arguments.forEach(use) }
                return needed.sorted()
            case .count:
                return needed.sorted()
            case .sort(let keys), .top(_, let keys):
                keys.forEach { use($0.expr) }
            case .limit: continue
            }
        }
        return nil  // the output keeps every column of the table
    }
}
