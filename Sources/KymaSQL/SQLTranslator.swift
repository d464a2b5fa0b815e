// SQL syntax trees into the one `LogicalPlan` (the same plan KQL produces). A SELECT over one
// table is a pipeline:
//
//   FROM t | WHERE | GROUP BY + aggregates | HAVING | ORDER BY (top-N with LIMIT) | select list | OFFSET/LIMIT
//
// A subquery in FROM (or a WITH query) is the inner pipeline followed by the outer one.
// Semantics are DuckDB's: NULLS LAST in both orders, `/` divides as reals, three-valued IN.

import KymaCore
import KymaPlan

struct SQLTranslator {
    /// WITH queries in scope, by name.
    var ctes: [String: SQLSelect] = [:]
    /// WITH queries being translated (a query naming itself is refused).
    var resolving: Set<String> = []
    var hidden = 0

    /// What names a query's expressions may use.
    struct Scope {
        /// The table's name and alias (qualifiers a column may carry).
        var qualifiers: Set<String>
        /// The input's columns when known (a subquery's), nil for a table's (schema on read).
        var columns: [String]?
    }

    /// A translated select item.
    struct Item {
        var name: String
        var expr: Expr
        var syntax: SQLExpr
    }

    mutating func translate(_ query: SQLSelect) throws(QueryError) -> (plan: LogicalPlan, columns: [String]?) {
        let saved = ctes
        defer { ctes = saved }
        for (name, cte) in query.with { ctes[name] = cte }

        // FROM
        var plan: LogicalPlan
        var scope: Scope
        switch query.from {
        case nil:
            // `SELECT 1 + 1`: one row with no columns.
            plan = LogicalPlan(table: LogicalPlan.noTable)
            scope = Scope(qualifiers: [], columns: [])
        case .table(let name, let alias, let at)?:
            if let cte = ctes[name] {
                guard !resolving.contains(name) else { throw .semantic("WITH query '\(name)' refers to itself (recursive queries are not supported)", at: at) }
                resolving.insert(name)
                defer { resolving.remove(name) }
                let inner = try translate(cte)
                plan = inner.plan
                scope = Scope(qualifiers: [alias ?? name], columns: inner.columns)
            } else {
                plan = LogicalPlan(table: name)
                scope = Scope(qualifiers: alias.map { [$0] } ?? [name], columns: nil)
            }
        case .subquery(let inner, let alias)?:
            let translated = try translate(inner)
            plan = translated.plan
            scope = Scope(qualifiers: alias.map { [$0] } ?? [], columns: translated.columns)
        }

        // WHERE
        if let condition = query.whereClause {
            if SQLFunctions.containsAggregate(condition) { throw .semantic("aggregate functions are not allowed in WHERE (use HAVING)", at: query.at) }
            plan.operators.append(.filter(try scalar(condition, scope)))
        }

        let aggregated = !query.groupBy.isEmpty || query.groupByAll || query.having != nil
            || query.items.contains { if case .expr(let e, _) = $0 { SQLFunctions.containsAggregate(e) } else { false } }
            || query.orderBy.contains { SQLFunctions.containsAggregate($0.expr) }
        let output: [String]?
        if aggregated {
            output = try translateAggregate(query, scope, &plan)
        } else {
            output = try translateRows(query, scope, &plan)
        }
        return (plan, output)
    }

    // MARK: - Without aggregation

    mutating func translateRows(_ query: SQLSelect, _ scope: Scope, _ plan: inout LogicalPlan) throws(QueryError) -> [String]? {
        var items: [Item] = []
        var star = false
        var starIndex: Int? = nil
        for (index, item) in query.items.enumerated() {
            switch item {
            case .star(let qualifier):
                try checkQualifier(qualifier, scope, at: query.at)
                if let known = scope.columns {
                    for name in known { items.append(Item(name: name, expr: .column(name), syntax: .column(qualifier: nil, name: name, at: query.at))) }
                } else {
                    guard !star else { throw .semantic("* appears twice in the select list", at: query.at) }
                    star = true
                    starIndex = index
                }
            case .expr(let e, let alias):
                items.append(Item(name: alias ?? SQLNames.display(e), expr: try scalar(e, scope), syntax: e))
            }
        }
        if star, starIndex != 0 {
            throw .semantic("* must come first in the select list when the table's columns are not known before it is read", at: query.at)
        }
        items = Self.uniqueNames(items)

        if query.distinct {
            guard !star else { throw .semantic("SELECT DISTINCT * is not supported: name the columns", at: query.at) }
            plan.operators.append(.distinct(items.map { NamedExpr($0.name, $0.expr) }))
            let keys = try query.orderBy.map { order throws(QueryError) in
                SortKey(.column(try outputName(order.expr, items, query)), descending: order.descending, nullsFirst: order.nullsFirst ?? false)
            }
            appendOrderAndLimit(keys, query, &plan)
            return items.map(\.name)
        }

        let keys = try query.orderBy.map { order throws(QueryError) in
            SortKey(try rowOrderExpr(order.expr, items, scope, query), descending: order.descending, nullsFirst: order.nullsFirst ?? false)
        }
        let projection: PlanOperator? = star
            ? (items.isEmpty ? nil : .extend(items.map { NamedExpr($0.name, $0.expr) }))
            : .project(items.map { NamedExpr($0.name, $0.expr) })
        appendOrderAndLimit(keys, query, &plan, projection: projection)
        return star ? (scope.columns.map { $0 + items.map(\.name) }) : items.map(\.name)
    }

