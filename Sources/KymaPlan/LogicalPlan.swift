// KymaPlan: the language-independent query: `QueryFrontend` (the one boundary for query
// languages), `LogicalPlan` (a pipeline of operators over one table), the expression values plans
// are built from, and their row-at-a-time meaning (Semantics/). KQL and SQL produce these values;
// the optimizer, table sources and executor consume only them, so a new language is a new
// frontend and nothing else. Every value here is `Codable`: a plan can cross a process boundary.

import KymaCore

/// A query: a scan of one table followed by a pipeline of operators, applied in order.
///
/// A pipeline is what KQL's `|` expresses and what a single-table SQL `SELECT` reduces to
/// (WHERE, then GROUP BY with aggregates, HAVING, the select list, ORDER BY, LIMIT/OFFSET); a
/// subquery in FROM is the pipeline of the inner query followed by the outer one's. Joins and
/// unions are not modelled.
public struct LogicalPlan: Sendable, Hashable, Codable, CustomStringConvertible {
    public var table: String
    public var operators: [PlanOperator]

    public init(table: String, operators: [PlanOperator] = []) {
        self.table = table
        self.operators = operators
    }

    /// The table of a query that names none (SQL's `SELECT 1 + 1`): one row with no columns,
    /// provided by the query service. No stored table can have this name.
    public static let noTable = "$one_row"

    public var description: String {
        ([table] + operators.map(\.description)).joined(separator: "\n| ")
    }
}

/// An expression with the name its result column gets.
public struct NamedExpr: Sendable, Hashable, Codable {
    public var name: String
    public var expr: Expr

    public init(_ name: String, _ expr: Expr) {
        self.name = name
        self.expr = expr
    }
}

public struct SortKey: Sendable, Hashable, Codable {
    public var expr: Expr
    public var descending: Bool
    /// Kusto: nulls last for descending, first for ascending, unless stated. SQL frontends state
    /// it (DuckDB: nulls last either way).
    public var nullsFirst: Bool

    public init(_ expr: Expr, descending: Bool, nullsFirst: Bool? = nil) {
        self.expr = expr
        self.descending = descending
        self.nullsFirst = nullsFirst ?? !descending
    }
}

/// One step of the pipeline.
public enum PlanOperator: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Keeps rows where the predicate is true (null is false).
    case filter(Expr)
    /// Replaces the columns with these expressions, in order.
    case project([NamedExpr])
    /// Removes the named columns.
    case projectAway([String])
    /// Adds (or replaces) columns computed from the row.
    case extend([NamedExpr])
    /// Groups by the keys and computes the aggregates: output is the keys then the aggregates.
    case aggregate(keys: [NamedExpr], aggregates: [Aggregate])
    case sort([SortKey])
    /// The first `count` rows by the keys (sort then limit, run with a bounded heap).
    case top(count: Int, by: [SortKey])
    /// At most `count` rows, any of them when not sorted before.
    case limit(Int)
    /// Skips the first `count` rows (SQL OFFSET).
    case offset(Int)
    /// One row, one column `Count`.
    case count
    /// The distinct combinations of the expressions.
    case distinct([NamedExpr])

    public var description: String {
        func list(_ items: [NamedExpr]) -> String { items.map { "\($0.name)=\($0.expr)" }.joined(separator: ", ") }
        func keys(_ items: [SortKey]) -> String {
            items.map { "\($0.expr) \($0.descending ? "desc" : "asc") nulls \($0.nullsFirst ? "first" : "last")" }.joined(separator: ", ")
        }
        switch self {
        case .filter(let e): return "where \(e)"
        case .project(let items): return "project \(list(items))"
        case .projectAway(let names): return "project-away \(names.joined(separator: ", "))"
        case .extend(let items): return "extend \(list(items))"
        case .aggregate(let keys, let aggregates):
            return "summarize \(aggregates.map(\.description).joined(separator: ", "))" + (keys.isEmpty ? "" : " by \(list(keys))")
        case .sort(let k): return "sort by \(keys(k))"
        case .top(let n, let k): return "top \(n) by \(keys(k))"
        case .limit(let n): return "take \(n)"
        case .offset(let n): return "skip \(n)"
        case .count: return "count"
        case .distinct(let items): return "distinct \(list(items))"
        }
    }

    /// Operators applied batch by batch with no state.
    public var isStreaming: Bool {
        switch self {
        case .filter, .project, .projectAway, .extend: true
        default: false
        }
    }
}

