// Two-phase aggregation, by property: for random rows and every aggregate, cutting the rows
// anywhere into parts, aggregating each part on its own, passing each partial state through
// its byte encoding and merging the parts in order gives exactly the one-pass answer.

import KymaCore
import KymaPlan
import KymaTestSupport
import Testing

@testable import KymaExec

@Suite struct TwoPhaseAggregationTests {
    /// Rows with nulls, ties, repeated keys and every value type. Reals are multiples of 1/4 of
    /// small magnitude, so their sums are exact in any order (the property is about merging, not
    /// about the non-associativity of floating-point addition; `floatSumsAgreeClosely` covers that).
    static func rows(_ g: inout SplitMix64, count: Int) throws -> ColumnBatch {
        var key = ColumnBuilder(.string), k2 = ColumnBuilder(.int64), i = ColumnBuilder(.int64), r = ColumnBuilder(.float64)
        var s = ColumnBuilder(.string), t = ColumnBuilder(.timestamp), b = ColumnBuilder(.bool)
        for _ in 0..<count {
            try key.append(g.next() % 7 == 0 ? .null : .string(["a", "b", "c", "d"][Int(g.next() % 4)]))
            try k2.append(.int64(Int64(g.next() % 3)))
            try i.append(g.next() % 5 == 0 ? .null : .int64(Int64(g.next() % 50) - 20))
            try r.append(g.next() % 6 == 0 ? .null : .float64(Double(Int64(g.next() % 400) - 200) / 4))
            try s.append(g.next() % 8 == 0 ? .null : .string("v\(g.next() % 30)"))
            try t.append(.timestamp(1_700_000_000_000_000_000 + Int64(g.next() % 1000) * 1_000_000_000))
            try b.append(g.next() % 9 == 0 ? .null : .bool(g.next() % 2 == 0))
        }
        return try ColumnBatch(rowCount: count, columns: [("key", key.finish()), ("k2", k2.finish()), ("i", i.finish()), ("r", r.finish()),
                                                          ("s", s.finish()), ("t", t.finish()), ("b", b.finish())])
    }

    /// One aggregate of every function, with DISTINCT and FILTER variants.
    static let aggregates: [Aggregate] = [
        Aggregate(.count, [], outputNames: ["count"]),
        Aggregate(.count, [.column("i")], outputNames: ["count_i"]),
        Aggregate(.countIf, [.compare(.greater, .column("i"), .literal(.int64(0)))], outputNames: ["countif"]),
        Aggregate(.sum, [.column("i")], outputNames: ["sum_i"]),
        Aggregate(.sum, [.column("r")], outputNames: ["sum_r"]),
        Aggregate(.avg, [.column("i")], outputNames: ["avg_i"]),
        Aggregate(.avg, [.column("r")], outputNames: ["avg_r"]),
        Aggregate(.min, [.column("s")], outputNames: ["min_s"]),
        Aggregate(.max, [.column("t")], outputNames: ["max_t"]),
        Aggregate(.max, [.column("r")], outputNames: ["max_r"]),
        Aggregate(.dcount(precision: 12), [.column("s")], outputNames: ["dcount_s"]),
        Aggregate(.dcount(precision: 4), [.column("i")], outputNames: ["dcount_i_dense"]),
        Aggregate(.percentile(90), [.column("i")], outputNames: ["p90"]),
        Aggregate(.quantileDiscrete(0.3), [.column("r")], outputNames: ["qd"]),
        Aggregate(.quantileContinuous(0.75), [.column("r")], outputNames: ["qc"]),
        Aggregate(.quantileContinuous(0.5), [.column("t")], outputNames: ["qc_t"]),
        Aggregate(.argMax, [.column("i"), .column("s"), .column("t")], outputNames: ["amax_i", "amax_s", "amax_t"]),
        Aggregate(.argMin, [.column("r"), .column("key")], outputNames: ["amin_r", "amin_key"]),
        Aggregate(.makeSet(limit: 5), [.column("s")], outputNames: ["set_s"]),
        Aggregate(.list, [.column("b")], outputNames: ["list_b"]),
        Aggregate(.count, [.column("s")], outputNames: ["count_distinct_s"], distinct: true),
        Aggregate(.sum, [.column("i")], outputNames: ["sum_distinct_i"], distinct: true),
        Aggregate(.list, [.column("i")], outputNames: ["list_distinct_i"], distinct: true),
        Aggregate(.avg, [.column("r")], outputNames: ["avg_filtered"], filter: .compare(.greater, .column("i"), .literal(.int64(5)))),
        Aggregate(.argMax, [.column("r"), .column("s")], outputNames: ["famax_r", "famax_s"], filter: .call(.isNotNull, [.column("s")])),
    ]

    static let keySets: [[NamedExpr]] = [[], [NamedExpr("key", .column("key"))], [NamedExpr("key", .column("key")), NamedExpr("k2", .column("k2"))]]

