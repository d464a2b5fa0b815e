// RangePruner (KymaTableSource) against brute force: random rows cut into units, random KQL filters; a unit the
// pruner drops must hold no row the query keeps (checked by running the query over the unit),
// and selective filters must drop some units (it prunes at all).

import KymaCore
import KymaKQL
import KymaOptimizer
import KymaPlan
import KymaQueryService
import KymaTableSource
import KymaTestSupport
import Testing

@Suite("Range pruner")
struct RangePrunerTests {
    static let base: Int64 = 1_795_000_000_000_000_000

    func unit(_ g: inout SplitMix64, start: Int) throws -> ColumnBatch {
        var n = ColumnBuilder(.int64), name = ColumnBuilder(.string), ts = ColumnBuilder(.timestamp), score = ColumnBuilder(.float64)
        // Units cover overlapping but shifting ranges, so filters prune some and keep others.
        for i in 0..<40 {
            try n.append(g.next() % 9 == 0 ? .null : .int64(Int64(start + Int(g.next() % 60))))
            try name.append(.string(["alpha", "beta", "gamma", "delta", "epsilon"][(start / 50 + i) % 5] + String(g.next() % 3)))
            try ts.append(.timestamp(Self.base + Int64(start + Int(g.next() % 60)) * 1_000_000_000))
            try score.append(.float64(Double(start) / 10 + Double(g.next() % 100) / 100))
        }
        return try ColumnBatch(rowCount: 40, columns: [("n", n.finish()), ("name", name.finish()), ("ts", ts.finish()), ("score", score.finish())])
    }

    func bounds(_ batch: ColumnBatch) -> [String: (lower: ScalarValue, upper: ScalarValue)] {
        var out: [String: (lower: ScalarValue, upper: ScalarValue)] = [:]
        for (name, column) in zip(batch.names, batch.columns) {
            let values = (0..<batch.rowCount).map { column.value(at: $0) }.filter { $0 != .null }
            guard var lo = values.first, var hi = values.first else { continue }
            for v in values {
                if ScalarOrder.compare(v, lo) ?? 0 < 0 { lo = v }
                if ScalarOrder.compare(v, hi) ?? 0 > 0 { hi = v }
            }
            out[name] = (lo, hi)
        }
        return out
    }

    func randomFilter(_ g: inout SplitMix64) -> String {
        func atom() -> String {
            let k = Int64(g.next() % 560)
            switch g.next() % 9 {
            case 0: return "n == \(k)"
            case 1: return "n > \(k)"
            case 2: return "n <= \(k)"
            case 3: return "n != \(k)"
            case 4: return "n in (\(k), \(k + 200))"
            case 5: return "n between (\(k) .. \(k + 20))"
            case 6: return "ts >= datetime(2026-11-19T08:13:\(String(format: "%02d", k % 60))Z) + \(k / 60)m"
            case 7: return "score < \(Double(k) / 10)"
            default: return "name == \"\(["alpha", "beta", "zeta"][Int(g.next() % 3)])\(g.next() % 3)\""
            }
        }
        switch g.next() % 3 {
        case 0: return atom()
        case 1: return "\(atom()) and \(atom())"
        default: return "(\(atom()) or \(atom()))"
        }
    }

    @Test func neverDropsAUnitWithAMatchingRow() async throws {
        var g = SplitMix64(seed: 17)
        let units = try (0..<12).map { try unit(&g, start: $0 * 45) }
        let frontend = KQLFrontend()
        var dropped = 0, checked = 0
        for _ in 0..<150 {
            let filter = randomFilter(&g)
            let plan = try frontend.parse("t | where \(filter) | summarize c = count()")
            let pruner = RangePruner(try QueryOptimizer.prepare(plan, timeColumn: "ts", nowNanos: Self.base).scan.filter)
            for batch in units {
                let source = try InMemoryTableSource(table: "t", timeColumn: "ts", parts: [[batch]])
                let service = QueryService(frontends: FrontendRegistry([frontend]), sources: FixedTableSources([source]))
                let result = try await service.run(plan, nowNanos: Self.base).0
                let matching = result.rows.first.flatMap { if case .int64(let c) = $0[0] { Int(c) } else { nil } } ?? 0
                checked += 1
                if !pruner.mayMatch(bounds(batch)) {
                    dropped += 1
                    #expect(matching == 0, "'\(filter)' dropped a unit holding \(matching) matching rows")
                }
            }
        }
        #expect(checked == 1800)
        #expect(dropped > 300, "selective filters prune: \(dropped) of \(checked) units dropped")
        // Without a filter nothing can be pruned; a column with no bounds keeps the unit.
        let unfiltered = RangePruner(try QueryOptimizer.prepare(try frontend.parse("t | summarize c = count()"), timeColumn: "ts", nowNanos: 0).scan.filter)
        #expect(!unfiltered.isSelective && unfiltered.mayMatch([:]))
        let equality = try QueryOptimizer.prepare(try frontend.parse("t | where n == 5"), timeColumn: "ts", nowNanos: 0).scan.filter
        #expect(RangePruner(equality).mayMatch(["name": (.string("a"), .string("b"))]))
    }
}
