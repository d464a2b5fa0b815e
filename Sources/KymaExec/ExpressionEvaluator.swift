// Evaluates plan expressions over column batches, a column at a time. Predicates produce
// selection vectors (ascending row numbers), narrowing conjunct by conjunct; typed loops cover
// the hot shapes (column op constant on numbers and strings, term and substring search), and a
// row-at-a-time path over `ScalarValue` covers the rest.

import KymaCore
import KymaPlan
import KymaFormat

/// A value of an expression over some rows: one constant for all, or a column of them.
/// Timespans are int64 nanoseconds marked `isTimespan`.
struct Evaluated {
    enum Storage {
        case constant(ScalarValue)
        case column(Column)
    }

    var storage: Storage
    var isTimespan = false

    static func constant(_ value: ScalarValue, timespan: Bool = false) -> Evaluated {
        Evaluated(storage: .constant(value), isTimespan: timespan)
    }

    static func column(_ column: Column, timespan: Bool = false) -> Evaluated {
        Evaluated(storage: .column(column), isTimespan: timespan)
    }

    func value(at index: Int) -> ScalarValue {
        switch storage {
        case .constant(let value): value
        case .column(let column): column.value(at: index)
        }
    }

    /// The values at `positions` (constants stay constants).
    func gathered(_ positions: [UInt32]) -> Evaluated {
        switch storage {
        case .constant: return self
        case .column(let column): return .column(column.gathered(positions), timespan: isTimespan)
        }
    }

    /// As a column of `count` rows (constants repeated).
    func materialised(count: Int) -> Column {
        switch storage {
        case .column(let column): return column
        case .constant(let value): return ColumnFactory.repeating(value, count: count)
        }
    }
}

/// The rows of a batch an expression is evaluated on.
struct EvaluationInput {
    let batch: ColumnBatch
    /// Rows of `batch` in evaluation order; nil is every row.
    let rows: [UInt32]?
    let nowNanos: Int64

    var count: Int { rows?.count ?? batch.rowCount }
    func row(_ index: Int) -> Int { rows.map { Int($0[index]) } ?? index }
}

enum ExpressionEvaluator {
    // MARK: - Predicates to selections

    /// The rows of `rows` (nil: all) where `predicate` is true, ascending.
    static func select(_ predicate: Expr, _ batch: ColumnBatch, rows: [UInt32]?, now: Int64) throws(QueryError) -> [UInt32] {
        switch predicate {
        case .and(let parts):
            var current = rows
            for part in parts {
                let narrowed = try select(part, batch, rows: current, now: now)
                if narrowed.isEmpty { return [] }
                current = narrowed
            }
            return current ?? (0..<UInt32(batch.rowCount)).map { $0 }
        case .or(let parts):
            var union = [Bool](repeating: false, count: batch.rowCount)
            for part in parts {
                for row in try select(part, batch, rows: rows, now: now) { union[Int(row)] = true }
            }
            let candidates = rows ?? (0..<UInt32(batch.rowCount)).map { $0 }
            return candidates.filter { union[Int($0)] }
        case .literal(.bool(let value)):
            return value ? (rows ?? (0..<UInt32(batch.rowCount)).map { $0 }) : []
        case .compare(let op, .column(let name), .literal(let constant)) where constant != .null:
            if let selected = compareFast(batch.column(named: name), op, constant, rows: rows, rowCount: batch.rowCount) { return selected }
        case .compare(let op, .literal(let constant), .column(let name)) where constant != .null:
            if let selected = compareFast(batch.column(named: name), op.swapped, constant, rows: rows, rowCount: batch.rowCount) { return selected }
        case .between(.column(let name), .literal(let low), .literal(let high), negated: false):
            // Two typed comparisons, the second over the rows the first kept (same-kind integer
            // or time bounds only, where `between`'s order is the comparisons' order).
            let column = batch.column(named: name)
            switch (column?.values, low, high) {
            case (.int64?, .int64, .int64), (.timestamp?, .timestamp, .timestamp):
                if let above = compareFast(column, .greaterOrEqual, low, rows: rows, rowCount: batch.rowCount),
                   let within = compareFast(column, .lessOrEqual, high, rows: above, rowCount: batch.rowCount) { return within }
            default: break
            }
        case .text(let op, .column(let name), .literal(.string(let needle)), let negated):
            return textSelect(batch.column(named: name), op, needle, negated: negated, rows: rows, rowCount: batch.rowCount)
        default:
            break
        }
        let input = EvaluationInput(batch: batch, rows: rows, nowNanos: now)
        let result = try evaluate(predicate, input)
        var selected: [UInt32] = []
        switch result.storage {
        case .constant(.bool(true)): return rows ?? (0..<UInt32(batch.rowCount)).map { $0 }
        case .constant: return []
        case .column(let column):
            guard case .bool(let flags) = column.values else {
                // A column of nulls (an all-null result has no type of its own) selects nothing.
                if column.nullCount == column.count { return [] }
                throw .type("a filter must be a boolean expression, got \(column.dataType.rawValue): \(predicate)")
            }
            selected.reserveCapacity(flags.count)
            for index in 0..<flags.count where flags[index] && !column.isNull(index) { selected.append(UInt32(input.row(index))) }
        }
        return selected
    }

