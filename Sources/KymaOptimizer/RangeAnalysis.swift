// Proves a conjunction empty from its comparisons of one column with constants: `status == 0
// and status == 1`, `x > 5 and x < 3`, `x in (1, 2) and x == 3`. Such a query reads nothing,
// and a long list of contradictory terms never reaches the catalog as a long predicate.
// Conservative: a column compared with constants of different kinds (a number and a string) is
// not judged, since values of one column may be typed differently in different extents.

import KymaCore
import KymaPlan

enum RangeAnalysis {
    struct Bound {
        var value: ScalarValue
        var inclusive: Bool
    }

    struct ColumnRange {
        var lower: Bound?
        var upper: Bound?
        /// Values the column must be one of (from `==` and `in`), when any.
        var allowed: [ScalarValue]?
        var kind: Int?
        var mixedKinds = false
    }

    static func kind(_ value: ScalarValue) -> Int {
        switch value {
        case .int64, .float64, .timestamp: 1
        case .string: 2
        case .bool: 3
        default: 4
        }
    }

    static func isEmpty(_ conjuncts: [Expr]) -> Bool {
        var ranges: [String: ColumnRange] = [:]
        for conjunct in conjuncts {
            switch conjunct {
            case .literal(.bool(false)), .literal(.null): return true
            case .compare(let op, .column(let name), .literal(let v)) where v != .null: note(&ranges, name, op, v)
            case .compare(let op, .literal(let v), .column(let name)) where v != .null: note(&ranges, name, op.swapped, v)
            case .between(.column(let name), .literal(let low), .literal(let high), negated: false) where low != .null && high != .null:
                note(&ranges, name, .greaterOrEqual, low)
                note(&ranges, name, .lessOrEqual, high)
            case .inList(.column(let name), let items, negated: false):
                let values = items.compactMap { item -> ScalarValue? in if case .literal(let v) = item, v != .null { v } else { nil } }
                if values.count == items.count { restrict(&ranges, name, values) }
            case .call(.inSet, let arguments) where arguments.count > 1:
                if case .column(let name) = arguments[0] {
                    let values = arguments.dropFirst().compactMap { item -> ScalarValue? in if case .literal(let v) = item, v != .null { v } else { nil } }
                    if values.count == arguments.count - 1 { restrict(&ranges, name, values) }
                }
            default: continue
            }
        }
        return ranges.values.contains { range in
            guard !range.mixedKinds else { return false }
            if let allowed = range.allowed {
                return !allowed.contains { within(range, $0) }
            }
            guard let lower = range.lower, let upper = range.upper, let order = ScalarOrder.compare(lower.value, upper.value) else { return false }
            return order > 0 || (order == 0 && !(lower.inclusive && upper.inclusive))
        }
    }

    static func track(_ range: inout ColumnRange, _ value: ScalarValue) {
        let k = kind(value)
        if let existing = range.kind, existing != k { range.mixedKinds = true }
        range.kind = k
    }

    static func note(_ ranges: inout [String: ColumnRange], _ name: String, _ op: CompareOperator, _ value: ScalarValue) {
        var range = ranges[name] ?? ColumnRange()
        track(&range, value)
        switch op {
        case .equal: intersect(&range, [value])
        case .greater, .greaterOrEqual:
            let bound = Bound(value: value, inclusive: op == .greaterOrEqual)
            if let current = range.lower, let order = ScalarOrder.compare(current.value, value) {
                if order < 0 || (order == 0 && current.inclusive && !bound.inclusive) { range.lower = bound }
            } else if range.lower == nil {
                range.lower = bound
            }
        case .less, .lessOrEqual:
            let bound = Bound(value: value, inclusive: op == .lessOrEqual)
            if let current = range.upper, let order = ScalarOrder.compare(current.value, value) {
                if order > 0 || (order == 0 && current.inclusive && !bound.inclusive) { range.upper = bound }
            } else if range.upper == nil {
                range.upper = bound
            }
        case .notEqual: break
        }
        ranges[name] = range
    }

    static func restrict(_ ranges: inout [String: ColumnRange], _ name: String, _ values: [ScalarValue]) {
        var range = ranges[name] ?? ColumnRange()
        for value in values { track(&range, value) }
        intersect(&range, values)
        ranges[name] = range
    }

    static func intersect(_ range: inout ColumnRange, _ values: [ScalarValue]) {
        guard let allowed = range.allowed else { range.allowed = values; return }
        range.allowed = allowed.filter { a in values.contains { ScalarOrder.compare(a, $0) == 0 } }
    }

    static func within(_ range: ColumnRange, _ value: ScalarValue) -> Bool {
        if let lower = range.lower {
            guard let order = ScalarOrder.compare(value, lower.value) else { return true }
            if order < 0 || (order == 0 && !lower.inclusive) { return false }
        }
        if let upper = range.upper {
            guard let order = ScalarOrder.compare(value, upper.value) else { return true }
            if order > 0 || (order == 0 && !upper.inclusive) { return false }
        }
        return true
    }
}
