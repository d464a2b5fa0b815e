// A logical plan after `prepare()` (KymaOptimizer): what the table source must scan and the
// pipeline the executor runs over what it returns. Plain values, so a prepared query (or the
// part of it one node runs) can be sent to another node unchanged.

/// The order a scan delivers its units in. Time-ordered scans serve `top N by time` and stop
/// once no remaining unit can hold a better row.
public enum ScanOrder: String, Sendable, Hashable, Codable {
    case any
    case timeDescending = "time_descending"
    case timeAscending = "time_ascending"
}

/// What a table source is asked for: every row satisfying all of `filter`, with `columns`.
public struct ScanSpec: Sendable, Hashable, Codable {
    /// Conjuncts every returned row must satisfy. Sources prune with the parts they understand
    /// and MAY return rows that fail them: the executor evaluates all of them on what is read.
    public var filter: [Expr]
    /// Columns the pipeline reads; nil reads all.
    public var columns: [String]?
    public var order: ScanOrder
    /// The pipeline needs at most this many rows from the scan (a leading `take`); a hint.
    public var limit: Int?
    /// The filter is false for every row (constant folding proved it): nothing need be read.
    public var provablyEmpty: Bool

    public init(filter: [Expr] = [], columns: [String]? = nil, order: ScanOrder = .any, limit: Int? = nil, provablyEmpty: Bool = false) {
        self.filter = filter
        self.columns = columns
        self.order = order
        self.limit = limit
        self.provablyEmpty = provablyEmpty
    }

    /// The filter as one expression, nil when there is none.
    public var filterExpression: Expr? { filter.isEmpty ? nil : Expr.conjunction(filter) }
}

/// A prepared query: the rewritten plan, the scan of its table, and the rest of the pipeline.
public struct PreparedQuery: Sendable, Hashable, Codable {
    /// The plan after rewriting (what EXPLAIN shows).
    public var logical: LogicalPlan
    public var table: String { logical.table }
    public var scan: ScanSpec
    /// The operators after the scan's filter.
    public var pipeline: [PlanOperator]
    /// The query's `now()`, already folded into the plan; kept for operators that need it.
    public var nowNanos: Int64

    public init(logical: LogicalPlan, scan: ScanSpec, pipeline: [PlanOperator], nowNanos: Int64) {
        self.logical = logical
        self.scan = scan
        self.pipeline = pipeline
        self.nowNanos = nowNanos
    }
}
