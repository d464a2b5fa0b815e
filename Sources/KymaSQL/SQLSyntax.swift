// The syntax tree of the SQL subset (docs/sql.md), as parsed and before translation into a
// `LogicalPlan`: positions are kept so translation errors can say where.

import KymaCore
import KymaPlan

/// An interval literal: months (calendar) and nanoseconds (fixed); DuckDB keeps both.
struct SQLInterval: Hashable, Sendable {
    var months: Int64
    var nanos: Int64
}

indirect enum SQLExpr: Hashable, Sendable {
    case column(qualifier: String?, name: String, at: SourcePosition)
    case literal(ScalarValue)
    case interval(SQLInterval)
    /// `*` as a function argument (`count(*)`).
    case star
    case unary(String, SQLExpr)
    /// `a AND b AND ...` / `a OR b OR ...`, flat.
    case logical(isAnd: Bool, [SQLExpr])
    case binary(String, SQLExpr, SQLExpr)
    case isNull(SQLExpr, negated: Bool)
    case between(SQLExpr, SQLExpr, SQLExpr, negated: Bool)
    case inList(SQLExpr, [SQLExpr], negated: Bool)
    case like(SQLExpr, SQLExpr, escape: SQLExpr?, caseInsensitive: Bool, negated: Bool)
    case caseWhen(operand: SQLExpr?, branches: [SQLWhen], otherwise: SQLExpr?)
    case cast(SQLExpr, type: String, isTry: Bool, at: SourcePosition)
    case function(SQLCall)
    case element(SQLExpr, SQLExpr)
    /// `EXTRACT(part FROM value)`.
    case extract(String, SQLExpr)
}

struct SQLWhen: Hashable, Sendable {
    var condition: SQLExpr
    var result: SQLExpr
}

struct SQLCall: Hashable, Sendable {
    var name: String
    var arguments: [SQLExpr]
    var distinct: Bool
    var filter: SQLExpr?
    /// `WITHIN GROUP (ORDER BY x [DESC])`.
    var withinGroup: SQLOrderItem?
    var at: SourcePosition
}

struct SQLOrderItem: Hashable, Sendable {
    var expr: SQLExpr
    var descending: Bool
    /// nil: the default (DuckDB: nulls last either way).
    var nullsFirst: Bool?
}

enum SQLSelectItem: Hashable, Sendable {
    /// `*` or `t.*`.
    case star(qualifier: String?)
    case expr(SQLExpr, alias: String?)
}

indirect enum SQLFrom: Hashable, Sendable {
    case table(String, alias: String?, at: SourcePosition)
    case subquery(SQLSelect, alias: String?)
}

struct SQLSelect: Hashable, Sendable {
    var with: [(name: String, query: SQLSelect)] = []
    var distinct = false
    var items: [SQLSelectItem] = []
    var from: SQLFrom?
    var whereClause: SQLExpr?
    var groupBy: [SQLExpr] = []
    /// `GROUP BY ALL`: every select item that is not an aggregate.
    var groupByAll = false
    var having: SQLExpr?
    var orderBy: [SQLOrderItem] = []
    var limit: Int?
    var offset: Int?
    var at: SourcePosition

    static func == (a: SQLSelect, b: SQLSelect) -> Bool {
        a.distinct == b.distinct && a.items == b.items && a.from == b.from && a.whereClause == b.whereClause && a.groupBy == b.groupBy
            && a.groupByAll == b.groupByAll && a.having == b.having && a.orderBy == b.orderBy && a.limit == b.limit && a.offset == b.offset
            && a.with.map(\.name) == b.with.map(\.name) && a.with.map(\.query) == b.with.map(\.query)
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(items)
        hasher.combine(from)
        hasher.combine(whereClause)
    }
}

enum SQLStatement {
    case select(SQLSelect)
    case explain(SQLSelect, analyze: Bool)
}