    func aggregate(_ batch: ColumnBatch, rows: Range<Int>, keys: [NamedExpr]) throws -> HashAggregator {
        let aggregator = HashAggregator(keys: keys, aggregates: Self.aggregates, memoryLimit: 1 << 30, now: 0)
        // Fed in uneven slices, as blocks arrive.
        var start = rows.lowerBound
        var step = 1
        while start < rows.upperBound {
            var slice = batch
            slice.selection = (start..<min(rows.upperBound, start + step)).map(UInt32.init)
            try aggregator.add(slice)
            start += step
            step = step * 3 + 1
        }
        return aggregator
    }

    @Test(arguments: 0..<12) func mergingPartialsOfAnySplitEqualsOnePass(seed: Int) throws {
        var g = SplitMix64(seed: UInt64(100 + seed))
        let count = Int(g.next() % 400) + 1
        let batch = try Self.rows(&g, count: count)
        for keys in Self.keySets {
            let onePass = try aggregate(batch, rows: 0..<count, keys: keys).finish()
            // Cut points anywhere, empty parts included.
            let parts = Int(g.next() % 6) + 1
            var cuts = (0..<parts - 1).map { _ in Int(g.next() % UInt64(count + 1)) }.sorted()
            cuts = [0] + cuts + [count]
            let merged = HashAggregator(keys: keys, aggregates: Self.aggregates, memoryLimit: 1 << 30, now: 0)
            for k in 0..<parts {
                let partial = try aggregate(batch, rows: cuts[k]..<cuts[k + 1], keys: keys)
                if k % 2 == 0 {
                    try merged.merge(encoded: partial.encodedState())  // through the bytes
                } else {
                    try merged.merge(partial)  // in memory
                }
            }
            let twoPhase = try merged.finish()
            #expect(twoPhase.names == onePass.names)
            #expect(twoPhase.rowCount == onePass.rowCount, "keys \(keys.map(\.name)), cuts \(cuts)")
            for (name, column) in zip(onePass.names, onePass.columns) {
                let other = twoPhase.column(named: name)
                for row in 0..<onePass.rowCount {
                    #expect(other?.value(at: row) == column.value(at: row), "\(name) row \(row), keys \(keys.map(\.name)), cuts \(cuts)")
                }
            }
        }
    }

    @Test func floatSumsAgreeClosely() throws {
        var g = SplitMix64(seed: 7)
        var values = ColumnBuilder(.float64)
        for _ in 0..<5000 { try values.append(.float64(Double(g.next() % 1_000_000) / 997.0)) }
        let batch = try ColumnBatch(rowCount: 5000, columns: [("r", values.finish())])
        let aggregates = [Aggregate(.sum, [.column("r")], outputNames: ["s"])]
        let one = HashAggregator(keys: [], aggregates: aggregates, memoryLimit: 1 << 30, now: 0)
        try one.add(batch)
        let merged = HashAggregator(keys: [], aggregates: aggregates, memoryLimit: 1 << 30, now: 0)
        for part in stride(from: 0, to: 5000, by: 777) {
            let partial = HashAggregator(keys: [], aggregates: aggregates, memoryLimit: 1 << 30, now: 0)
            var slice = batch
            slice.selection = (part..<min(5000, part + 777)).map(UInt32.init)
            try partial.add(slice)
            try merged.merge(encoded: partial.encodedState())
        }
        guard case .float64(let a) = try one.finish().column(named: "s")?.value(at: 0),
              case .float64(let b) = try merged.finish().column(named: "s")?.value(at: 0) else { Issue.record("no sums"); return }
        #expect(abs(a - b) <= 1e-12 * abs(a))
    }

    @Test func damagedStatesAreCorruptDataNotCrashes() throws {
        var g = SplitMix64(seed: 3)
        let batch = try Self.rows(&g, count: 200)
        let state = try aggregate(batch, rows: 0..<200, keys: Self.keySets[1]).encodedState()
        let target = HashAggregator(keys: Self.keySets[1], aggregates: Self.aggregates, memoryLimit: 1 << 30, now: 0)
        // Every truncation, and bytes flipped at random places.
        for length in stride(from: 0, to: state.count, by: max(1, state.count / 300)) {
            #expect(throws: QueryError.self) { try target.merge(encoded: Array(state.prefix(length))) }
        }
        for _ in 0..<300 {
            var damaged = state
            damaged[Int(g.next() % UInt64(damaged.count))] ^= UInt8(1 << (g.next() % 8))
            let fresh = HashAggregator(keys: Self.keySets[1], aggregates: Self.aggregates, memoryLimit: 1 << 30, now: 0)
            do { try fresh.merge(encoded: damaged) } catch {
                #expect(error.kind == .corruptData || error.kind == .badQuery, "\(error)")
            }
        }
    }
}
