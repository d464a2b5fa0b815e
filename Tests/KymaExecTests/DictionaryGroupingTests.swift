// Grouping by dictionary codes, by property: a string key column that carries its values as
// codes into a dictionary (as TLM's dictionary chunks decode) groups exactly as the same column
// without them — every aggregate, with nulls, unused and repeated-looking entries, selection
// vectors and partial states merged.

import KymaCore
import KymaPlan
import KymaTestSupport
import Testing

@testable import KymaExec

@Suite struct DictionaryGroupingTests {
    /// The key column of `batch` given codes into a shuffled dictionary that also holds entries
    /// no row uses; null rows get arbitrary codes (readers must not look at them).
    static func withDictionary(_ batch: ColumnBatch, column name: String, _ g: inout SplitMix64) throws -> ColumnBatch {
        guard let column = batch.column(named: name), case .string(let offsets, let bytes) = column.values else { throw Unexpected.shape }
        var entries: [[UInt8]] = []
        for row in 0..<column.count where !column.isNull(row) {
            let value = Array(bytes[Int(offsets[row])..<Int(offsets[row + 1])])
            if !entries.contains(value) { entries.append(value) }
        }
        entries += [Array("unused".utf8), []]
        for i in stride(from: entries.count - 1, to: 0, by: -1) { entries.swapAt(i, Int(g.next() % UInt64(i + 1))) }
        var entryOffsets: [Int32] = [0], entryBytes: [UInt8] = []
        for entry in entries {
            entryBytes += entry
            entryOffsets.append(Int32(entryBytes.count))
        }
        let codes = (0..<column.count).map { row -> UInt32 in
            if column.isNull(row) { return UInt32(g.next() % UInt64(entries.count)) }
            return UInt32(entries.firstIndex(of: Array(bytes[Int(offsets[row])..<Int(offsets[row + 1])]))!)
        }
        var coded = column
        coded.dictionary = ColumnDictionary(codes: codes, entryOffsets: entryOffsets, entryBytes: entryBytes)
        let columns = zip(batch.names, batch.columns).map { ($0 == name ? ($0, coded) : ($0, $1)) }
        return try ColumnBatch(rowCount: batch.rowCount, columns: columns, selection: batch.selection)
    }

    enum Unexpected: Error { case shape }

    static func aggregate(_ parts: [ColumnBatch], keys: [NamedExpr]) throws -> ColumnBatch {
        let total = HashAggregator(keys: keys, aggregates: TwoPhaseAggregationTests.aggregates, memoryLimit: 1 << 30, now: 0)
        for part in parts {
            let partial = HashAggregator(keys: keys, aggregates: TwoPhaseAggregationTests.aggregates, memoryLimit: 1 << 30, now: 0)
            try partial.add(part)
            try total.merge(partial)
        }
        return try total.finish()
    }

    @Test(arguments: [1, 2, 7, 64, 1000])
    func codesGroupAsValuesDo(rows: Int) throws {
        var g = SplitMix64(seed: UInt64(rows) * 31 + 5)
        for round in 0..<8 {
            var plain = try TwoPhaseAggregationTests.rows(&g, count: rows)
            // Every other round: a selection vector (some rows, or none of them).
            if round % 2 == 1 { plain.selection = (0..<UInt32(rows)).filter { _ in g.next() % 3 != 0 } }
            let coded = try Self.withDictionary(plain, column: "key", &g)
            #expect(coded.column(named: "key")?.dictionary != nil)
            for keys in [[NamedExpr("key", .column("key"))], [NamedExpr("key", .column("key")), NamedExpr("k2", .column("k2"))]] {
                let expected = try Self.aggregate([plain, plain], keys: keys)
                let actual = try Self.aggregate([coded, plain], keys: keys)
                #expect(actual == expected, "rows \(rows), round \(round), keys \(keys.map(\.name))")
                #expect(try Self.aggregate([coded, coded], keys: keys) == expected)
            }
        }
    }

    @Test func allNullKeysGroupAsOneNullGroup() throws {
        var g = SplitMix64(seed: 9)
        let plain = try ColumnBatch(rowCount: 5, columns: [
            ("key", Column(.string(offsets: [0, 0, 0, 0, 0, 0], bytes: []), validity: ValidityBitmap(words: [0], count: 5))),
            ("i", Column(.int64([1, 2, 3, 4, 5]))),
        ])
        let coded = try Self.withDictionary(plain, column: "key", &g)
        let keys = [NamedExpr("key", .column("key"))]
        let aggregates = [Aggregate(.sum, [.column("i")], outputNames: ["s"])]
        func run(_ batch: ColumnBatch) throws -> ColumnBatch {
            let aggregator = HashAggregator(keys: keys, aggregates: aggregates, memoryLimit: 1 << 20, now: 0)
            try aggregator.add(batch)
            return try aggregator.finish()
        }
        let answer = try run(coded)
        #expect(answer == (try run(plain)))
        #expect(answer.rowCount == 1)
        #expect(answer.column(named: "s")?.value(at: 0) == .int64(15))
    }

    @Test func gatheringKeepsCodesInStepWithValues() throws {
        var g = SplitMix64(seed: 3)
        let batch = try Self.withDictionary(try TwoPhaseAggregationTests.rows(&g, count: 300), column: "key", &g)
        let column = batch.column(named: "key")!
        let rows = (0..<UInt32(300)).filter { _ in g.next() % 2 == 0 }
        let gathered = column.gathered(rows)
        let dictionary = try #require(gathered.dictionary)
        for (i, code) in dictionary.codes.enumerated() where !gathered.isNull(i) {
            let entry = dictionary.entryBytes[Int(dictionary.entryOffsets[Int(code)])..<Int(dictionary.entryOffsets[Int(code) + 1])]
            #expect(Array(entry) == Array(gathered.bytes(at: i)!))
        }
    }
}
