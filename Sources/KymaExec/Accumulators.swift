// The state of each aggregate function across groups, with the two-phase contract: a partial
// state built on one part of the rows merges into another (`merge`), and travels as bytes
// (`encode` / `decode`, AggregateState.swift), so scans of separate units — on separate tasks
// today, separate nodes later — aggregate on their own and combine after. Merging the partials
// of any split of the rows, in the rows' order, gives the one-pass answer (tested by property).

import KymaCore
import KymaIndex
import KymaPlan

/// The state of one aggregate across groups (group ids are dense, 0..<groupCount).
protocol Accumulator: AnyObject {
    /// Folds `count` rows (argument values per row) into their groups.
    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError)
    /// Folds `other`'s state (of the same aggregate) in: its group g is this one's `mapping[g]`.
    /// `other` holds rows that come after this one's.
    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError)
    /// One column per output name, a row per group.
    func results(groupCount: Int) throws(QueryError) -> [Column]
    var estimatedBytes: Int { get }
    /// The state of groups 0..<groupCount, in the stable encoding.
    func encode(groupCount: Int, into writer: inout StateWriter)
    /// Reads the state `encode` wrote (into a fresh accumulator).
    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError)
}

enum Accumulators {
    static func make(_ aggregate: Aggregate) -> any Accumulator {
        let inner = makeInner(aggregate)
        return aggregate.distinct ? DistinctAccumulator(inner: inner, arguments: aggregate.arguments.count) : inner
    }

    static func makeInner(_ aggregate: Aggregate) -> any Accumulator {
        switch aggregate.function {
        case .count: CountAccumulator(mode: aggregate.arguments.isEmpty ? .rows : .nonNull)
        case .countIf: CountAccumulator(mode: .conditional)
        case .sum: SumAccumulator(average: false)
        case .avg: SumAccumulator(average: true)
        case .min: ExtremeAccumulator(wantMax: false)
        case .max: ExtremeAccumulator(wantMax: true)
        case .dcount(let precision): DistinctCountAccumulator(precision: precision)
        case .percentile(let p): QuantileAccumulator(kind: .nearestRank(p / 100))
        case .quantileDiscrete(let q): QuantileAccumulator(kind: .nearestRank(q))
        case .quantileContinuous(let q): QuantileAccumulator(kind: .interpolated(q, descending: false))
        case .quantileContinuousDescending(let q): QuantileAccumulator(kind: .interpolated(q, descending: true))
        case .argMax: ArgExtremeAccumulator(wantMax: true, outputs: aggregate.arguments.count)
        case .argMin: ArgExtremeAccumulator(wantMax: false, outputs: aggregate.arguments.count)
        case .makeSet(let limit): ValueListAccumulator(distinct: true, keepNulls: false, limit: limit)
        case .list: ValueListAccumulator(distinct: false, keepNulls: true, limit: .max)
        }
    }
}

extension Array {
    /// Grows to `count` elements with `value`.
    mutating func grow(to count: Int, with value: Element) {
        if self.count < count { append(contentsOf: repeatElement(value, count: count - self.count)) }
    }
}

func mismatch(_ other: any Accumulator) -> QueryError {
    .internalError("merging aggregate states of different functions (\(type(of: other)))")
}

final class CountAccumulator: Accumulator {
    enum Mode: UInt8 { case rows = 0, nonNull = 1, conditional = 2 }
    let mode: Mode
    var counts: [Int64] = []

    init(mode: Mode) { self.mode = mode }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        counts.grow(to: groupCount, with: 0)
        switch mode {
        case .rows: Self.histogram(groups, into: &counts)
        case .nonNull: for i in 0..<count where arguments[0].value(at: i) != .null { counts[Int(groups[i])] += 1 }
        case .conditional: for i in 0..<count where arguments[0].value(at: i) == .bool(true) { counts[Int(groups[i])] += 1 }
        }
    }

    /// Adds one per id to `counts[id]`. With few groups, consecutive rows hit the same counter
    /// and each increment waits for the last one's store: four lanes of counters break the
    /// chain, summed at the end.
    static func histogram(_ groups: [Int32], into counts: inout [Int64]) {
        let n = counts.count
        guard n <= 4096, groups.count >= 256 else {
            counts.withUnsafeMutableBufferPointer { counts in for g in groups { counts[Int(g)] += 1 } }
            return
        }
        var lanes = [Int64](repeating: 0, count: 4 * n)
        lanes.withUnsafeMutableBufferPointer { lanes in
            groups.withUnsafeBufferPointer { ids in
                var i = 0
                while i + 4 <= ids.count {
                    lanes[Int(ids[i])] += 1
                    lanes[n + Int(ids[i + 1])] += 1
                    lanes[2 * n + Int(ids[i + 2])] += 1
                    lanes[3 * n + Int(ids[i + 3])] += 1
                    i += 4
                }
                while i < ids.count {
                    lanes[Int(ids[i])] += 1
                    i += 1
                }
            }
        }
        for g in 0..<n { counts[g] += lanes[g] + lanes[n + g] + lanes[2 * n + g] + lanes[3 * n + g] }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? CountAccumulator else { throw mismatch(other) }
        counts.grow(to: groupCount, with: 0)
        for (g, n) in other.counts.enumerated() { counts[Int(mapping[g])] += n }
    }

    func results(groupCount: Int) -> [Column] {
        [Column(.int64(counts + repeatElement(0, count: max(0, groupCount - counts.count))))]
    }

    var estimatedBytes: Int { counts.count * 8 }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount { writer.int64(g < counts.count ? counts[g] : 0) }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        counts = []
        for _ in 0..<groupCount { counts.append(try reader.int64()) }
    }
}