    /// Positions within the evaluated rows (indexes into `rows`, or row numbers when nil) where
    /// `predicate` is true, ascending.
    static func positions(matching predicate: Expr, _ batch: ColumnBatch, rows: [UInt32]?, now: Int64) throws(QueryError) -> [UInt32] {
        let selected = try select(predicate, batch, rows: rows, now: now)
        guard let rows else { return selected }
        var out: [UInt32] = []
        out.reserveCapacity(selected.count)
        var k = 0
        for (position, row) in rows.enumerated() {
            guard k < selected.count else { break }
            if selected[k] == row {
                out.append(UInt32(position))
                k += 1
            }
        }
        return out
    }

    /// `column op constant` with typed loops, or nil when the types need the general path.
    static func compareFast(_ column: Column?, _ op: CompareOperator, _ constant: ScalarValue, rows: [UInt32]?, rowCount: Int) -> [UInt32]? {
        guard let column else { return [] }  // an absent column is all null: nothing compares true
        var out: [UInt32] = []
        func scan(_ test: (Int) -> Bool) {
            if let rows {
                out.reserveCapacity(rows.count)
                for row in rows where test(Int(row)) { out.append(row) }
            } else {
                for row in 0..<rowCount where test(row) { out.append(UInt32(row)) }
            }
        }
        let validity = column.validity
        func valid(_ row: Int) -> Bool { validity?.isValid(row) ?? true }
        switch (column.values, constant) {
        case (.int64(let values), .int64(let c)), (.timestamp(let values), .timestamp(let c)), (.timestamp(let values), .int64(let c)):
            values.withUnsafeBufferPointer { v in
                switch op {
                case .equal: scan { v[$0] == c && valid($0) }
                case .notEqual: scan { v[$0] != c && valid($0) }
                case .less: scan { v[$0] < c && valid($0) }
                case .lessOrEqual: scan { v[$0] <= c && valid($0) }
                case .greater: scan { v[$0] > c && valid($0) }
                case .greaterOrEqual: scan { v[$0] >= c && valid($0) }
                }
            }
            return out
        case (.int64(let values), .float64(let c)):
            values.withUnsafeBufferPointer { v in scan { valid($0) && op.holds(ScalarOrder.compareDoubles(Double(v[$0]), c)) } }
            return out
        case (.float64(let values), .float64(let c)):
            values.withUnsafeBufferPointer { v in scan { valid($0) && !v[$0].isNaN && op.holds(ScalarOrder.compareDoubles(v[$0], c)) } }
            return out
        case (.float64(let values), .int64(let c)):
            let d = Double(c)
            values.withUnsafeBufferPointer { v in scan { valid($0) && !v[$0].isNaN && op.holds(ScalarOrder.compareDoubles(v[$0], d)) } }
            return out
        case (.string(let offsets, let bytes), .string(let c)):
            let needle = Array(c.utf8)
            offsets.withUnsafeBufferPointer { o in
                bytes.withUnsafeBufferPointer { b in
                    needle.withUnsafeBufferPointer { n in
                        scan { row in
                            guard valid(row) else { return false }
                            let start = Int(o[row]), end = Int(o[row + 1])
                            return op.holds(compareBytes(b, start, end, n))
                        }
                    }
                }
            }
            return out
        case (.bool(let values), .bool(let c)):
            guard op == .equal || op == .notEqual else { return nil }
            scan { valid($0) && ((values[$0] == c) == (op == .equal)) }
            return out
        default:
            return nil
        }
    }

    @inlinable
    static func compareBytes(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ n: UnsafeBufferPointer<UInt8>) -> Int {
        let length = end - start
        let common = min(length, n.count)
        var k = 0
        while k < common {
            let x = b[start + k], y = n[k]
            if x != y { return x < y ? -1 : 1 }
            k += 1
        }
        return length == n.count ? 0 : (length < n.count ? -1 : 1)
    }

