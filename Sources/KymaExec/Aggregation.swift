// Hash aggregation: group keys encoded to bytes and interned into dense group ids, then one
// accumulator per aggregate updated with a batch's group ids at a time. Memory is bounded: the
// estimate is checked after every batch against the query's budget (`resourcesExhausted`).

import KymaCore
import KymaIndex
import KymaPlan

/// Appends a canonical byte encoding of values to a key buffer: equal values (across int/float
/// when the float is integral) give equal bytes.
enum KeyEncoding {
    static func append(_ value: ScalarValue, to key: inout [UInt8]) {
        func int(_ tag: UInt8, _ v: Int64) {
            key.append(tag)
            withUnsafeBytes(of: v.littleEndian) { key.append(contentsOf: $0) }
        }
        switch value {
        case .null: key.append(0)
        case .bool(let b): key.append(b ? 2 : 1)
        case .int64(let v): int(3, v)
        case .float64(let v):
            if v == v.rounded(), abs(v) < 9e18 { int(3, Int64(v)) } else {
                key.append(4)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { key.append(contentsOf: $0) }
            }
        case .timestamp(let v): int(5, v)
        case .string(let s):
            key.append(6)
            withUnsafeBytes(of: Int32(s.utf8.count).littleEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: s.utf8)
        case .binary(let b):
            key.append(7)
            withUnsafeBytes(of: Int32(b.count).littleEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: b)
        }
    }
}

/// Interns byte strings into dense ids with open addressing: keys live in one arena, slots hold
/// (hash, id), so a lookup is one hash over the bytes and usually one comparison (Swift's
/// Dictionary over [UInt8] spent most of a grouped scan in its generic hasher).
struct ByteKeyTable {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    private var slotHashes: [UInt64]
    private var slotIDs: [Int32]
    private var mask: Int

    init() {
        slotHashes = [UInt64](repeating: 0, count: 64)
        slotIDs = [Int32](repeating: -1, count: 64)
        mask = 63
    }