/// `sum` and `avg`: integer sums stay exact (wrapping like Kusto's long) until a float appears.
final class SumAccumulator: Accumulator {
    let average: Bool
    var intSums: [Int64] = []
    var doubleSums: [Double] = []
    var counts: [Int64] = []
    var sawDouble = false

    init(average: Bool) { self.average = average }

    func grow(_ groupCount: Int) {
        intSums.grow(to: groupCount, with: 0)
        doubleSums.grow(to: groupCount, with: 0)
        counts.grow(to: groupCount, with: 0)
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        grow(groupCount)
        if case .column(let column) = arguments[0].storage, column.validity == nil {
            switch column.values {
            case .int64(let values):
                intSums.withUnsafeMutableBufferPointer { intSums in
                    doubleSums.withUnsafeMutableBufferPointer { doubleSums in
                        counts.withUnsafeMutableBufferPointer { counts in
                            for i in 0..<count {
                                let g = Int(groups[i])
                                intSums[g] &+= values[i]
                                doubleSums[g] += Double(values[i])
                                counts[g] += 1
                            }
                        }
                    }
                }
                return
            case .float64(let values):
                sawDouble = true
                doubleSums.withUnsafeMutableBufferPointer { doubleSums in
                    counts.withUnsafeMutableBufferPointer { counts in
                        for i in 0..<count {
                            let g = Int(groups[i])
                            doubleSums[g] += values[i]
                            counts[g] += 1
                        }
                    }
                }
                return
            default: break
            }
        }
        for i in 0..<count {
            let g = Int(groups[i])
            switch arguments[0].value(at: i) {
            case .null: continue
            case .int64(let v):
                intSums[g] &+= v
                doubleSums[g] += Double(v)
            case .float64(let v):
                sawDouble = true
                doubleSums[g] += v
            case .bool(let b):
                intSums[g] += b ? 1 : 0
                doubleSums[g] += b ? 1 : 0
            case let other:
                throw .type("\(average ? "avg" : "sum")() needs numbers, got \(other)")
            }
            counts[g] += 1
        }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? SumAccumulator else { throw mismatch(other) }
        grow(groupCount)
        sawDouble = sawDouble || other.sawDouble
        for g in other.counts.indices {
            let target = Int(mapping[g])
            intSums[target] &+= other.intSums[g]
            doubleSums[target] += other.doubleSums[g]
            counts[target] += other.counts[g]
        }
    }

    func results(groupCount: Int) -> [Column] {
        var values: [ScalarValue] = []
        for g in 0..<groupCount {
            guard g < counts.count, counts[g] > 0 else {
                values.append(.null)
                continue
            }
            if average {
                values.append(.float64(doubleSums[g] / Double(counts[g])))
            } else {
                values.append(sawDouble ? .float64(doubleSums[g]) : .int64(intSums[g]))
            }
        }
        return [ColumnFactory.column(values)]
    }

    var estimatedBytes: Int { counts.count * 24 }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        writer.byte(sawDouble ? 1 : 0)
        for g in 0..<groupCount {
            let present = g < counts.count
            writer.int64(present ? intSums[g] : 0)
            writer.double(present ? doubleSums[g] : 0)
            writer.int64(present ? counts[g] : 0)
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        sawDouble = try reader.byte() != 0
        intSums = []; doubleSums = []; counts = []
        for _ in 0..<groupCount {
            intSums.append(try reader.int64())
            doubleSums.append(try reader.double())
            counts.append(try reader.int64())
        }
    }
}

final class ExtremeAccumulator: Accumulator {
    let wantMax: Bool
    var best: [ScalarValue] = []

    init(wantMax: Bool) { self.wantMax = wantMax }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        best.grow(to: groupCount, with: .null)
        if case .column(let column) = arguments[0].storage, column.validity == nil {
            switch column.values {
            case .int64(let values), .timestamp(let values):
                let isTime: Bool
                if case .timestamp = column.values { isTime = true } else { isTime = false }
                for i in 0..<count {
                    let g = Int(groups[i])
                    let v = values[i]
                    switch best[g] {
                    case .int64(let b), .timestamp(let b): if wantMax ? v > b : v < b { best[g] = isTime ? .timestamp(v) : .int64(v) }
                    case .null: best[g] = isTime ? .timestamp(v) : .int64(v)
                    default: try fold(g, isTime ? .timestamp(v) : .int64(v))
                    }
                }
                return
            default: break
            }
        }
        for i in 0..<count { try fold(Int(groups[i]), arguments[0].value(at: i)) }
    }

    func fold(_ g: Int, _ value: ScalarValue) throws(QueryError) {
        guard value != .null else { return }
        if best[g] == .null { best[g] = value; return }
        guard let order = ScalarCompare.order(value, best[g]) else {
            throw .type("\(wantMax ? "max" : "min")() over values that do not compare: \(value), \(best[g])")
        }
        if wantMax ? order > 0 : order < 0 { best[g] = value }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? ExtremeAccumulator else { throw mismatch(other) }
        best.grow(to: groupCount, with: .null)
        for (g, value) in other.best.enumerated() { try fold(Int(mapping[g]), value) }
    }

    func results(groupCount: Int) -> [Column] {
        [ColumnFactory.column((0..<groupCount).map { $0 < best.count ? best[$0] : .null })]
    }

    var estimatedBytes: Int { best.count * 32 }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount { writer.scalar(g < best.count ? best[g] : .null) }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        best = []
        for _ in 0..<groupCount { best.append(try reader.scalar()) }
    }
}
