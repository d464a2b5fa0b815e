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

/// HyperLogLog (Flajolet et al.) with an exact sparse phase: a group keeps the set of its
/// values' 64-bit hashes until it would outgrow the registers, so small counts are exact. The
/// registers are a function of the set of hashes, so any split of the rows merges to the same.
final class DistinctCountAccumulator: Accumulator {
    let precision: Int
    var sparse: [Set<UInt64>] = []
    var registers: [[UInt8]?] = []
    var scratch: [UInt8] = []

    init(precision: Int) { self.precision = precision }

    var sparseLimit: Int { (1 << precision) / 8 }

    func grow(_ groupCount: Int) {
        sparse.grow(to: groupCount, with: [])
        registers.grow(to: groupCount, with: nil)
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        grow(groupCount)
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            scratch.removeAll(keepingCapacity: true)
            KeyEncoding.append(value, to: &scratch)
            insert(XXHash64.hash(scratch), into: Int(groups[i]))
        }
    }

    func insert(_ hash: UInt64, into g: Int) {
        if registers[g] != nil {
            add(hash, to: g)
        } else {
            sparse[g].insert(hash)
            if sparse[g].count > sparseLimit { densify(g) }
        }
    }

    func densify(_ g: Int) {
        registers[g] = [UInt8](repeating: 0, count: 1 << precision)
        for h in sparse[g] { add(h, to: g) }
        sparse[g] = []
    }

    func add(_ hash: UInt64, to g: Int) {
        let index = Int(hash >> UInt64(64 - precision))
        let rest = hash << UInt64(precision)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - precision) + 1)
        guard var regs = registers[g] else { return }
        registers[g] = nil  // keeps the array uniquely referenced while it changes
        if rank > regs[index] { regs[index] = rank }
        registers[g] = regs
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? DistinctCountAccumulator, other.precision == precision else { throw mismatch(other) }
        grow(groupCount)
        for g in other.sparse.indices {
            let target = Int(mapping[g])
            if let theirs = other.registers[g] {
                if registers[target] == nil { densify(target) }
                guard var regs = registers[target] else { continue }
                registers[target] = nil
                for k in regs.indices where theirs[k] > regs[k] { regs[k] = theirs[k] }
                registers[target] = regs
            } else {
                for h in other.sparse[g] { insert(h, into: target) }
            }
        }
    }

    func results(groupCount: Int) -> [Column] {
        var out: [Int64] = []
        for g in 0..<groupCount {
            guard g < sparse.count else { out.append(0); continue }
            guard let regs = registers[g] else { out.append(Int64(sparse[g].count)); continue }
            let m = Double(regs.count)
            let alpha = 0.7213 / (1 + 1.079 / m)
            var sum = 0.0
            var zeros = 0
            for r in regs {
                sum += 1 / Double(UInt64(1) << UInt64(r))
                if r == 0 { zeros += 1 }
            }
            var estimate = alpha * m * m / sum
            if estimate <= 2.5 * m, zeros > 0 { estimate = m * NaturalLog.ln(m / Double(zeros)) }  // linear counting
            out.append(Int64(estimate.rounded()))
        }
        return [Column(.int64(out))]
    }

    var estimatedBytes: Int {
        sparse.reduce(0) { $0 + $1.count * 16 } + registers.reduce(0) { $0 + ($1?.count ?? 0) }
    }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        writer.byte(UInt8(precision))
        for g in 0..<groupCount {
            if g < registers.count, let regs = registers[g] {
                writer.byte(1)
                writer.bytes(regs)
            } else {
                writer.byte(0)
                let hashes = g < sparse.count ? sparse[g].sorted() : []
                writer.uint32(UInt32(hashes.count))
                for h in hashes { writer.uint64(h) }
            }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        guard Int(try reader.byte()) == precision else { throw reader.corrupt("dcount precision differs") }
        sparse = []; registers = []
        for _ in 0..<groupCount {
            if try reader.byte() == 1 {
                let regs = try reader.bytes()
                guard regs.count == 1 << precision else { throw reader.corrupt("dcount registers") }
                sparse.append([])
                registers.append(regs)
            } else {
                let n = try reader.count(elementBytes: 8)
                var set = Set<UInt64>(minimumCapacity: n)
                for _ in 0..<n { set.insert(try reader.uint64()) }
                sparse.append(set)
                registers.append(nil)
            }
        }
    }
}

