// Operators that need whole rows: sort, top-N (bounded candidate list), distinct, and the
// batch-to-rows conversions they share.

import KymaCore
import KymaPlan

/// Orders values for sorting: nulls by `nullsFirst`, comparable values by `ScalarCompare`,
/// values of kinds that do not compare by kind.
enum SortOrder {
    static func compare(_ a: [ScalarValue], _ b: [ScalarValue], _ keys: [SortKey]) -> Int {
        for (index, key) in keys.enumerated() {
            let x = a[index], y = b[index]
            if x == .null || y == .null {
                if x == .null && y == .null { continue }
                return (x == .null) == key.nullsFirst ? -1 : 1
            }
            var order = ScalarCompare.order(x, y) ?? kindRank(x) - kindRank(y)
            if order == 0 { continue }
            if key.descending { order = -order }
            return order < 0 ? -1 : 1
        }
        return 0
    }

    static func kindRank(_ value: ScalarValue) -> Int {
        switch value {
        case .null: 0
        case .bool: 1
        case .int64, .float64: 2
        case .timestamp: 3
        case .string: 4
        case .binary: 5
        }
    }
}

/// Rows gathered from batches whose column sets may differ (schema on read).
struct RowSet {
    var names: [String] = []
    var rows: [[ScalarValue]] = []

    mutating func index(of name: String) -> Int {
        if let index = names.firstIndex(of: name) { return index }
        names.append(name)
        for i in rows.indices { rows[i].append(.null) }
        return names.count - 1
    }

    /// Row values of `batch` at `row`, aligned to `names`.
    mutating func values(_ batch: ColumnBatch, row: Int) -> [ScalarValue] {
        var out = [ScalarValue](repeating: .null, count: names.count)
        for (name, column) in zip(batch.names, batch.columns) {
            let i = index(of: name)
            if i >= out.count { out.append(contentsOf: repeatElement(.null, count: i - out.count + 1)) }
            out[i] = column.value(at: row)
        }
        return out
    }

    func batch(_ selected: [[ScalarValue]]) throws(QueryError) -> ColumnBatch {
        var columns: [(String, Column)] = []
        for (k, name) in names.enumerated() {
            columns.append((name, ColumnFactory.column(selected.map { k < $0.count ? $0[k] : .null })))
        }
        return try BatchBuilding.batch(rowCount: selected.count, columns: columns)
    }
}

/// `sort by` (all rows) and `top N by` (at most N kept: candidates are cut back to N whenever
/// they reach 2N, so memory stays O(N) whatever the input).
final class SortOperator {
    let keys: [SortKey]
    let limit: Int?
    let memoryLimit: Int
    let now: Int64
    var rowSet = RowSet()
    var candidates: [(keys: [ScalarValue], row: [ScalarValue])] = []
    var bytes = 0

    init(keys: [SortKey], limit: Int?, memoryLimit: Int, now: Int64) {
        self.keys = keys
        self.limit = limit
        self.memoryLimit = memoryLimit
        self.now = now
    }

    func add(_ batch: ColumnBatch) throws(QueryError) {
        let input = EvaluationInput(batch: batch, rows: batch.selection, nowNanos: now)
        guard input.count > 0, limit != 0 else { return }
        var keyValues: [Evaluated] = []
        for key in keys { keyValues.append(try ExpressionEvaluator.evaluate(key.expr, input)) }
        // Most rows lose on the first key alone: a typed pass keeps only the rows that can
        // still enter the N best before any row's key values are built.
        let positions = limit.flatMap { contenders(keyValues[0], limit: $0) } ?? Array(0..<input.count)
        for i in positions {
            let sortKey = keyValues.map { $0.value(at: i) }
            if let limit, candidates.count >= limit, let worst = threshold, SortOrder.compare(sortKey, worst, keys) >= 0 { continue }
            let row = rowSet.values(batch, row: input.row(i))
            candidates.append((sortKey, row))
            bytes += 32 * (row.count + sortKey.count)
            // Cut back at 2N + 64 (a limit near Int.max is a full sort: never cut, memory-checked).
            if let limit, limit < Int.max / 4, candidates.count >= 2 * limit + 64 { compact(limit) }
            if bytes > memoryLimit { throw .resourcesExhausted(resource: "sort memory (bytes)", limit: memoryLimit, used: bytes) }
        }
    }