    var count: Int { starts.count - 1 }

    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        if let base = key.baseAddress {
            while i + 8 <= key.count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                h = (h ^ word) &* 0x0000_0100_0000_01B3
                h ^= h >> 29
                i += 8
            }
        }
        while i < key.count {
            h = (h ^ UInt64(key[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The id of `key`, and whether it was inserted now.
    mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> (Int32, Bool) {
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = slotIDs[slot]
            if id < 0 { break }
            if slotHashes[slot] == h {
                let start = starts[Int(id)], end = starts[Int(id) + 1]
                if end - start == key.count, arena.withUnsafeBufferPointer({ a in memcmpEqual(a, start, key) }) { return (id, false) }
            }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        slotHashes[slot] = h
        slotIDs[slot] = id
        if count * 2 > mask { grow() }
        return (id, true)
    }

    private func memcmpEqual(_ a: UnsafeBufferPointer<UInt8>, _ start: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        for k in 0..<key.count where a[start + k] != key[k] { return false }
        return true
    }

    private mutating func grow() {
        let newSize = (mask + 1) * 2
        var hashes = [UInt64](repeating: 0, count: newSize)
        var ids = [Int32](repeating: -1, count: newSize)
        for slot in 0...mask where slotIDs[slot] >= 0 {
            var s = Int(truncatingIfNeeded: slotHashes[slot]) & (newSize - 1)
            while ids[s] >= 0 { s = (s + 1) & (newSize - 1) }
            hashes[s] = slotHashes[slot]
            ids[s] = slotIDs[slot]
        }
        slotHashes = hashes
        slotIDs = ids
        mask = newSize - 1
    }

    var bytes: Int { arena.count + starts.count * 8 + slotIDs.count * 12 }
}

/// Interns rows of key columns into dense ids (0, 1, 2... in first-seen order).
struct GroupTable {
    private var table = ByteKeyTable()
    private(set) var keys: [[ScalarValue]] = []
    private(set) var keyBytes = 0
    private var scratch: [UInt8] = []

    var count: Int { keys.count }

    /// Group ids of `count` rows of the key values.
    mutating func ids(for keyValues: [Evaluated], count: Int) -> [Int32] {
        if keyValues.isEmpty {
            if keys.isEmpty { keys.append([]) }
            return [Int32](repeating: 0, count: count)
        }
        var out = [Int32](repeating: 0, count: count)
        // One non-null int64 key column: encoded without going through ScalarValue.
        if keyValues.count == 1, case .column(let column) = keyValues[0].storage, column.validity == nil, case .int64(let values) = column.values {
            for i in 0..<count {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(3)
                withUnsafeBytes(of: values[i].littleEndian) { scratch.append(contentsOf: $0) }
                let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
                out[i] = id
                if inserted {
                    keys.append([.int64(values[i])])
                    keyBytes += 64
                }
            }
            return out
        }
        // A single string column: encode straight from its bytes.
        if keyValues.count == 1, case .column(let column) = keyValues[0].storage, case .string(let offsets, let bytes) = column.values {
            for i in 0..<count {
                scratch.removeAll(keepingCapacity: true)
                if column.isNull(i) { scratch.append(0) } else {
                    scratch.append(6)
                    withUnsafeBytes(of: (offsets[i + 1] - offsets[i]).littleEndian) { scratch.append(contentsOf: $0) }
                    scratch.append(contentsOf: bytes[Int(offsets[i])..<Int(offsets[i + 1])])
                }
                let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
                out[i] = id
                if inserted {
                    keys.append([column.value(at: i)])
                    keyBytes += scratch.count + 48
                }
            }
            return out
        }
        for i in 0..<count {
            scratch.removeAll(keepingCapacity: true)
            for key in keyValues { KeyEncoding.append(key.value(at: i), to: &scratch) }
            let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
            out[i] = id
            if inserted {
                keys.append(keyValues.map { $0.value(at: i) })
                keyBytes += scratch.count + 48 * keyValues.count
            }
        }
        return out
    }
}

/// The state of one aggregate across groups.
protocol Accumulator: AnyObject {
    /// Folds `count` rows (argument values per row) into their groups.
    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError)
    /// One column per output name, a row per group.
    func results(groupCount: Int) -> [Column]
    var estimatedBytes: Int { get }
}

enum Accumulators {
    static func make(_ aggregate: Aggregate) -> any Accumulator {
        switch aggregate.function {
        case .count: CountAccumulator(conditional: false)
        case .countIf: CountAccumulator(conditional: true)
        case .sum: SumAccumulator(average: false)
        case .avg: SumAccumulator(average: true)
        case .min: ExtremeAccumulator(wantMax: false)
        case .max: ExtremeAccumulator(wantMax: true)
        case .dcount(let precision): DistinctCountAccumulator(precision: precision)
        case .percentile(let p): PercentileAccumulator(percentile: p)
        case .argMax: ArgExtremeAccumulator(wantMax: true, outputs: aggregate.arguments.count)
        case .argMin: ArgExtremeAccumulator(wantMax: false, outputs: aggregate.arguments.count)
        case .makeSet(let limit): MakeSetAccumulator(limit: limit)
        }
    }
}

final class CountAccumulator: Accumulator {
    let conditional: Bool
    var counts: [Int64] = []

    init(conditional: Bool) { self.conditional = conditional }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if counts.count < groupCount { counts.append(contentsOf: repeatElement(0, count: groupCount - counts.count)) }
        if conditional {
            for i in 0..<count where arguments[0].value(at: i) == .bool(true) { counts[Int(groups[i])] += 1 }
        } else {
            for g in groups { counts[Int(g)] += 1 }
        }
    }

    func results(groupCount: Int) -> [Column] {
        [Column(.int64(counts + repeatElement(0, count: max(0, groupCount - counts.count))))]
    }

    var estimatedBytes: Int { counts.count * 8 }
}

/// `sum` and `avg`: integer sums stay exact (wrapping like Kusto's long) until a float appears.
final class SumAccumulator: Accumulator {
    let average: Bool
    var intSums: [Int64] = []
    var doubleSums: [Double] = []
    var counts: [Int64] = []
    var sawDouble = false

    init(average: Bool) { self.average = average }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        let grow = groupCount - counts.count
        if grow > 0 {
            intSums.append(contentsOf: repeatElement(0, count: grow))
            doubleSums.append(contentsOf: repeatElement(0, count: grow))
            counts.append(contentsOf: repeatElement(0, count: grow))
        }
        if case .column(let column) = arguments[0].storage, column.validity == nil {
            switch column.values {
            case .int64(let values):
                for i in 0..<count {
                    let g = Int(groups[i])
                    intSums[g] &+= values[i]
                    doubleSums[g] += Double(values[i])
                    counts[g] += 1
                }
                return
            case .float64(let values):
                sawDouble = true
                for i in 0..<count {
                    let g = Int(groups[i])
                    doubleSums[g] += values[i]
                    counts[g] += 1
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
}

final class ExtremeAccumulator: Accumulator {
    let wantMax: Bool
    var best: [ScalarValue] = []

    init(wantMax: Bool) { self.wantMax = wantMax }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if best.count < groupCount { best.append(contentsOf: repeatElement(.null, count: groupCount - best.count)) }
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

    func results(groupCount: Int) -> [Column] {
        [ColumnFactory.column((0..<groupCount).map { $0 < best.count ? best[$0] : .null })]
    }

    var estimatedBytes: Int { best.count * 32 }
}

/// HyperLogLog (Flajolet et al.) with an exact sparse phase: a group keeps the set of its
/// values' 64-bit hashes until it would outgrow the registers, so small counts are exact.
final class DistinctCountAccumulator: Accumulator {
    let precision: Int
    var sparse: [Set<UInt64>] = []
    var registers: [[UInt8]?] = []
    var scratch: [UInt8] = []

    init(precision: Int) { self.precision = precision }

    var sparseLimit: Int { (1 << precision) / 8 }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if sparse.count < groupCount {
            sparse.append(contentsOf: repeatElement([], count: groupCount - sparse.count))
            registers.append(contentsOf: repeatElement(nil, count: groupCount - registers.count))
        }
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            scratch.removeAll(keepingCapacity: true)
            KeyEncoding.append(value, to: &scratch)
            let hash = XXHash64.hash(scratch)
            let g = Int(groups[i])
            if registers[g] != nil {
                add(hash, to: g)
            } else {
                sparse[g].insert(hash)
                if sparse[g].count > sparseLimit {
                    registers[g] = [UInt8](repeating: 0, count: 1 << precision)
                    for h in sparse[g] { add(h, to: g) }
                    sparse[g] = []
                }
            }
        }
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
            if estimate <= 2.5 * m, zeros > 0 { estimate = m * (m / Double(zeros)).log }  // linear counting
            out.append(Int64(estimate.rounded()))
        }
        return [Column(.int64(out))]
    }

    var estimatedBytes: Int {
        sparse.reduce(0) { $0 + $1.count * 16 } + registers.reduce(0) { $0 + ($1?.count ?? 0) }
    }
}

extension Double {
    var log: Double { NaturalLog.ln(self) }
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

/// Exact nearest-rank percentile: the value at rank ceil(p/100 * n) of the sorted values.
final class PercentileAccumulator: Accumulator {
    let percentile: Double
    var values: [[ScalarValue]] = []
    var total = 0

    init(percentile: Double) { self.percentile = percentile }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if values.count < groupCount { values.append(contentsOf: repeatElement([], count: groupCount - values.count)) }
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            values[Int(groups[i])].append(value)
            total += 1
        }
    }

    func results(groupCount: Int) -> [Column] {
        var out: [ScalarValue] = []
        for g in 0..<groupCount {
            guard g < values.count, !values[g].isEmpty else { out.append(.null); continue }
            let sorted = values[g].sorted { (ScalarCompare.order($0, $1) ?? 0) < 0 }
            let rank = Int((percentile / 100 * Double(sorted.count)).rounded(.up))
            out.append(sorted[max(0, min(sorted.count - 1, rank - 1))])
        }
        return [ColumnFactory.column(out)]
    }

    var estimatedBytes: Int { total * 24 + values.count * 32 }
}

