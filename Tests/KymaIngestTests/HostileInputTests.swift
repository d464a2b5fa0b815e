// Regressions of issue 23's hostile inputs: each one failed (or lost rows) before; now each
// works or gives a typed error naming what was wrong, with nothing partial left behind.

import Testing
import KymaCatalog
import KymaCore
import KymaFormat
import KymaFormatTLM
@testable import KymaIngest
import KymaObjectStore
import KymaTestSupport

@Suite("Hostile ingest input")
struct HostileInputTests {
    /// A value of 200 kB as the column's min and max failed the whole ingest with PostgreSQL's
    /// btree error (even with --on-error skip) and orphaned the upload. Now the statistics are
    /// bounded, the value is stored whole, and a query's pruning still finds it.
    @Test func aHugeStringIsStoredWholeWithBoundedStatistics() async throws {
        let f = try await IngestFixture.make()
        let huge = String(repeating: "x", count: 200_000)
        let input = "{\"msg\":\"a\(huge)\"}\n{\"msg\":\"b\(huge)\"}\n"
        let report = try await f.ingestor.ingest(Array(input.utf8), into: "t", options: IngestOptions(), nowNanos: 1)
        #expect(report.rowsWritten == 2)
        #expect(Set(try await f.rows("t").compactMap { $0["msg"] }) == [.string("a" + huge), .string("b" + huge)])
        let extent = try #require(try await f.catalog.extents(table: "t", matching: .all).first)
        #expect(extent.byteSize < 50_000, "the footer keeps bounds, not the values (compressed data plus footer)")
        let stats = try #require(extent.columnStatistics["msg"])
        guard case .string(let lower)? = stats.min, case .string(let upper)? = stats.max else { Issue.record("no bounds: \(stats)"); return }
        #expect(lower.utf8.count <= StatisticBounds.maxBytes && upper.utf8.count <= StatisticBounds.maxBytes + 3)
        #expect(lower <= "a" + huge && "b" + huge <= upper, "the bounds bracket the values")
        let hit = try await f.catalog.extents(table: "t", matching: ExtentFilter(
            columnConditions: [ColumnRangeCondition(column: "msg", lower: .string("b" + huge), upper: .string("b" + huge))]))
        #expect(hit.count == 1)
    }

    /// `{"msg":"a\u0000b"}` is valid JSON; PostgreSQL's jsonb and text refused the NUL and the
    /// whole file failed. Text keeps every byte now, in JSON and in text mode.
    @Test func nulCharactersAreStoredExactly() async throws {
        let f = try await IngestFixture.make()
        _ = try await f.ingestor.ingest(Array("{\"msg\":\"a\\u0000b\"}\n{\"msg\":\"\\u0000lead\"}\n".utf8), into: "j", options: IngestOptions(), nowNanos: 1)
        #expect(Set(try await f.rows("j").compactMap { $0["msg"] }) == [.string("a\u{0}b"), .string("\u{0}lead")])
        var text = IngestOptions()
        text.kind = .text
        _ = try await f.ingestor.ingest([0x61, 0x00, 0x62, 0x0A, 0x00, 0x0A], into: "raw", options: text, nowNanos: 1)
        #expect(Set(try await f.rows("raw").compactMap { $0["_msg"] }) == [.string("a\u{0}b"), .string("\u{0}")])
        // A NUL in a key would name a column the catalog cannot hold: that line is refused.
        let (rows, errors) = LogIngestor.parse(Array("{\"a\\u0000b\":1}".utf8), options: IngestOptions(), nowNanos: 0)
        #expect(rows.isEmpty && errors.first?.reason.contains("NUL") == true)
    }

    /// `012` was read as 12. JSON has no leading zeros: the line is refused, naming the number.
    @Test(arguments: ["{\"n\":012}", "{\"n\":-01}", "{\"n\":1.}", "{\"n\":.5}", "{\"n\":1e}", "{\"n\":--1}", "{\"n\":1e+}", "{\"n\":+1}"])
    func numbersOutsideJSONsGrammarAreRefused(line: String) {
        let (rows, errors) = LogIngestor.parse(Array(line.utf8), options: IngestOptions(), nowNanos: 0)
        #expect(rows.isEmpty && errors.count == 1, "\(line)")
    }

    @Test func numbersInJSONsGrammarAreRead() throws {
        let fields = try JSONLineParser.flatten(Array("{\"a\":0,\"b\":-0.5,\"c\":1E+2,\"d\":10,\"e\":-0}".utf8)[...])
        #expect(fields.map(\.1) == [.int64(0), .float64(-0.5), .float64(100), .int64(10), .int64(0)])
    }