/// Natural logarithm without Foundation: ln x = 2 atanh((m - 1)/(m + 1)) + e ln 2 for
/// x = m 2^e, m in [1, 2), a fast-converging series.
public enum NaturalLog {
    public static func ln(_ x: Double) -> Double {
        guard x > 0 else { return -.infinity }
        guard x.isFinite else { return x }
        let exponent = Double(x.exponent)
        let mantissa = x.significand
        let y = (mantissa - 1) / (mantissa + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var k = 1.0
        while k < 60 {
            sum += term / k
            term *= y2
            k += 2
        }
        return 2 * sum + exponent * 0.693_147_180_559_945_3
    }
}

/// Exact quantiles over every non-null value of a group: nearest rank (Kusto `percentile`,
/// DuckDB `quantile_disc`) or linear interpolation (DuckDB `quantile_cont`).
final class QuantileAccumulator: Accumulator {
    enum Kind {
        case nearestRank(Double)
        case interpolated(Double, descending: Bool)
    }
    let kind: Kind
    var values: [[ScalarValue]] = []
    var total = 0

    init(kind: Kind) { self.kind = kind }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        values.grow(to: groupCount, with: [])
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            values[Int(groups[i])].append(value)
            total += 1
        }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? QuantileAccumulator else { throw mismatch(other) }
        values.grow(to: groupCount, with: [])
        for (g, theirs) in other.values.enumerated() { values[Int(mapping[g])] += theirs }
        total += other.total
    }

    func results(groupCount: Int) throws(QueryError) -> [Column] {
        var out: [ScalarValue] = []
        for g in 0..<groupCount {
            guard g < values.count, !values[g].isEmpty else { out.append(.null); continue }
            var sorted = values[g].sorted { (ScalarCompare.order($0, $1) ?? 0) < 0 }
            switch kind {
            case .nearestRank(let q):
                out.append(sorted[QuantileRank.nearest(count: sorted.count, fraction: q) - 1])
            case .interpolated(let q, let descending):
                if descending { sorted.reverse() }
                let position = Double(sorted.count - 1) * q
                let low = Int(position.rounded(.down)), high = Int(position.rounded(.up))
                let fraction = position - Double(low)
                switch (sorted[low], sorted[high]) {
                case (.timestamp(let a), .timestamp(let b)):
                    out.append(.timestamp(a &+ Int64((Double(b &- a) * fraction).rounded())))
                case (let a, let b):
                    guard let x = ScalarArithmetic.number(a), let y = ScalarArithmetic.number(b) else {
                        throw .type("quantile_cont() needs numbers or datetimes, got \(a)")
                    }
                    out.append(.float64(x + (y - x) * fraction))
                }
            }
        }
        return [ColumnFactory.column(out)]
    }

    var estimatedBytes: Int { total * 24 + values.count * 32 }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount {
            let list = g < values.count ? values[g] : []
            writer.uint32(UInt32(list.count))
            for value in list { writer.scalar(value) }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        values = []
        total = 0
        for _ in 0..<groupCount {
            let n = try reader.count(elementBytes: 1)
            var list: [ScalarValue] = []
            list.reserveCapacity(n)
            for _ in 0..<n { list.append(try reader.scalar()) }
            total += n
            values.append(list)
        }
    }
}

/// `arg_max(value, c1, c2...)`: the value and the named columns of the row where it is largest;
/// among equal values, the first row's.
final class ArgExtremeAccumulator: Accumulator {
    let wantMax: Bool
    let outputs: Int
    var best: [[ScalarValue]?] = []

    init(wantMax: Bool, outputs: Int) {
        self.wantMax = wantMax
        self.outputs = outputs
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        best.grow(to: groupCount, with: nil)
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            let g = Int(groups[i])
            if let current = best[g], !beats(value, current[0]) { continue }
            best[g] = arguments.map { $0.value(at: i) }
        }
    }

    /// Strictly better: ties keep the earlier row.
    func beats(_ value: ScalarValue, _ current: ScalarValue) -> Bool {
        guard let order = ScalarCompare.order(value, current) else { return false }
        return wantMax ? order > 0 : order < 0
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? ArgExtremeAccumulator else { throw mismatch(other) }
        best.grow(to: groupCount, with: nil)
        for (g, theirs) in other.best.enumerated() {
            guard let theirs else { continue }
            let target = Int(mapping[g])
            if let current = best[target], !beats(theirs[0], current[0]) { continue }
            best[target] = theirs
        }
    }

    func results(groupCount: Int) -> [Column] {
        (0..<outputs).map { k in
            ColumnFactory.column((0..<groupCount).map { g in g < best.count ? (best[g]?[k] ?? .null) : .null })
        }
    }

    var estimatedBytes: Int { best.count * (16 + outputs * 32) }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount {
            guard g < best.count, let row = best[g] else { writer.byte(0); continue }
            writer.byte(1)
            for value in row { writer.scalar(value) }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        best = []
        for _ in 0..<groupCount {
            if try reader.byte() == 0 { best.append(nil); continue }
            var row: [ScalarValue] = []
            for _ in 0..<outputs { row.append(try reader.scalar()) }
            best.append(row)
        }
    }
}