/// An aggregate function call and the output columns it produces (more than one for
/// `arg_max`/`arg_min`, which return the extreme value and the other named columns of its row).
public struct Aggregate: Sendable, Hashable, Codable, CustomStringConvertible {
    public var function: AggregateFunction
    public var arguments: [Expr]
    public var outputNames: [String]
    /// Aggregate each group's distinct argument values only (SQL `count(DISTINCT x)`).
    public var distinct: Bool
    /// Only rows where this is true are aggregated (SQL `FILTER (WHERE ...)`).
    public var filter: Expr?

    public init(_ function: AggregateFunction, _ arguments: [Expr], outputNames: [String], distinct: Bool = false, filter: Expr? = nil) {
        self.function = function
        self.arguments = arguments
        self.outputNames = outputNames
        self.distinct = distinct
        self.filter = filter
    }

    public var description: String {
        "\(outputNames.joined(separator: ","))=\(function)(\(distinct ? "distinct " : "")\(arguments.map(\.description).joined(separator: ", ")))"
            + (filter.map { " filter \($0)" } ?? "")
    }
}

public enum AggregateFunction: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `count()`: rows in the group; with one argument, rows where it is not null.
    case count
    /// `countif(predicate)`.
    case countIf
    case sum, avg, min, max
    /// Distinct count estimated with HyperLogLog at 2^precision registers.
    case dcount(precision: Int)
    /// Nearest-rank percentile, 0...100 (Kusto `percentile`): the value at rank ⌈p/100·n⌉.
    case percentile(Double)
    /// DuckDB `quantile_disc(x, q)`, q in 0...1: the value at rank ⌈q·n⌉ (at least 1).
    case quantileDiscrete(Double)
    /// DuckDB `quantile_cont(x, q)`: linear interpolation between the values at 0-based
    /// positions ⌊(n−1)q⌋ and ⌈(n−1)q⌉.
    case quantileContinuous(Double)
    /// `percentile_cont(q) WITHIN GROUP (ORDER BY x DESC)`: the same interpolation over the
    /// values in descending order (not `1 - q` ascending: that rounds differently).
    case quantileContinuousDescending(Double)
    /// The row where the first argument is largest (smallest): outputs it and the other arguments.
    case argMax, argMin
    /// Distinct non-null values as a JSON array, at most `limit` of them.
    case makeSet(limit: Int)
    /// Every value, nulls included, as a JSON array in arrival order (DuckDB `list`).
    case list

    public var description: String {
        switch self {
        case .count: "count"
        case .countIf: "countif"
        case .sum: "sum"
        case .avg: "avg"
        case .min: "min"
        case .max: "max"
        case .dcount(let p): "dcount[p=\(p)]"
        case .percentile(let p): "percentile[\(p)]"
        case .quantileDiscrete(let q): "quantile_disc[\(q)]"
        case .quantileContinuous(let q): "quantile_cont[\(q)]"
        case .quantileContinuousDescending(let q): "quantile_cont_desc[\(q)]"
        case .argMax: "arg_max"
        case .argMin: "arg_min"
        case .makeSet(let limit): "make_set[\(limit)]"
        case .list: "list"
        }
    }
}

/// What a frontend parsed: a query, or a request to explain one.
public enum Statement: Sendable, Hashable, Codable {
    case query(LogicalPlan)
    /// `EXPLAIN [ANALYZE] query`: the plan and what each pruning level kept; `analyze` runs it.
    case explain(LogicalPlan, analyze: Bool)

    public var plan: LogicalPlan {
        switch self {
        case .query(let plan), .explain(let plan, _): plan
        }
    }
}
