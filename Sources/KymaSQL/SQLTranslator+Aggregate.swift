// Queries with GROUP BY or aggregates: the group keys and aggregate calls are gathered from the
// select list, HAVING and ORDER BY (each distinct call computed once), then every expression
// after the aggregation is rewritten over the key and aggregate columns.

import KymaCore
import KymaPlan

extension SQLTranslator {
    /// What an expression after the aggregation may use: the keys and the aggregates.
    struct Grouping {
        var keys: [(name: String, expr: Expr)]
        /// The aggregates the plan computes.
        var aggregates: [Aggregate]
        /// Each aggregate call of the query and the column holding its value.
        var calls: [(syntax: SQLCall, column: String)]
    }

    mutating func translateAggregate(_ query: SQLSelect, _ scope: Scope, _ plan: inout LogicalPlan) throws(QueryError) -> [String] {
        // The select list's expressions, with their names.
        var selected: [(name: String, syntax: SQLExpr)] = []
        for item in query.items {
            switch item {
            case .star: throw .semantic("* cannot be selected with GROUP BY or aggregates: name the columns", at: query.at)
            case .expr(let e, let alias): selected.append((alias ?? SQLNames.display(e), e))
            }
        }
        let unique = Self.uniqueNames(selected.map { Item(name: $0.name, expr: .literal(.null), syntax: $0.syntax) })
        for (index, item) in unique.enumerated() { selected[index].name = item.name }

        // Group keys: positions and aliases stand for select items; names the query uses as
        // columns are columns (DuckDB binds input columns before aliases in GROUP BY).
        var keySyntax: [SQLExpr] = []
        if query.groupByAll {
            keySyntax = selected.filter { !SQLFunctions.containsAggregate($0.syntax) }.map(\.syntax)
        }
        for g in query.groupBy {
            if case .literal(.int64(let k)) = g {
                guard k >= 1, k <= selected.count else { throw .semantic("GROUP BY position \(k) is not in the select list (1...\(selected.count))", at: query.at) }
                keySyntax.append(selected[Int(k) - 1].syntax)
            } else if case .column(nil, let name, _) = g, let item = selected.first(where: { $0.name == name }), !Self.namesColumn(name, query) {
                keySyntax.append(item.syntax)
            } else {
                keySyntax.append(g)
            }
        }
        var grouping = Grouping(keys: [], aggregates: [], calls: [])
        for syntax in keySyntax {
            if SQLFunctions.containsAggregate(syntax) { throw .semantic("aggregate functions are not allowed in GROUP BY", at: query.at) }
            let expr = try scalar(syntax, scope)
            guard !grouping.keys.contains(where: { $0.expr == expr }) else { continue }
            let name: String
            if let item = selected.first(where: { $0.syntax == syntax }) { name = item.name }
            else if case .column(let column) = expr { name = column }
            else { name = hiddenName("key") }
            grouping.keys.append((name, expr))
        }

        // Aggregate calls: select items first (so a call that is an item takes its name).
        for item in selected {
            if case .function(let call) = item.syntax, SQLFunctions.isAggregate(call.name) {
                try collect(call, scope, named: item.name, &grouping)
            }
        }
        var calls: [SQLCall] = []
        for item in selected { SQLFunctions.aggregateCalls(item.syntax, into: &calls) }
        if let having = query.having { SQLFunctions.aggregateCalls(having, into: &calls) }
        for order in query.orderBy { SQLFunctions.aggregateCalls(order.expr, into: &calls) }
        for call in calls { try collect(call, scope, named: nil, &grouping) }

        plan.operators.append(.aggregate(keys: grouping.keys.map { NamedExpr($0.name, $0.expr) }, aggregates: grouping.aggregates))
        if let having = query.having { plan.operators.append(.filter(try grouped(having, grouping, scope))) }

        var items: [Item] = []
        for item in selected { items.append(Item(name: item.name, expr: try grouped(item.syntax, grouping, scope), syntax: item.syntax)) }
        let projection = PlanOperator.project(items.map { NamedExpr($0.name, $0.expr) })

        if query.distinct {
            plan.operators.append(projection)
            plan.operators.append(.distinct(items.map { NamedExpr($0.name, .column($0.name)) }))
            let keys = try query.orderBy.map { order throws(QueryError) in
                SortKey(.column(try outputName(order.expr, items, query)), descending: order.descending, nullsFirst: order.nullsFirst ?? false)
            }
            appendOrderAndLimit(keys, query, &plan)
            return items.map(\.name)
        }
        let keys = try query.orderBy.map { order throws(QueryError) in
            SortKey(try groupedOrderExpr(order.expr, items, grouping, scope, query), descending: order.descending, nullsFirst: order.nullsFirst ?? false)
        }
        appendOrderAndLimit(keys, query, &plan, projection: projection)
        return items.map(\.name)
    }

