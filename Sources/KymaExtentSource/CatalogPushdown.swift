// The part of a scan filter the catalog can use: the time range of the time column, value
// ranges of other columns, and columns that must be present. Bounded: conditions on one column
// are intersected into one range, and at most `maxColumnConditions` columns and
// `maxRequiredPaths` paths reach PostgreSQL, so a filter of thousands of terms is a short query.
// Leaving conditions out only keeps more extents; the later levels and the executor still apply
// the whole filter.

import KymaCatalog
import KymaCore
import KymaPlan
import KymaTableSource

public enum CatalogPushdown {
    public static let maxColumnConditions = 8
    public static let maxRequiredPaths = 8

    public static func extentFilter(_ conjuncts: [Expr], timeColumn: String) -> ExtentFilter {
        var filter = ExtentFilter()
        var lower = Int64.min, upper = Int64.max
        var ranges: [(column: String, lower: ScalarValue?, upper: ScalarValue?)] = []

        func tighten(_ name: String, lower newLower: ScalarValue?, upper newUpper: ScalarValue?) {
            guard let index = ranges.firstIndex(where: { $0.column == name }) else {
                ranges.append((name, newLower, newUpper))
                return
            }
            // Keep the tighter bound where the two compare; a bound of another kind is dropped
            // (pruning by fewer conditions keeps more extents, never fewer).
            if let new = newLower {
                if let old = ranges[index].lower { if let order = ScalarOrder.compare(new, old), order > 0 { ranges[index].lower = new } }
                else { ranges[index].lower = new }
            }
            if let new = newUpper {
                if let old = ranges[index].upper { if let order = ScalarOrder.compare(new, old), order < 0 { ranges[index].upper = new } }
                else { ranges[index].upper = new }
            }
        }

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
            case .equal: tighten(name, lower: value, upper: value)
            case .greater, .greaterOrEqual: tighten(name, lower: value, upper: nil)
            case .less, .lessOrEqual: tighten(name, lower: nil, upper: value)
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
                if let name = BlockPushdown.presenceColumn(conjunct), !filter.requiredPaths.contains(name),
                   filter.requiredPaths.count < maxRequiredPaths {
                    filter.requiredPaths.append(name)
                }
            }
        }
        for range in ranges.prefix(maxColumnConditions) {
            filter.columnConditions.append(ColumnRangeCondition(column: range.column, lower: range.lower, upper: range.upper))
        }
        if lower != .min || upper != .max { filter.timeRange = TimeRange(lowerNanos: lower, upperNanos: upper) }
        return filter
    }

    /// The filter as EXPLAIN prints it.
    public static func describe(_ filter: ExtentFilter) -> String {
        var parts: [String] = []
        if let range = filter.timeRange {
            parts.append("time in [\(range.lowerNanos == .min ? "-inf" : TimeText.rfc3339(range.lowerNanos)), \(range.upperNanos == .max ? "+inf" : TimeText.rfc3339(range.upperNanos))]")
        }
        func text(_ value: ScalarValue) -> String {
            switch value {
            case .string(let s): s
            case .timestamp(let t): TimeText.rfc3339(t)
            default: JSONValue.render(value)
            }
        }
        for condition in filter.columnConditions {
            parts.append("\(condition.column) in [\(condition.lower.map(text) ?? "-inf"), \(condition.upper.map(text) ?? "+inf")]")
        }
        if !filter.requiredPaths.isEmpty { parts.append("present paths \(filter.requiredPaths.joined(separator: ", "))") }
        return parts.isEmpty ? "nothing (every extent of the table)" : parts.joined(separator: "; ")
    }
}