    static func textSelect(_ column: Column?, _ op: TextOperator, _ needleText: String, negated: Bool, rows: [UInt32]?, rowCount: Int) -> [UInt32] {
        let ignoreCase = op != .hasCaseSensitive && op != .containsCaseSensitive
        let needle = ignoreCase ? TextKernels.asciiLowercased(needleText) : Array(needleText.utf8)
        var out: [UInt32] = []
        let candidates = rows ?? (0..<UInt32(rowCount)).map { $0 }
        guard let column, case .string(let offsets, let bytes) = column.values else {
            // Absent (or non-string) column: every row reads as the empty string.
            let emptyMatches = textMatch(op, [UInt8](), needle, ignoreCase: ignoreCase)
            return emptyMatches != negated ? candidates : []
        }
        out.reserveCapacity(candidates.count / 4)
        offsets.withUnsafeBufferPointer { o in
            bytes.withUnsafeBufferPointer { b in
                needle.withUnsafeBufferPointer { n in
                    for row in candidates {
                        let r = Int(row)
                        let isNull = column.isNull(r)
                        let start = isNull ? 0 : Int(o[r]), end = isNull ? 0 : Int(o[r + 1])
                        let matched: Bool
                        switch op {
                        case .has, .hasCaseSensitive: matched = TextKernels.has(b, start, end, n, ignoreCase: ignoreCase)
                        case .contains, .containsCaseSensitive: matched = TextKernels.contains(b, start, end, n, ignoreCase: ignoreCase)
                        case .startsWith: matched = TextKernels.equal(b, start, end, n, ignoreCase: true, at: start)
                        case .endsWith: matched = TextKernels.equal(b, start, end, n, ignoreCase: true, at: end - n.count)
                        case .equalsIgnoringCase: matched = end - start == n.count && TextKernels.equal(b, start, end, n, ignoreCase: true, at: start)
                        }
                        if matched != negated { out.append(row) }
                    }
                }
            }
        }
        return out
    }

    static func textMatch(_ op: TextOperator, _ text: [UInt8], _ needle: [UInt8], ignoreCase: Bool) -> Bool {
        text.withUnsafeBufferPointer { b in
            needle.withUnsafeBufferPointer { n in
                switch op {
                case .has, .hasCaseSensitive: TextKernels.has(b, 0, b.count, n, ignoreCase: ignoreCase)
                case .contains, .containsCaseSensitive: TextKernels.contains(b, 0, b.count, n, ignoreCase: ignoreCase)
                case .startsWith: TextKernels.equal(b, 0, b.count, n, ignoreCase: true, at: 0)
                case .endsWith: TextKernels.equal(b, 0, b.count, n, ignoreCase: true, at: b.count - n.count)
                case .equalsIgnoringCase: b.count == n.count && TextKernels.equal(b, 0, b.count, n, ignoreCase: true, at: 0)
                }
            }
        }
    }

    // MARK: - Values

    static func evaluate(_ expr: Expr, _ input: EvaluationInput) throws(QueryError) -> Evaluated {
        switch expr {
        case .literal(let value): return .constant(value)
        case .timespan(let nanos): return .constant(.int64(nanos), timespan: true)
        case .column(let name):
            guard let column = input.batch.column(named: name) else { return .constant(.null) }
            guard let rows = input.rows else { return .column(column) }
            return .column(column.gathered(rows))
        case .call(.now, _): return .constant(.timestamp(input.nowNanos))
        case .not(let inner):
            let value = try evaluate(inner, input)
            return try map([value], input.count) { values throws(QueryError) in try ExprSemantics.logicalNot(values[0]) }
        case .and(let parts), .or(let parts):
            let isAnd: Bool
            if case .and = expr { isAnd = true } else { isAnd = false }
            var values: [Evaluated] = []
            for part in parts { values.append(try evaluate(part, input)) }
            return try map(values, input.count) { v throws(QueryError) in try ExprSemantics.logical(v, isAnd: isAnd) }
        case .compare(let op, let lhs, let rhs):
            return try map([try evaluate(lhs, input), try evaluate(rhs, input)], input.count) { v in
                ScalarCompare.compare(op, v[0], v[1])
            }
        case .cast(let inner, let target, let mode):
            let value = try evaluate(inner, input)
            return try map([value], input.count) { v throws(QueryError) in
                try ScalarCasts.cast(v[0], to: target, mode: mode, isTimespan: value.isTimespan)
            }
        case .text(let op, let lhs, let rhs, let negated):
            return try map([try evaluate(lhs, input), try evaluate(rhs, input)], input.count) { v in
                .bool(KustoText.matches(op, v[0], v[1]) != negated)
            }
        case .inList(let value, let items, let negated):
            var values = [try evaluate(value, input)]
            for item in items { values.append(try evaluate(item, input)) }
            return try map(values, input.count) { v in
                guard v[0] != .null else { return .bool(false) }
                let found = v.dropFirst().contains { ScalarCompare.order(v[0], $0) == 0 }
                return .bool(found != negated)
            }
        case .between(let value, let low, let high, let negated):
            return try map([try evaluate(value, input), try evaluate(low, input), try evaluate(high, input)], input.count) { v in
                ExprSemantics.between(v[0], v[1], v[2], negated: negated)
            }
        case .negate(let inner):
            let value = try evaluate(inner, input)
            return try map([value], input.count, timespan: value.isTimespan) { values throws(QueryError) in
                try ScalarArithmetic.negate(values[0], checked: false)
            }
        case .arithmetic(let op, let lhs, let rhs):
            return try arithmetic(op, try evaluate(lhs, input), try evaluate(rhs, input), input.count)
        case .call(let function, let arguments):
            return try call(function, arguments, input)
        }
    }

