// The wire encoding of a unit's output: every column type, nulls and selections come back as
// the same values and types; every truncation and many corruptions are `corruptData`, never a crash.

import KymaCore
import KymaExec
import KymaPlan
import KymaTestSupport
import Testing

@Suite("Unit output encoding")
struct UnitOutputTests {
    static func batch(rows: Int, seed: UInt64) throws -> ColumnBatch {
        var g = SplitMix64(seed: seed)
        var b = ColumnBuilder(.bool), i = ColumnBuilder(.int64), f = ColumnBuilder(.float64), t = ColumnBuilder(.timestamp)
        var s = ColumnBuilder(.string), y = ColumnBuilder(.binary)
        for _ in 0..<rows {
            let null = g.next() % 5 == 0
            try b.append(null ? .null : .bool(g.next() % 2 == 0))
            try i.append(null ? .null : .int64(Int64(bitPattern: g.next())))
            try f.append(g.next() % 7 == 0 ? .null : .float64([Double.nan, -0.0, .infinity, Double(g.next() % 1000) / 3][Int(g.next() % 4)]))
            try t.append(.timestamp(Int64(bitPattern: g.next() >> 1)))
            try s.append(null ? .null : .string(String(repeating: "é", count: Int(g.next() % 6))))
            try y.append(.binary((0..<Int(g.next() % 4)).map { _ in UInt8(truncatingIfNeeded: g.next()) }))
        }
        let v = Column(.float32Vector(dimension: 3, values: (0..<rows * 3).map { Float($0) / 4 }))
        return try ColumnBatch(rowCount: rows, columns: [("b", b.finish()), ("i", i.finish()), ("f", f.finish()), ("t", t.finish()),
                                                         ("s", s.finish()), ("y", y.finish()), ("v", v)])
    }

    /// Selected rows as text (NaN compares equal to itself this way), with each column's type.
    static func shape(_ batch: ColumnBatch) -> [String] {
        let types = batch.columns.map { "\($0.dataType)" }
        let rows = batch.selectedRows.map { row in batch.columns.map { "\($0.value(at: row))" }.joined(separator: "|") }
        return batch.names + types + rows
    }

    @Test(arguments: [0, 1, 63, 64, 65, 300]) func rowsRoundTrip(rows: Int) throws {
        var batch = try Self.batch(rows: rows, seed: UInt64(rows) + 1)
        var selected = batch
        selected.selection = (0..<UInt32(rows)).filter { $0 % 3 != 1 }
        let output = UnitOutput(payload: .rows([batch, selected]), blocksRead: 3, rowsDecoded: 2 * rows, rowsMatched: rows, nanos: 12345)
        let decoded = try UnitOutput(decoding: output.encoded())
        guard case .rows(let back) = decoded.payload else { Issue.record("not rows"); return }
        #expect(back.count == 2)
        #expect(Self.shape(back[0]) == Self.shape(batch))
        #expect(Self.shape(back[1]) == Self.shape(selected), "only selected rows travel, in order")
        #expect(back[1].rowCount == selected.selection!.count && back[1].selection == nil)
        #expect(decoded.blocksRead == 3 && decoded.rowsDecoded == 2 * rows && decoded.rowsMatched == rows && decoded.nanos == 12345)
        #expect(decoded.rowCount == rows + selected.selection!.count)
        batch = ColumnBatch(rowCount: 4)  // a batch without columns keeps its row count
        let empty = try UnitOutput(decoding: UnitOutput(payload: .rows([batch]), blocksRead: 0, rowsDecoded: 0, rowsMatched: 0, nanos: 0).encoded())
        guard case .rows(let emptyBack) = empty.payload else { Issue.record("not rows"); return }
        #expect(emptyBack.first?.rowCount == 4)
    }

    @Test func partialStateRoundTrips() throws {
        let state: [UInt8] = Array("KAGG".utf8) + [1, 2, 3, 250]
        let decoded = try UnitOutput(decoding: UnitOutput(payload: .partialState(state), blocksRead: 1, rowsDecoded: 2, rowsMatched: 2, nanos: 9).encoded())
        guard case .partialState(let back) = decoded.payload else { Issue.record("not a state"); return }
        #expect(back == state)
    }

    @Test func damageIsCorruptData() throws {
        let bytes = UnitOutput(payload: .rows([try Self.batch(rows: 40, seed: 9)]), blocksRead: 1, rowsDecoded: 40, rowsMatched: 40, nanos: 1).encoded()
        func isCorrupt(_ data: [UInt8]) -> Bool {
            do {
                _ = try UnitOutput(decoding: data)
                return false
            } catch {
                if case .corruptData = error { return true }
                return false
            }
        }
        for length in 0..<bytes.count { #expect(isCorrupt(Array(bytes.prefix(length))), "truncated to \(length) bytes") }
        #expect(isCorrupt(bytes + [0]), "trailing byte")
        // Flipped bytes: decoded (to some values) or corrupt, never a trap.
        var g = SplitMix64(seed: 77)
        for _ in 0..<3000 {
            var damaged = bytes
            damaged[Int(g.next() % UInt64(bytes.count))] ^= UInt8(1 + g.next() % 255)
            _ = try? UnitOutput(decoding: damaged)
        }
    }
}