    /// The positions of a batch whose first key can enter the N best (`TopNCut`), or nil when
    /// that key is not a null-free number or time column (every position is then compared).
    private func contenders(_ key: Evaluated, limit: Int) -> [Int]? {
        guard limit > 0, limit <= 1 << 16, case .column(let column) = key.storage, column.validity == nil else { return nil }
        let descending = keys[0].descending
        // The running threshold applies when it is of the column's own kind; otherwise it is
        // left out (it only ever removes more rows).
        let bound = threshold?.first
        switch column.values {
        case .int64(let v), .timestamp(let v):
            var b: Int64? = nil
            switch (column.values, bound) {
            case (.int64, .int64(let x)?), (.timestamp, .timestamp(let x)?): b = x
            default: break
            }
            return v.withUnsafeBufferPointer { TopNCut.contenders($0, n: limit, descending: descending, bound: b) }
        case .float64(let v):
            // NaN has no place in `<`: such batches take the row-at-a-time path.
            guard !v.contains(where: \.isNaN) else { return nil }
            var b: Double? = nil
            if case .float64(let x)? = bound, !x.isNaN { b = x }
            return v.withUnsafeBufferPointer { TopNCut.contenders($0, n: limit, descending: descending, bound: b) }
        default:
            return nil
        }
    }

    /// The key of the N-th best row once N are held (rows not better than it are skipped).
    private(set) var threshold: [ScalarValue]? = nil

    private func compact(_ limit: Int) {
        candidates.sort { SortOrder.compare($0.keys, $1.keys, keys) < 0 }
        if candidates.count > limit { candidates.removeLast(candidates.count - limit) }
        threshold = candidates.count == limit ? candidates.last?.keys : nil
        bytes = candidates.reduce(0) { $0 + 32 * ($1.row.count + $1.keys.count) }
    }

    /// For time-ordered scans: once N rows are held, the N-th best key.
    var boundKey: ScalarValue? {
        guard let limit else { return nil }
        if candidates.count >= limit { compact(limit) }
        return threshold?.first
    }

    func finish() throws(QueryError) -> ColumnBatch {
        // A stable sort keeps arrival order among equal keys.
        let ordered = candidates.enumerated().sorted { a, b in
            let order = SortOrder.compare(a.element.keys, b.element.keys, keys)
            return order != 0 ? order < 0 : a.offset < b.offset
        }
        let rows = ordered.prefix(limit ?? ordered.count).map(\.element.row)
        return try rowSet.batch(Array(rows))
    }
}

/// `distinct`: streams each combination the first time it is seen.
final class DistinctOperator {
    let items: [NamedExpr]
    let memoryLimit: Int
    let now: Int64
    var seen = Set<[UInt8]>()
    var bytes = 0

    init(items: [NamedExpr], memoryLimit: Int, now: Int64) {
        self.items = items
        self.memoryLimit = memoryLimit
        self.now = now
    }

    func add(_ batch: ColumnBatch) throws(QueryError) -> ColumnBatch? {
        let input = EvaluationInput(batch: batch, rows: batch.selection, nowNanos: now)
        guard input.count > 0 else { return nil }
        var values: [Evaluated] = []
        for item in items { values.append(try ExpressionEvaluator.evaluate(item.expr, input)) }
        var fresh: [UInt32] = []
        var key: [UInt8] = []
        for i in 0..<input.count {
            key.removeAll(keepingCapacity: true)
            for value in values { KeyEncoding.append(value.value(at: i), to: &key) }
            if seen.insert(key).inserted {
                fresh.append(UInt32(i))
                bytes += key.count + 48
            }
        }
        if bytes > memoryLimit { throw .resourcesExhausted(resource: "distinct memory (bytes)", limit: memoryLimit, used: bytes) }
        guard !fresh.isEmpty else { return nil }
        var columns: [(String, Column)] = []
        for (item, value) in zip(items, values) { columns.append((item.name, value.materialised(count: input.count).gathered(fresh))) }
        return try BatchBuilding.batch(rowCount: fresh.count, columns: columns)
    }
}
