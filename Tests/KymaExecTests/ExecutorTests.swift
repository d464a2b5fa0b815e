import KymaCore
@testable import KymaExec
import KymaPlan
import KymaTestSupport
import Testing

/// Operators checked against a row-at-a-time reference over generated batches: the selection
/// path (typed loops) and the value path must agree for every predicate shape.
@Suite struct ExecutorTests {
    static func batch(rows: Int, seed: UInt64) throws -> ColumnBatch {
        var rng = SplitMix64(seed: seed)
        var ints = ColumnBuilder(.int64), reals = ColumnBuilder(.float64), texts = ColumnBuilder(.string), times = ColumnBuilder(.timestamp)
        let words = ["alpha", "Beta", "gamma-ray", "delta", "ALPHA", "eps"]
        for _ in 0..<rows {
            try ints.append(rng.next() % 10 == 0 ? .null : .int64(Int64(rng.next() % 100) - 20))
            try reals.append(rng.next() % 7 == 0 ? .null : .float64(Double(rng.next() % 1000) / 10))
            let n = Int(rng.next() % 4)
            try texts.append(n == 0 && rng.next() % 2 == 0 ? .null : .string((0..<n).map { _ in words[Int(rng.next() % 6)] }.joined(separator: " ")))
            try times.append(.timestamp(Int64(rng.next() % 1_000_000)))
        }
        return try ColumnBatch(rowCount: rows, columns: [("i", ints.finish()), ("r", reals.finish()), ("s", texts.finish()), ("t", times.finish())])
    }

    static let predicates: [Expr] = [
        .compare(.greater, .column("i"), .literal(.int64(30))),
        .compare(.lessOrEqual, .column("r"), .literal(.int64(50))),
        .compare(.equal, .column("s"), .literal(.string("alpha"))),
        .compare(.notEqual, .literal(.int64(5)), .column("i")),
        .compare(.less, .column("t"), .literal(.timestamp(400_000))),
        .text(.has, .column("s"), .literal(.string("alpha")), negated: false),
        .text(.has, .column("s"), .literal(.string("ray")), negated: false),
        .text(.has, .column("s"), .literal(.string("gamma-ray")), negated: false),
        .text(.hasCaseSensitive, .column("s"), .literal(.string("ALPHA")), negated: false),
        .text(.contains, .column("s"), .literal(.string("LTA")), negated: true),
        .text(.startsWith, .column("s"), .literal(.string("beta")), negated: false),
        .text(.endsWith, .column("s"), .literal(.string("EPS")), negated: false),
        .text(.equalsIgnoringCase, .column("s"), .literal(.string("DELTA")), negated: false),
        .inList(.column("i"), [.literal(.int64(1)), .literal(.int64(2)), .literal(.int64(3))], negated: true),
        .between(.column("r"), low: .literal(.float64(10)), high: .literal(.int64(20)), negated: false),
        .or([.compare(.less, .column("i"), .literal(.int64(0))), .text(.has, .column("s"), .literal(.string("eps")), negated: false)]),
        .and([.compare(.greater, .column("i"), .literal(.int64(0))), .not(.compare(.greater, .column("r"), .literal(.int64(10))))]),
        .call(.isNull, [.column("s")]),
        .call(.isNotEmpty, [.column("s")]),
        .compare(.greater, .arithmetic(.multiply, .column("i"), .literal(.int64(2))), .column("r")),
    ]

    /// The reference: evaluate the predicate through the general row path on one-row batches.
    static func reference(_ predicate: Expr, _ batch: ColumnBatch) throws -> [UInt32] {
        var out: [UInt32] = []
        for row in 0..<batch.rowCount {
            let input = EvaluationInput(batch: batch, rows: [UInt32(row)], nowNanos: 0)
            if try ExpressionEvaluator.evaluate(predicate, input).value(at: 0) == .bool(true) { out.append(UInt32(row)) }
        }
        return out
    }

    @Test(arguments: 0..<20) func selectionMatchesRowReference(_ index: Int) throws {
        let batch = try Self.batch(rows: 500, seed: UInt64(index) + 1)
        let predicate = Self.predicates[index]
        let selected = try ExpressionEvaluator.select(predicate, batch, rows: nil, now: 0)
        #expect(selected == (try Self.reference(predicate, batch)), "\(predicate)")
        // And on a pre-selected subset: the result is the subset's matches.
        let subset = (0..<UInt32(500)).filter { $0 % 3 == 0 }
        let narrowed = try ExpressionEvaluator.select(predicate, batch, rows: subset, now: 0)
        #expect(narrowed == (try Self.reference(predicate, batch)).filter { $0 % 3 == 0 }, "\(predicate) on a subset")
    }

    @Test func hasIsWholeTerm() {
        func has(_ text: String, _ term: String) -> Bool {
            ExpressionEvaluator.textMatch(.has, Array(text.utf8), Array(term.lowercased().utf8), ignoreCase: true)
        }
        #expect(has("Failed password for root", "ROOT"))
        #expect(!has("rootkit found", "root"))
        #expect(has("user=root;", "root"))
        #expect(has("gamma-ray burst", "gamma-ray"))
        #expect(!has("xgamma-ray", "gamma-ray"))
        #expect(!has("", "a"))
    }