/// `arg_max(value, c1, c2...)`: the value and the named columns of the row where it is largest.
final class ArgExtremeAccumulator: Accumulator {
    let wantMax: Bool
    let outputs: Int
    var best: [[ScalarValue]?] = []

    init(wantMax: Bool, outputs: Int) {
        self.wantMax = wantMax
        self.outputs = outputs
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if best.count < groupCount { best.append(contentsOf: repeatElement(nil, count: groupCount - best.count)) }
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            let g = Int(groups[i])
            if let current = best[g] {
                guard let order = ScalarCompare.order(value, current[0]) else { continue }
                if wantMax ? order <= 0 : order >= 0 { continue }
            }
            best[g] = arguments.map { $0.value(at: i) }
        }
    }

    func results(groupCount: Int) -> [Column] {
        (0..<outputs).map { k in
            ColumnFactory.column((0..<groupCount).map { g in g < best.count ? (best[g]?[k] ?? .null) : .null })
        }
    }

    var estimatedBytes: Int { best.count * (16 + outputs * 32) }
}

/// `make_set(value, limit)`: distinct non-null values in first-seen order, as a JSON array.
final class MakeSetAccumulator: Accumulator {
    let limit: Int
    var seen: [Set<[UInt8]>] = []
    var items: [[ScalarValue]] = []
    var bytes = 0
    var scratch: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        if seen.count < groupCount {
            seen.append(contentsOf: repeatElement([], count: groupCount - seen.count))
            items.append(contentsOf: repeatElement([], count: groupCount - items.count))
        }
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            let g = Int(groups[i])
            guard value != .null, items[g].count < limit else { continue }
            scratch.removeAll(keepingCapacity: true)
            KeyEncoding.append(value, to: &scratch)
            if seen[g].insert(scratch).inserted {
                items[g].append(value)
                bytes += scratch.count * 2 + 32
            }
        }
    }

    func results(groupCount: Int) -> [Column] {
        [ColumnFactory.column((0..<groupCount).map { g in
            .string("[" + (g < items.count ? items[g] : []).map(JSONValue.render).joined(separator: ",") + "]")
        })]
    }

    var estimatedBytes: Int { bytes }
}

