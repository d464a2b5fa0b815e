// Aggregates that keep values of rows: exact quantiles, arg_max/arg_min, make_set and list, and
// DISTINCT over any aggregate.

import KymaCore
import KymaIndex
import KymaPlan

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