    @Test func aggregatesAgainstDirectComputation() throws {
        let batch = try Self.batch(rows: 3000, seed: 99)
        let aggregator = HashAggregator(
            keys: [NamedExpr("k", .call(.bin, [.column("t"), .timespan(200_000)]))],
            aggregates: [Aggregate(.count, [], outputNames: ["n"]), Aggregate(.sum, [.column("i")], outputNames: ["s"]),
                         Aggregate(.avg, [.column("r")], outputNames: ["a"]), Aggregate(.max, [.column("s")], outputNames: ["m"]),
                         Aggregate(.percentile(50), [.column("i")], outputNames: ["p"]), Aggregate(.dcount(precision: 14), [.column("s")], outputNames: ["d"])],
            memoryLimit: 1 << 30, now: 0)
        // Fed in uneven slices, as blocks would arrive.
        var start = 0
        for size in [1, 2, 7, 100, 890, 2000] {
            let rows = (start..<min(3000, start + size)).map(UInt32.init)
            var slice = batch
            slice.selection = rows
            try aggregator.add(slice)
            start += size
        }
        let result = try aggregator.finish()
        #expect(result.rowCount == 5)
        for group in 0..<result.rowCount {
            guard case .timestamp(let key) = result.column(named: "k")?.value(at: group) else { Issue.record("key"); continue }
            let rows = (0..<3000).filter { row in
                if case .timestamp(let t) = batch.column(named: "t")!.value(at: row) { return t / 200_000 * 200_000 == key }
                return false
            }
            let ints = rows.compactMap { if case .int64(let v) = batch.column(named: "i")!.value(at: $0) { v } else { nil } }
            let reals = rows.compactMap { if case .float64(let v) = batch.column(named: "r")!.value(at: $0) { v } else { nil } }
            let strings = rows.compactMap { if case .string(let v) = batch.column(named: "s")!.value(at: $0) { v } else { nil } }
            #expect(result.column(named: "n")?.value(at: group) == .int64(Int64(rows.count)))
            #expect(result.column(named: "s")?.value(at: group) == .int64(ints.reduce(0, +)))
            if case .float64(let avg)? = result.column(named: "a")?.value(at: group) {
                #expect(abs(avg - reals.reduce(0, +) / Double(reals.count)) < 1e-9)
            } else { Issue.record("avg missing") }
            #expect(result.column(named: "m")?.value(at: group) == strings.max { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { .string($0) })
            let sorted = ints.sorted()
            #expect(result.column(named: "p")?.value(at: group) == .int64(sorted[Int((0.5 * Double(sorted.count)).rounded(.up)) - 1]))
            #expect(result.column(named: "d")?.value(at: group) == .int64(Int64(Set(strings).count)))
        }
    }

    @Test func hyperLogLogWithinKustoError() throws {
        // 200,000 distinct values: dense registers; Kusto's default accuracy has 0.8% standard error.
        var builder = ColumnBuilder(.int64)
        for v in 0..<200_000 { try builder.append(.int64(Int64(v) * 7919)) }
        let batch = try ColumnBatch(rowCount: 200_000, columns: [("v", builder.finish())])
        let aggregator = HashAggregator(keys: [], aggregates: [Aggregate(.dcount(precision: 14), [.column("v")], outputNames: ["d"])], memoryLimit: 1 << 30, now: 0)
        try aggregator.add(batch)
        guard case .int64(let estimate) = try aggregator.finish().column(named: "d")?.value(at: 0) else { Issue.record("no estimate"); return }
        #expect(abs(Double(estimate) - 200_000) / 200_000 < 0.03, "estimate \(estimate)")
    }

    @Test func topNEqualsFullSortPrefix() throws {
        let batch = try Self.batch(rows: 2000, seed: 5)
        let keys = [SortKey(.column("i"), descending: true), SortKey(.column("t"), descending: false)]
        let top = SortOperator(keys: keys, limit: 25, memoryLimit: 1 << 30, now: 0)
        let full = SortOperator(keys: keys, limit: nil, memoryLimit: 1 << 30, now: 0)
        for chunk in stride(from: 0, to: 2000, by: 37) {
            var slice = batch
            slice.selection = (chunk..<min(2000, chunk + 37)).map(UInt32.init)
            try top.add(slice)
            try full.add(slice)
        }
        let topRows = try top.finish(), fullRows = try full.finish()
        #expect(topRows.rowCount == 25)
        for row in 0..<25 {
            #expect(topRows.column(named: "i")?.value(at: row) == fullRows.column(named: "i")?.value(at: row))
            #expect(topRows.column(named: "t")?.value(at: row) == fullRows.column(named: "t")?.value(at: row))
        }
        // Nulls last when descending.
        #expect(fullRows.column(named: "i")?.value(at: fullRows.rowCount - 1) == .null)
    }

    @Test func memoryBudgetIsAClearError() throws {
        let batch = try Self.batch(rows: 2000, seed: 3)
        let aggregator = HashAggregator(keys: [NamedExpr("t", .column("t"))], aggregates: [Aggregate(.count, [], outputNames: ["n"])], memoryLimit: 10_000, now: 0)
        #expect(throws: QueryError.self) { try aggregator.add(batch) }
        do {
            try aggregator.add(batch)
        } catch {
            guard case .resourcesExhausted(let resource, let limit, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(resource.contains("aggregation memory"))
            #expect(limit == 10_000)
        }
    }
}

