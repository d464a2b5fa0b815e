// KymaOptimizer: the one `prepare()` between a frontend's plan and a table source. It names the
// time column, folds constants, merges and pushes filters toward the scan, turns sort + take
// into top-N, drops projections that change nothing, proves some filters empty, and splits the
// plan into what the table source scans (filter conjuncts, columns, order) and the pipeline the
// executor runs after. Depends on the plan alone: no storage, no executor.

import KymaCore
import KymaPlan

public enum QueryOptimizer {
    /// Prepares `plan` for a table whose time column is `timeColumn` (the column `_time` names;
    /// nil when the table has none), with `now()` fixed at `nowNanos`.
    public static func prepare(_ plan: LogicalPlan, timeColumn: String?, nowNanos: Int64) throws(QueryError) -> PreparedQuery {
        try checkDepth(plan)
        var operators = try plan.operators.map { op throws(QueryError) in try normalise(op, timeColumn: timeColumn, now: nowNanos) }
        operators = FilterPushdown.apply(operators)
        operators = topFromSortAndLimit(operators)
        operators = removeIdentityProjections(operators)
        let logical = LogicalPlan(table: plan.table, operators: operators)

        let leading = operators.prefix { if case .filter = $0 { true } else { false } }
        let conjuncts = leading.flatMap { op -> [Expr] in if case .filter(let e) = op { e.conjuncts } else { [] } }
        let pipeline = Array(operators.dropFirst(leading.count))
        let time = timeColumn ?? "_time"
        var scan = ScanSpec(filter: conjuncts.filter { $0 != .literal(.bool(true)) },
                            columns: RequiredColumns.of(conjuncts, pipeline), order: .any)
        scan.provablyEmpty = RangeAnalysis.isEmpty(scan.filter)
        if case .top(_, let keys)? = pipeline.first, let first = keys.first, first.expr == .column(time) {
            scan.order = first.descending ? .timeDescending : .timeAscending
        }
        if case .limit(let n)? = pipeline.first { scan.limit = n }
        return PreparedQuery(logical: logical, scan: scan, pipeline: pipeline, nowNanos: nowNanos)
    }

    /// A predicate on its own (vector payload filters): names, constants and regular
    /// expressions checked as in a query's `where`.
    public static func prepareExpression(_ expr: Expr, timeColumn: String?, nowNanos: Int64) throws(QueryError) -> Expr {
        guard expr.depth <= QueryLimits.maxExpressionDepth else { throw depthError }
        return try normaliseExpr(expr, timeColumn: timeColumn, now: nowNanos)
    }

    static var depthError: QueryError {
        .semantic("expression nested deeper than \(QueryLimits.maxExpressionDepth) levels", at: nil)
    }

    /// Plans can arrive from other processes: no expression may be deeper than a frontend allows.
    static func checkDepth(_ plan: LogicalPlan) throws(QueryError) {
        for op in plan.operators {
            for expr in expressions(of: op) where expr.depth > QueryLimits.maxExpressionDepth { throw depthError }
        }
    }

    static func expressions(of op: PlanOperator) -> [Expr] {
        switch op {
        case .filter(let e): [e]
        case .project(let items), .extend(let items), .distinct(let items): items.map(\.expr)
        case .aggregate(let keys, let aggregates): keys.map(\.expr) + aggregates.flatMap { $0.arguments + ($0.filter.map { [$0] } ?? []) }
        case .sort(let keys), .top(_, let keys): keys.map(\.expr)
        case .projectAway, .limit, .offset, .count: []
        }
    }

    // MARK: - Names and constants

    static func normaliseExpr(_ expr: Expr, timeColumn: String?, now: Int64) throws(QueryError) -> Expr {
        let named = expr.mapped { node in
            if case .column("_time") = node, let timeColumn, timeColumn != "_time" { return .column(timeColumn) }
            return node
        }
        let folded = ConstantFolding.fold(named, now: now)
        try validatePatterns(folded)
        return folded
    }

