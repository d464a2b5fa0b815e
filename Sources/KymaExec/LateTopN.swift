// Late materialization for a plan whose pipeline starts with `top N by column`: a scan task
// reads the key column of a block alone, keeps the rows that can still enter its unit's N best
// (`TopNCut` against the N-th best key it has passed on so far), and reads the other columns of
// those rows only; a block with none decodes nothing else. The coordinator's top-N still ranks
// every unit's rows, so the answer is the same; only rows that cannot be in it are not read.

import KymaCore
import KymaFormat
import KymaPlan
import Synchronization

final class LateTopN: Sendable {
    let column: String
    let limit: Int
    let descending: Bool
    /// Key values passed on so far by every scan task of the query, best first, by the key
    /// column's kind (a bound only prunes its own kind). Any N rows passed on bound every other
    /// row, whichever task passed them.
    private struct Passed {
        var ints: [Int64] = []
        var times: [Int64] = []
        var doubles: [Double] = []
    }
    private let passed = Mutex(Passed())

    /// When the scan has no filter or streaming operators of its own and the pipeline starts
    /// with a bounded top-N whose first key is a column.
    init?(_ plan: PhysicalPlan, prefixLength: Int) {
        guard plan.scanFilter == nil, prefixLength == 0, case .top(let n, let keys)? = plan.pipeline.first,
              n > 0, n <= 1 << 16, case .column(let name)? = keys.first?.expr else { return nil }
        column = name
        limit = n
        descending = keys[0].descending
    }

    /// A block predicate true of every row not worse than the N-th best key passed on so far,
    /// for a column of `type`: blocks whose statistics rule it out need not be read at all.
    func blockPredicate(for type: DataType) -> BlockPredicate? {
        let limit = limit
        let bound: ScalarValue? = passed.withLock { state in
            switch type {
            case .int64: state.ints.count >= limit ? .int64(state.ints[limit - 1]) : nil
            case .timestamp: state.times.count >= limit ? .timestamp(state.times[limit - 1]) : nil
            case .float64: state.doubles.count >= limit ? .float64(state.doubles[limit - 1]) : nil
            default: nil
            }
        }
        return bound.map { .compare(column: column, descending ? .greaterOrEqual : .lessOrEqual, $0) }
    }

    /// Rows of `key` (a block's key column) that may enter the N best, ascending; nil when the
    /// column is not a null-free number or time column (the block is then read whole).
    func contenders(_ key: Column) -> [UInt32]? {
        guard key.validity == nil else { return nil }
        switch key.values {
        case .int64(let v): return cut(v, \.ints)
        case .timestamp(let v): return cut(v, \.times)
        case .float64(let v):
            guard !v.contains(where: \.isNaN) else { return nil }
            return cut(v, \.doubles)
        default: return nil
        }
    }

    private func cut<T: Comparable & Sendable>(_ values: [T], _ kind: WritableKeyPath<Passed, [T]>) -> [UInt32] {
        let limit = limit, descending = descending
        let bound: T? = passed.withLock { $0[keyPath: kind].count >= limit ? $0[keyPath: kind][limit - 1] : nil }
        let rows = values.withUnsafeBufferPointer { TopNCut.contenders($0, n: limit, descending: descending, bound: bound) }
        // Keep the N best keys passed on, best first: the N-th bounds the next block.
        let keys = rows.map { values[$0] }
        passed.withLock { state in
            state[keyPath: kind].append(contentsOf: keys)
            state[keyPath: kind].sort { descending ? $0 > $1 : $0 < $1 }
            if state[keyPath: kind].count > limit { state[keyPath: kind].removeLast(state[keyPath: kind].count - limit) }
        }
        return rows.map { UInt32($0) }
    }
}
