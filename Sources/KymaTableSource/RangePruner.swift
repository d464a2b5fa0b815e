// Pruning units a source does not open to prune (k2i's committed Iceberg files) by the value
// ranges they record: the scan filter becomes the same `BlockPredicate` the cascade pushes to
// formats, evaluated against each unit's per-column lower and upper bounds.

import KymaCore
import KymaFormat
import KymaPlan

/// Decides from per-column bounds whether a unit of rows may hold a row the plan keeps.
/// Conservative: a part of the filter it cannot judge (a term search, a column without
/// bounds) keeps the unit; the executor re-evaluates the whole filter on what is read.
public struct RangePruner: Sendable {
    let predicate: BlockPredicate

    /// The scan filter of a prepared query (`ScanSpec.filter`).
    public init(_ conjuncts: [Expr]) {
        predicate = BlockPushdown.predicate(conjuncts)
    }

    /// The predicate judged against units' bounds, as EXPLAIN prints it.
    public var predicateDescription: String { predicate.description }

    /// Whether the filter prunes anything at all (false: every unit is kept).
    public var isSelective: Bool { predicate != .alwaysTrue }

    /// false only when no row whose values lie within `bounds` (column -> lower, upper; a
    /// column's bounds cover its non-null values) can satisfy the filter.
    public func mayMatch(_ bounds: [String: (lower: ScalarValue, upper: ScalarValue)]) -> Bool {
        Self.mayMatch(predicate, bounds)
    }

    static func mayMatch(_ predicate: BlockPredicate, _ bounds: [String: (lower: ScalarValue, upper: ScalarValue)]) -> Bool {
        switch predicate {
        case .alwaysTrue: return true
        case .and(let parts): return parts.allSatisfy { mayMatch($0, bounds) }
        case .or(let parts): return parts.contains { mayMatch($0, bounds) }
        case .compare(let column, let op, let constant):
            guard let range = bounds[column] else { return true }
            return StatisticsBounds.mayMatch(op, lower: range.lower, upper: range.upper, constant: constant) ?? true
        case .inSet(let column, let values):
            guard let range = bounds[column] else { return true }
            return values.contains { StatisticsBounds.mayMatch(.equal, lower: range.lower, upper: range.upper, constant: $0) ?? true }
        case .timeRange(let column, let wanted):
            guard let range = bounds[column], case .timestamp(let lo) = range.lower, case .timestamp(let hi) = range.upper else { return true }
            return lo <= wanted.upperNanos && hi >= wanted.lowerNanos
        case .prefix(let column, let prefix):
            guard let range = bounds[column], case .string(let lo) = range.lower, case .string(let hi) = range.upper else { return true }
            return StatisticsBounds.prefixMayMatch(lower: lo, upper: hi, prefix: prefix)
        case .not, .hasTerm, .pathExists: return true
        }
    }
}