/// `make_set(value, limit)` (distinct non-null values, first-seen order) and `list(value)`
/// (every value, nulls included, in order), as JSON arrays.
final class ValueListAccumulator: Accumulator {
    let distinct: Bool
    let keepNulls: Bool
    let limit: Int
    var seen: [Set<[UInt8]>] = []
    var items: [[ScalarValue]] = []
    var bytes = 0
    var scratch: [UInt8] = []

    init(distinct: Bool, keepNulls: Bool, limit: Int) {
        self.distinct = distinct
        self.keepNulls = keepNulls
        self.limit = limit
    }

    func grow(_ groupCount: Int) {
        seen.grow(to: groupCount, with: [])
        items.grow(to: groupCount, with: [])
    }

    func add(_ value: ScalarValue, to g: Int) {
        guard keepNulls || value != .null, items[g].count < limit else { return }
        if distinct {
            scratch.removeAll(keepingCapacity: true)
            KeyEncoding.append(value, to: &scratch)
            guard seen[g].insert(scratch).inserted else { return }
            bytes += scratch.count
        }
        items[g].append(value)
        bytes += 32
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        grow(groupCount)
        for i in 0..<count { add(arguments[0].value(at: i), to: Int(groups[i])) }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? ValueListAccumulator else { throw mismatch(other) }
        grow(groupCount)
        for (g, theirs) in other.items.enumerated() {
            for value in theirs { add(value, to: Int(mapping[g])) }
        }
    }

    func results(groupCount: Int) -> [Column] {
        [ColumnFactory.column((0..<groupCount).map { g in
            .string(ListFunctions.render(g < items.count ? items[g] : []))
        })]
    }

    var estimatedBytes: Int { bytes }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount {
            let list = g < items.count ? items[g] : []
            writer.uint32(UInt32(list.count))
            for value in list { writer.scalar(value) }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        seen = []; items = []; bytes = 0
        grow(groupCount)
        for g in 0..<groupCount {
            let n = try reader.count(elementBytes: 1)
            for _ in 0..<n { add(try reader.scalar(), to: g) }
        }
    }
}

/// `f(DISTINCT x)`: each group's distinct argument tuples in first-seen order; the inner
/// aggregate runs over them when the result is asked for (so partials merge by union).
final class DistinctAccumulator: Accumulator {
    let inner: any Accumulator
    let arguments: Int
    var seen: [Set<[UInt8]>] = []
    var tuples: [[[ScalarValue]]] = []
    var bytes = 0
    var scratch: [UInt8] = []

    init(inner: any Accumulator, arguments: Int) {
        self.inner = inner
        self.arguments = arguments
    }

    func grow(_ groupCount: Int) {
        seen.grow(to: groupCount, with: [])
        tuples.grow(to: groupCount, with: [])
    }

    func add(_ tuple: [ScalarValue], to g: Int) {
        scratch.removeAll(keepingCapacity: true)
        for value in tuple { KeyEncoding.append(value, to: &scratch) }
        guard seen[g].insert(scratch).inserted else { return }
        tuples[g].append(tuple)
        bytes += scratch.count * 2 + 32 * tuple.count
    }

    func update(groups: [Int32], groupCount: Int, arguments values: [Evaluated], count: Int) throws(QueryError) {
        grow(groupCount)
        for i in 0..<count { add(values.map { $0.value(at: i) }, to: Int(groups[i])) }
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? DistinctAccumulator else { throw mismatch(other) }
        grow(groupCount)
        for (g, theirs) in other.tuples.enumerated() {
            for tuple in theirs { add(tuple, to: Int(mapping[g])) }
        }
    }

    func results(groupCount: Int) throws(QueryError) -> [Column] {
        grow(groupCount)
        var groups: [Int32] = []
        var columns = [[ScalarValue]](repeating: [], count: arguments)
        for g in 0..<groupCount {
            for tuple in tuples[g] {
                groups.append(Int32(g))
                for k in 0..<arguments { columns[k].append(tuple[k]) }
            }
        }
        let evaluated = columns.map { Evaluated.column(ColumnFactory.column($0)) }
        if !groups.isEmpty { try inner.update(groups: groups, groupCount: groupCount, arguments: evaluated, count: groups.count) }
        return try inner.results(groupCount: groupCount)
    }

    var estimatedBytes: Int { bytes }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        for g in 0..<groupCount {
            let list = g < tuples.count ? tuples[g] : []
            writer.uint32(UInt32(list.count))
            for tuple in list { for value in tuple { writer.scalar(value) } }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        seen = []; tuples = []; bytes = 0
        grow(groupCount)
        for g in 0..<groupCount {
            let n = try reader.count(elementBytes: max(1, arguments))
            for _ in 0..<n {
                var tuple: [ScalarValue] = []
                for _ in 0..<arguments { tuple.append(try reader.scalar()) }
                add(tuple, to: g)
            }
        }
    }
}