    /// Regular expressions and LIKE patterns given as literals are compiled now, so a bad one is
    /// an error of the query even when no row reaches it.
    static func validatePatterns(_ expr: Expr) throws(QueryError) {
        var failure: QueryError?
        expr.visit { node in
            guard failure == nil, case .call(let function, let arguments) = node else { return }
            do throws(QueryError) {
                switch function {
                case .regexpMatches, .regexpFullMatch:
                    if case .literal(.string(let pattern)) = arguments[1] {
                        var options = ""
                        if arguments.count > 2, case .literal(.string(let o)) = arguments[2] { options = o }
                        _ = try RegularExpression.cached(pattern, options: options)
                    }
                case .like, .ilike:
                    if case .literal(.string(let pattern)) = arguments[1] {
                        var escape: String? = nil
                        if case .literal(.string(let e)) = arguments[2] { escape = e }
                        _ = try LikePattern(pattern, escape: escape, ignoreCase: function == .ilike)
                    }
                default: break
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    static func normalise(_ op: PlanOperator, timeColumn: String?, now: Int64) throws(QueryError) -> PlanOperator {
        func fix(_ e: Expr) throws(QueryError) -> Expr { try normaliseExpr(e, timeColumn: timeColumn, now: now) }
        func fixNamed(_ items: [NamedExpr]) throws(QueryError) -> [NamedExpr] {
            try items.map { item throws(QueryError) in NamedExpr(item.name, try fix(item.expr)) }
        }
        func fixKeys(_ keys: [SortKey]) throws(QueryError) -> [SortKey] {
            try keys.map { key throws(QueryError) in SortKey(try fix(key.expr), descending: key.descending, nullsFirst: key.nullsFirst) }
        }
        switch op {
        case .filter(let e): return .filter(try fix(e))
        case .project(let items): return .project(try fixNamed(items))
        case .extend(let items): return .extend(try fixNamed(items))
        case .aggregate(let keys, let aggregates):
            var fixed: [Aggregate] = []
            for aggregate in aggregates {
                var copy = aggregate
                copy.arguments = try aggregate.arguments.map { a throws(QueryError) in try fix(a) }
                copy.filter = try aggregate.filter.map { f throws(QueryError) in try fix(f) }
                fixed.append(copy)
            }
            return .aggregate(keys: try fixNamed(keys), aggregates: fixed)
        case .sort(let keys): return .sort(try fixKeys(keys))
        case .top(let n, let keys): return .top(count: n, by: try fixKeys(keys))
        case .distinct(let items): return .distinct(try fixNamed(items))
        case .projectAway(let names):
            return .projectAway(names.map { $0 == "_time" ? (timeColumn ?? "_time") : $0 })
        case .limit, .offset, .count: return op
        }
    }

    // MARK: - Rewrites

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

    /// A `project` that lists exactly the columns it receives, in order and unchanged, is dropped
    /// (SQL writes one after every aggregate; KQL does not).
    static func removeIdentityProjections(_ operators: [PlanOperator]) -> [PlanOperator] {
        var out: [PlanOperator] = []
        var known: [String]? = nil  // the columns flowing at this point, when known
        for op in operators {
            if case .project(let items) = op, let known, items.map(\.name) == known, items.allSatisfy({ $0.expr == .column($0.name) }) {
                continue
            }
            out.append(op)
            known = outputColumns(op, input: known)
        }
        return out
    }

    /// The columns after `op` given those before it (nil: unknown, as a table's columns are).
    static func outputColumns(_ op: PlanOperator, input: [String]?) -> [String]? {
        switch op {
        case .project(let items), .distinct(let items): return items.map(\.name)
        case .aggregate(let keys, let aggregates): return keys.map(\.name) + aggregates.flatMap(\.outputNames)
        case .count: return ["Count"]
        case .extend(let items):
            guard var names = input else { return nil }
            for item in items where !names.contains(item.name) { names.append(item.name) }
            return names
        case .projectAway(let away): return input.map { $0.filter { !away.contains($0) } }
        case .filter, .sort, .top, .limit, .offset: return input
        }
    }
}

/// The columns the scan must decode for a plan, or nil for all.
public enum RequiredColumns {
    /// Everything the pipeline reads before its first operator that replaces the row's columns.
    public static func of(_ conjuncts: [Expr], _ pipeline: [PlanOperator]) -> [String]? {
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
                for aggregate in aggregates {
                    aggregate.arguments.forEach(use)
                    if let filter = aggregate.filter { use(filter) }
                }
                return needed.sorted()
            case .count:
                return needed.sorted()
            case .sort(let keys), .top(_, let keys):
                keys.forEach { use($0.expr) }
            case .limit, .offset: continue
            }
        }
        return nil  // the output keeps every column of the table
    }
}