    /// An ORDER BY key of a query without aggregation, over the input rows: a position or an
    /// alias of the select list stands for that item's expression.
    mutating func rowOrderExpr(_ e: SQLExpr, _ items: [Item], _ scope: Scope, _ query: SQLSelect) throws(QueryError) -> Expr {
        if case .literal(.int64(let k)) = e {
            guard k >= 1, k <= items.count else { throw .semantic("ORDER BY position \(k) is not in the select list (1...\(items.count))", at: query.at) }
            return items[Int(k) - 1].expr
        }
        // ORDER BY names the select list's columns first (GROUP BY binds input columns first).
        if case .column(nil, let name, _) = e, let item = items.first(where: { $0.name == name }) {
            return item.expr
        }
        return try scalar(e, scope)
    }

    /// The output column an ORDER BY key of a DISTINCT query names.
    func outputName(_ e: SQLExpr, _ items: [Item], _ query: SQLSelect) throws(QueryError) -> String {
        if case .literal(.int64(let k)) = e, k >= 1, k <= items.count { return items[Int(k) - 1].name }
        if case .column(nil, let name, _) = e, let item = items.first(where: { $0.name == name }) { return item.name }
        if let item = items.first(where: { $0.syntax == e }) { return item.name }
        throw .semantic("ORDER BY of a SELECT DISTINCT must name selected columns", at: query.at)
    }

    /// ORDER BY, then LIMIT/OFFSET: sort + limit is a top-N of limit + offset rows; the select
    /// list's projection (streaming) goes after the sort, whose keys may use any input column.
    func appendOrderAndLimit(_ keys: [SortKey], _ query: SQLSelect, _ plan: inout LogicalPlan, projection: PlanOperator? = nil) {
        let offset = query.offset ?? 0
        if !keys.isEmpty {
            if let limit = query.limit {
                let (count, overflow) = limit.addingReportingOverflow(offset)
                plan.operators.append(.top(count: overflow ? Int.max : count, by: keys))
            } else {
                plan.operators.append(.sort(keys))
            }
            if let projection { plan.operators.append(projection) }
            if offset > 0 { plan.operators.append(.offset(offset)) }
            return
        }
        if let projection { plan.operators.append(projection) }
        if offset > 0 { plan.operators.append(.offset(offset)) }
        if let limit = query.limit { plan.operators.append(.limit(limit)) }
    }

    // MARK: - Names

    /// Whether the query refers to a column called `name` anywhere (then `name` in GROUP BY and
    /// ORDER BY is that column, as DuckDB binds columns before aliases).
    static func namesColumn(_ name: String, _ query: SQLSelect) -> Bool {
        var found = false
        func visit(_ e: SQLExpr) {
            if found { return }
            if case .column(_, let n, _) = e, n == name { found = true; return }
            for child in SQLNames.children(e) { visit(child) }
        }
        for item in query.items { if case .expr(let e, _) = item { visit(e) } }
        if let w = query.whereClause { visit(w) }
        if let h = query.having { visit(h) }
        return found
    }

    static func uniqueNames(_ items: [Item]) -> [Item] {
        var seen: [String: Int] = [:]
        return items.map { item in
            var copy = item
            if let n = seen[item.name] {
                seen[item.name] = n + 1
                copy.name = "\(item.name)_\(n)"
            } else {
                seen[item.name] = 1
            }
            return copy
        }
    }

    func checkQualifier(_ qualifier: String?, _ scope: Scope, at: SourcePosition) throws(QueryError) {
        guard let qualifier else { return }
        guard scope.qualifiers.contains(qualifier) else {
            throw .semantic("unknown table or alias '\(qualifier)' (the query reads \(scope.qualifiers.sorted().map { "'\($0)'" }.joined(separator: ", ")))", at: at)
        }
    }

    mutating func hiddenName(_ kind: String) -> String {
        hidden += 1
        return "__\(kind)\(hidden)"
    }
}