/// JSON text of a scalar (timestamps as RFC 3339 strings).
public enum JSONValue {
    public static func render(_ value: ScalarValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let v): v ? "true" : "false"
        case .int64(let v): String(v)
        case .float64(let v): v.isFinite ? NumberText.real(v) : "null"
        case .timestamp(let v): JSONText.quote(TimeText.rfc3339(v))
        case .string(let v): JSONText.quote(v)
        case .binary(let v): JSONText.quote(v.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }
}

/// The hash aggregate operator: feed batches, then take the result batch.
final class HashAggregator {
    let keys: [NamedExpr]
    let aggregates: [Aggregate]
    let accumulators: [any Accumulator]
    var groups = GroupTable()
    let memoryLimit: Int
    let now: Int64

    init(keys: [NamedExpr], aggregates: [Aggregate], memoryLimit: Int, now: Int64) {
        self.keys = keys
        self.aggregates = aggregates
        self.accumulators = aggregates.map(Accumulators.make)
        self.memoryLimit = memoryLimit
        self.now = now
    }

    func add(_ batch: ColumnBatch) throws(QueryError) {
        let input = EvaluationInput(batch: batch, rows: batch.selection, nowNanos: now)
        guard input.count > 0 else { return }
        var keyValues: [Evaluated] = []
        for key in keys { keyValues.append(try ExpressionEvaluator.evaluate(key.expr, input)) }
        let ids = groups.ids(for: keyValues, count: input.count)
        for (aggregate, accumulator) in zip(aggregates, accumulators) {
            var arguments: [Evaluated] = []
            for argument in aggregate.arguments { arguments.append(try ExpressionEvaluator.evaluate(argument, input)) }
            try accumulator.update(groups: ids, groupCount: groups.count, arguments: arguments, count: input.count)
        }
        let used = groups.keyBytes + accumulators.reduce(0) { $0 + $1.estimatedBytes }
        if used > memoryLimit { throw .resourcesExhausted(resource: "aggregation memory (bytes)", limit: memoryLimit, used: used) }
    }

    func finish() throws(QueryError) -> ColumnBatch {
        // Kusto: an aggregation without keys returns one row even over no input.
        let groupCount = keys.isEmpty ? 1 : groups.count
        var columns: [(String, Column)] = []
        for (k, key) in keys.enumerated() {
            columns.append((key.name, ColumnFactory.column(groups.keys.map { $0[k] })))
        }
        for (aggregate, accumulator) in zip(aggregates, accumulators) {
            for (name, column) in zip(aggregate.outputNames, accumulator.results(groupCount: groupCount)) {
                columns.append((name, column))
            }
        }
        return try BatchBuilding.batch(rowCount: groupCount, columns: columns)
    }
}

enum BatchBuilding {
    /// A batch from columns; a repeated name keeps the last column (Kusto's replace semantics).
    static func batch(rowCount: Int, columns: [(String, Column)]) throws(QueryError) -> ColumnBatch {
        var unique: [(String, Column)] = []
        for (name, column) in columns {
            if let index = unique.firstIndex(where: { $0.0 == name }) { unique[index] = (name, column) } else { unique.append((name, column)) }
        }
        do {
            return try ColumnBatch(rowCount: rowCount, columns: unique)
        } catch {
            throw .semantic("internal: \(error)")
        }
    }
}