    /// An ORDER BY key after aggregation: a position or alias stands for the select item.
    mutating func groupedOrderExpr(_ e: SQLExpr, _ items: [Item], _ grouping: Grouping, _ scope: Scope, _ query: SQLSelect) throws(QueryError) -> Expr {
        if case .literal(.int64(let k)) = e {
            guard k >= 1, k <= items.count else { throw .semantic("ORDER BY position \(k) is not in the select list (1...\(items.count))", at: query.at) }
            return items[Int(k) - 1].expr
        }
        if case .column(nil, let name, _) = e, let item = items.first(where: { $0.name == name }) { return item.expr }
        return try grouped(e, grouping, scope)
    }

    /// Adds `call` to the aggregates; a computation already there (`count(*)` written twice,
    /// or once as `COUNT(*)`) is computed once.
    mutating func collect(_ call: SQLCall, _ scope: Scope, named: String?, _ grouping: inout Grouping) throws(QueryError) {
        if grouping.calls.contains(where: { $0.syntax == call }) { return }
        for argument in call.arguments where SQLFunctions.containsAggregate(argument) {
            throw .semantic("aggregate functions cannot be nested", at: call.at)
        }
        let name = named ?? hiddenName("agg")
        let (aggregate, column) = try SQLFunctions.aggregate(call, translator: &self, scope: scope, outputName: name)
        if named == nil, let existing = grouping.aggregates.first(where: { $0.function == aggregate.function && $0.arguments == aggregate.arguments
            && $0.distinct == aggregate.distinct && $0.filter == aggregate.filter }) {
            grouping.calls.append((call, existing.outputNames.last ?? name))
            return
        }
        grouping.aggregates.append(aggregate)
        grouping.calls.append((call, column))
    }

    /// An expression after the aggregation: aggregate calls are their columns, sub-expressions
    /// equal to a group key are the key's column, and any other column reference is an error.
    func grouped(_ e: SQLExpr, _ grouping: Grouping, _ scope: Scope) throws(QueryError) -> Expr {
        try scalar(e, scope) { leaf throws(QueryError) -> Expr? in
            switch leaf {
            case .function(let call) where SQLFunctions.isAggregate(call.name):
                guard let found = grouping.calls.first(where: { $0.syntax == call }) else {
                    throw .internalError("aggregate \(call.name) was not collected")
                }
                return .column(found.column)
            case .column(_, let name, let at):
                if let key = grouping.keys.first(where: { $0.expr == .column(name) }) { return .column(key.name) }
                throw .semantic("column '\(name)' must appear in the GROUP BY clause or be used in an aggregate function", at: at)
            default:
                // A sub-expression that is a group key (`upper(level)` grouped by it).
                guard !SQLFunctions.containsAggregate(leaf), SQLNames.children(leaf).count > 0 || isCall(leaf),
                      let expr = try? scalar(leaf, scope), let key = grouping.keys.first(where: { $0.expr == expr }) else { return nil }
                return .column(key.name)
            }
        }
    }

    func isCall(_ e: SQLExpr) -> Bool {
        if case .function = e { return true }
        return false
    }
}