    /// Applies `body` row by row over the arguments (the general path).
    static func map(_ arguments: [Evaluated], _ count: Int, timespan: Bool = false,
                    _ body: ([ScalarValue]) throws(QueryError) -> ScalarValue) throws(QueryError) -> Evaluated {
        if arguments.allSatisfy({ if case .constant = $0.storage { true } else { false } }) {
            return .constant(try body(arguments.map { $0.value(at: 0) }), timespan: timespan)
        }
        var results: [ScalarValue] = []
        results.reserveCapacity(count)
        var row = [ScalarValue](repeating: .null, count: arguments.count)
        for index in 0..<count {
            for (k, argument) in arguments.enumerated() { row[k] = argument.value(at: index) }
            results.append(try body(row))
        }
        return .column(ColumnFactory.column(results), timespan: timespan)
    }

    static func arithmetic(_ op: ArithmeticOperator, _ a: Evaluated, _ b: Evaluated, _ count: Int) throws(QueryError) -> Evaluated {
        let resultIsSpan = ScalarArithmetic.resultIsTimespan(op, a.isTimespan, b.isTimespan)
        // Typed fast path: an int column with an int constant.
        if case .column(let column) = a.storage, case .int64(let values) = column.values, case .constant(.int64(let c)) = b.storage {
            var out: [Int64]? = nil
            switch op {
            case .add: out = values.map { $0 &+ c }
            case .subtract: out = values.map { $0 &- c }
            case .multiply: out = values.map { $0 &* c }
            // c == -1 would overflow on Int64.min: the general path handles it.
            case .divide, .sqlIntegerDivide: if c != 0 && c != -1 { out = values.map { $0 / c } }
            case .modulo, .sqlModulo: if c != 0 && c != -1 { out = values.map { $0 % c } }
            case .sqlAdd, .sqlSubtract, .sqlMultiply:
                var result = [Int64](repeating: 0, count: values.count)
                for i in values.indices where !column.isNull(i) {
                    let (v, overflow) = op == .sqlAdd ? values[i].addingReportingOverflow(c)
                        : op == .sqlSubtract ? values[i].subtractingReportingOverflow(c) : values[i].multipliedReportingOverflow(by: c)
                    if overflow { throw .type("integer overflow in \(values[i]) \(op.symbol) \(c)") }
                    result[i] = v
                }
                out = result
            default: break
            }
            if let out { return .column(Column(.int64(out), validity: column.validity), timespan: resultIsSpan) }
        }
        return try map([a, b], count, timespan: resultIsSpan) { v throws(QueryError) in
            try ScalarArithmetic.apply(op, v[0], v[1])
        }
    }

    static func call(_ function: ScalarFunction, _ arguments: [Expr], _ input: EvaluationInput) throws(QueryError) -> Evaluated {
        var values: [Evaluated] = []
        for argument in arguments { values.append(try evaluate(argument, input)) }
        if function == .now { return .constant(.timestamp(input.nowNanos)) }
        let spans = values.map(\.isTimespan)
        return try map(values, input.count, timespan: ScalarFunctions.resultIsTimespan(function, spans)) { v throws(QueryError) in
            try ScalarFunctions.apply(function, v, now: input.nowNanos, timespans: spans)
        }
    }
}

extension ScalarOrder {
    @inlinable
    static func compareDoubles(_ x: Double, _ y: Double) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
}

/// Predicates over batches for other engine modules (vector payload filters): the rows of
/// `batch` where `predicate` is true, with the query semantics of docs/kql.md.
public enum PredicateEvaluation {
    /// `predicate` should be prepared (KymaOptimizer) first, so its constants are folded once.
    public static func rows(matching predicate: Expr, in batch: ColumnBatch, now: Int64) throws(QueryError) -> [UInt32] {
        try ExpressionEvaluator.select(predicate, batch, rows: nil, now: now)
    }
}
