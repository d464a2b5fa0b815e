// Late materialization over every way a reader may answer a row selection (`ExtentReader`'s
// contract lets it return the rows alone, the whole block with the selection marked, or the
// whole block): a filter on a column subset and top-N by a column give the rows a direct
// computation over the same batches gives.

import KymaCore
import KymaFormat
import KymaObjectStore
import KymaPlan
import KymaTableSource
import KymaTestSupport
import Testing

@testable import KymaExec

/// An in-memory reader that answers row selections in one of the three ways.
struct ShapedReader: ExtentReader, ReaderProvider {
    enum Mode: CaseIterable { case rowsAlone, wholeMarked, wholeIgnoring }
    let inner: InMemoryExtentReader
    let mode: Mode

    var key: ObjectKey { inner.key }
    var schema: Schema { inner.schema }
    var rowCount: Int { inner.rowCount }
    var blockCount: Int { inner.blockCount }
    var footerBytesFetched: Int { 0 }

    func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats) {
        try await inner.pruneBlocks(predicate)
    }

    func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch] {
        let whole = try await inner.read(blocks: blocks, columns: columns, rowSelections: nil)
        guard let selections = rowSelections, mode != .wholeIgnoring else { return whole }
        return zip(blocks.blocks, whole).map { block, batch in
            guard let rows = selections[block] else { return batch }
            var out = batch
            if mode == .wholeMarked {
                out.selection = rows
            } else {
                out = (try? ColumnBatch(rowCount: rows.count, columns: zip(batch.names, batch.columns).map { ($0, $1.gathered(rows)) })) ?? batch
            }
            return out
        }
    }

    func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader { self }
}

@Suite struct BlockReadsTests {
    static func run(_ blocks: [ColumnBatch], mode: ShapedReader.Mode, columns: [String], filter: Expr?, pipeline: [PlanOperator]) async throws -> [[ScalarValue]] {
        let reader = ShapedReader(inner: try InMemoryExtentReader(key: "memory/shaped", batches: blocks), mode: mode)
        let unit = ScanUnit(objectKey: "memory/shaped", format: "memory", byteSize: 0, rowCount: blocks.reduce(0) { $0 + $1.rowCount },
                            blocks: Array(blocks.indices))
        let plan = PhysicalPlan(units: [unit], columns: columns, scanFilter: filter, pipeline: pipeline, nowNanos: 0)
        return try await QueryExecutor.run(plan, readers: reader, budget: QueryBudget(parallelism: 1)).rows
    }

    @Test func everyReaderShapeGivesTheDirectAnswer() async throws {
        let blocks = try (0..<6).map { try ExecutorTests.batch(rows: 257, seed: 90 + UInt64($0)) }
        let all = blocks.flatMap { b in (0..<b.rowCount).map { row in b.names.map { b.column(named: $0)!.value(at: row) } } }
        let names = blocks[0].names
        func value(_ row: [ScalarValue], _ name: String) -> ScalarValue { row[names.firstIndex(of: name)!] }

        // A filter on `i` returning `s` and `t`: the rows with i > 30, in order.
        let filtered = all.filter { if case .int64(let v) = value($0, "i") { v > 30 } else { false } }.map { [value($0, "s"), value($0, "t")] }
        // top 9 by t (no nulls) and top 4 by r (nulls: read whole), both ways.
        let byTime = all.map { value($0, "t") }.sorted { ScalarOrder.compare($0, $1)! > 0 }.prefix(9)
        for mode in ShapedReader.Mode.allCases {
            let got = try await Self.run(blocks, mode: mode, columns: ["i", "s", "t"], filter: .compare(.greater, .column("i"), .literal(.int64(30))),
                                         pipeline: [.project([NamedExpr("s", .column("s")), NamedExpr("t", .column("t"))])])
            #expect(got == filtered, "\(mode)")
            let top = try await Self.run(blocks, mode: mode, columns: ["t", "s"], filter: nil,
                                         pipeline: [.top(count: 9, by: [SortKey(.column("t"), descending: true)])])
            #expect(top.map { $0[0] } == Array(byTime), "\(mode)")
            for descending in [true, false] {
                let reals = try await Self.run(blocks, mode: mode, columns: ["r", "i"], filter: nil,
                                               pipeline: [.top(count: 4, by: [SortKey(.column("r"), descending: descending)])])
                let direct = try await Self.run(blocks, mode: .wholeIgnoring, columns: ["r", "i"], filter: nil,
                                                pipeline: [.sort([SortKey(.column("r"), descending: descending)]), .limit(4)])
                #expect(reals.map { $0[0] } == direct.map { $0[0] }, "\(mode) descending \(descending)")
            }
        }
    }
}