    /// `9999-12-31T23:59:59Z` is RFC 3339; it was called "not rfc3339". It is out of range.
    @Test func aTimeOutsideTheRangeIsCalledOutOfRange() {
        var options = IngestOptions()
        options.timeField = "ts"
        let (_, errors) = LogIngestor.parse(Array("{\"ts\":\"9999-12-31T23:59:59Z\"}\n{\"ts\":\"yesterday\"}".utf8), options: options, nowNanos: 0)
        #expect(errors.count == 2)
        #expect(errors.first?.reason.contains("out of range") == true)
        #expect(errors.last?.reason.contains("is not rfc3339") == true)
        #expect(TimeFormat.epochSeconds.read(.string("9223372036.999999999")) == .outOfRange, "no overflow trap")
        #expect(TimeFormat.epochSeconds.read(.int64(Int64.max)) == .outOfRange)
        #expect(TimeFormat.epochSeconds.read(.string("1.5")) == .nanos(1_500_000_000))
        #expect(TimeFormat.epochSeconds.read(.string("1.٣")) != .nanos(1_000_000_003), "only ASCII digits")
    }

    /// Compacting a table of 160 small extents failed: the work unit's key held every extent id
    /// and broke PostgreSQL's btree limit. Keys are hashed now.
    @Test func aTableOf160SmallExtentsCompacts() async throws {
        let f = try await IngestFixture.make()
        var options = IngestOptions()
        options.timeField = "ts"
        options.timeFormat = .epochSeconds
        for batch in 0..<160 {
            let lines = (0..<2).map { "{\"ts\":\(1000 + batch * 2 + $0),\"v\":\(batch * 2 + $0)}" }
            _ = try await f.ingestor.ingest(Array(lines.joined(separator: "\n").utf8), into: "many", options: options, nowNanos: 0)
        }
        let compactor = Compactor(catalog: f.catalog, store: f.store, formats: FormatRegistry([TLMFormat()]))
        #expect(try await compactor.plan(table: "many").count == 1)
        #expect(try await compactor.runOnce(owner: "w") == .merged(inputs: 160, outputs: 1, rows: 320))
        let values = try await f.rows("many").compactMap { row -> Int64? in if case .int64(let v)? = row["v"] { v } else { nil } }
        #expect(values.sorted() == Array(0..<320))
    }

    @Test func linesAreNumberedAsEditorsNumberThem() {
        let input = Array("a\nb\r\n\nlast".utf8)
        let lines = LineIndex(input)
        #expect(lines.count == 4)
        #expect(lines.bytes(of: 2...3, in: input) == Array("b\r\n\n".utf8))
        #expect(lines.bytes(of: 4...4, in: input) == Array("last".utf8))
        #expect(LineIndex(Array("one\n".utf8)).count == 1)
        #expect(LineIndex([]).count == 0)
        let progress = BatchProgress(committedLines: ["d": [4...6, 1...2, 9...9]])
        #expect(progress.uncommitted(inputDigest: "d", lineCount: 10) == [3...3, 7...8, 10...10])
        #expect(progress.uncommitted(inputDigest: "d", lineCount: 5) == [3...3])
        #expect(progress.uncommitted(inputDigest: "other", lineCount: 2) == [1...2])
    }

    @Test func boundsBracketEveryValue() {
        // Property: for random strings (with NULs, multi-byte characters, U+10FFFF, long runs),
        // lower <= value <= upper in byte order, and both are short and NUL-free.
        var generator = SplitMix64(seed: 23)
        let alphabet: [Unicode.Scalar] = ["\u{0}", "a", "z", "\u{7F}", "é", "\u{FFFF}", "\u{10FFFF}", "😀"]
        for _ in 0..<2000 {
            let length = Int(generator.next() % 400)
            var scalars = String.UnicodeScalarView()
            for _ in 0..<length { scalars.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
            let value = String(scalars)
            let lower = StatisticBounds.lower(.string(value))
            guard case .string(let low) = lower else { Issue.record("lower changed type"); return }
            #expect(!low.utf8.contains(0) && low.utf8.count <= StatisticBounds.maxBytes)
            #expect(!value.utf8.lexicographicallyPrecedes(low.utf8), "lower <= value")
            if case .string(let high)? = StatisticBounds.upper(.string(value)) {
                #expect(!high.utf8.contains(0) && high.utf8.count <= StatisticBounds.maxBytes + 3)
                #expect(!high.utf8.lexicographicallyPrecedes(value.utf8), "value <= upper")
            } else {
                let beforeNUL = value.unicodeScalars.prefix { $0 != "\u{0}" }
                #expect(beforeNUL.prefix(64).allSatisfy { $0.value == 0x10FFFF }, "no bound only when none exists")
            }
        }
    }
}
