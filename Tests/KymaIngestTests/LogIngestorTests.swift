// Ingest against the real catalog and a local store, read back through the format: flattening,
// typing, time parsing, extent cutting, reject/skip, and idempotent batch ids.

import Testing
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaFormat
import KymaFormatTLM
@testable import KymaIngest
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport

struct IngestFixture {
    let catalog: PostgresCatalog
    let store: LocalFileSystemObjectStore
    let ingestor: LogIngestor

    static func make() async throws -> IngestFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_ingest")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let catalog = try await PostgresCatalog(url: String(admin[...admin.lastIndex(of: "/")!]) + name)
        let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-ingest"))
        return IngestFixture(catalog: catalog, store: store, ingestor: LogIngestor(catalog: catalog, store: store, formats: FormatRegistry([TLMFormat()])))
    }

    /// Every row of the table, as column-name -> value maps, read back from the objects.
    func rows(_ table: String) async throws -> [[String: ScalarValue]] {
        var result: [[String: ScalarValue]] = []
        for extent in try await catalog.extents(table: table, matching: .all) {
            let reader = try await FormatRegistry([TLMFormat()]).open(store: store, key: try ObjectKey(extent.objectKey), size: Int(extent.byteSize))
            for batch in try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil) {
                for row in 0..<batch.rowCount {
                    var values: [String: ScalarValue] = [:]
                    for (name, column) in zip(batch.names, batch.columns) where column.value(at: row) != .null { values[name] = column.value(at: row) }
                    result.append(values)
                }
            }
        }
        return result
    }
}

@Suite("LogIngestor")
struct LogIngestorTests {
    @Test func flattensTypesAndReadsBack() async throws {
        let f = try await IngestFixture.make()
        let input = """
            {"ts":"2026-11-21T10:00:00Z","level":"info","http":{"status":200,"latency":0.5},"tags":["a","b"],"n":1}
            {"ts":"2026-11-21T10:00:01.250+01:00","level":"error","http":{"status":503,"latency":2},"n":"many","ok":true}\r
            {"ts":"2026-11-21T10:00:02Z","msg":"caf\\u00e9 \\ud83d\\ude00","http":{"status":404}}
            """
        var options = IngestOptions()
        options.timeField = "ts"
        let report = try await f.ingestor.ingest(Array(input.utf8), into: "logs", options: options, nowNanos: 0)
        #expect(report.rowsWritten == 3 && report.extents.count == 1)
        let rows = try await f.rows("logs")
        let t0 = RFC3339.parse("2026-11-21T10:00:00Z")!
        #expect(rows.map { $0["ts"] } == [.timestamp(t0 - 3_600_000_000_000 + 1_250_000_000), .timestamp(t0), .timestamp(t0 + 2_000_000_000)],
                "sorted by time; the +01:00 offset applied")
        #expect(rows[1]["http.status"] == .int64(200))
        #expect(rows[0]["http.latency"] == .float64(2), "int mixed with float is float")
        #expect(rows[1]["tags"] == .string("[\"a\",\"b\"]"), "arrays stay JSON text")
        #expect(rows[0]["n"] == .string("many") && rows[1]["n"] == .string("1"), "other mixes are strings")
        #expect(rows[2]["msg"] == .string("café 😀"))
        let extent = try #require(report.extents.first)
        #expect(extent.timeRange.lowerNanos == t0 - 3_600_000_000_000 + 1_250_000_000)
        #expect(extent.presentPaths.contains("http.status"))
        #expect(extent.columnStatistics["http.status"]?.max == .int64(503))
    }

    @Test func badLinesRejectOrSkipWithLineNumbers() async throws {
        let f = try await IngestFixture.make()
        let input = Array("{\"a\":1}\n{\"a\":2,}\n\n{\"a\":3}\nnot json\n".utf8)
        do {
            _ = try await f.ingestor.ingest(input, into: "t", options: IngestOptions(), nowNanos: 1)
            Issue.record("a bad batch was accepted")
        } catch {
            guard case .rejected(let errors) = error else { Issue.record("got \(error)"); return }
            #expect(errors.map(\.line) == [2, 5])
        }
        #expect(try await f.catalog.table(named: "t") == nil, "a rejected batch writes nothing, not even the table")
        #expect(try await f.store.listAll(prefix: "").isEmpty)
        var options = IngestOptions()
        options.onError = .skip
        let report = try await f.ingestor.ingest(input, into: "t", options: options, nowNanos: 1)
        #expect(report.rowsWritten == 2 && report.skipped.map(\.line) == [2, 5])
        #expect(Set(try await f.rows("t").compactMap { $0["a"] }) == [.int64(1), .int64(3)])
    }

    @Test func retriedBatchIDsDoNotDuplicate() async throws {
        let f = try await IngestFixture.make()
        let input = Array("{\"x\":1}\n{\"x\":2}\n".utf8)
        #expect(try await f.ingestor.ingest(input, into: "t", batchID: "client-7", options: IngestOptions(), nowNanos: 5).outcome == .committed)
        let again = try await f.ingestor.ingest(input, into: "t", batchID: "client-7", options: IngestOptions(), nowNanos: 6)
        #expect(again.outcome == .alreadyCommitted)
        #expect(try await f.rows("t").count == 2)
        #expect(try await f.store.listAll(prefix: "").count == 1, "the retry uploads nothing")
    }

    /// Regression (issue 23): a batch id was keyed by path and chunk index, so other rows under
    /// the same id were dropped with success. Now they are refused, and nothing is written.
    @Test func otherRowsUnderACommittedBatchIDAreRefused() async throws {
        let f = try await IngestFixture.make()
        _ = try await f.ingestor.ingest(Array("{\"x\":1}\n".utf8), into: "t", batchID: "b", options: IngestOptions(), nowNanos: 5)
        do {
            _ = try await f.ingestor.ingest(Array("{\"x\":2}\n".utf8), into: "t", batchID: "b", options: IngestOptions(), nowNanos: 6)
            Issue.record("other rows under a used batch id were accepted")
        } catch {
            guard case .catalog(.batchMismatch(let id, _)) = error else { Issue.record("got \(error)"); return }
            #expect(id == "b")
        }
        #expect(try await f.rows("t").map { $0["x"] } == [.int64(1)])
    }

    /// Regression (issue 23): a retry cut into other parts (another --lines-per-batch) said
    /// "already committed" and lost rows. Now each line is committed once, however cut.
    @Test func aRetryCutDifferentlyCommitsExactlyTheMissingLines() async throws {
        let f = try await IngestFixture.make()
        let input = Array((1...10).map { "{\"line\":\($0)}" }.joined(separator: "\n").utf8)
        let digest = SHA256.hexDigest(input)
        let lines = LineIndex(input)
        _ = try await f.ingestor.ensureTable("t", timeField: nil)
        func commit(_ range: ClosedRange<Int>) async throws -> CommitOutcome {
            var options = IngestOptions()
            options.batch = BatchPart(batchID: "run", inputDigest: digest, lines: range)
            return try await f.ingestor.ingest(lines.bytes(of: range, in: input), into: "t", options: options, nowNanos: 0).outcome
        }
        // The first attempt committed lines 1-3 and 4-6 in parts of three, then died.
        var progress = try await f.catalog.beginBatch(table: "t", batchID: "run", inputDigests: [digest])
        #expect(try await commit(1...3) == .committed)
        #expect(try await commit(4...6) == .committed)
        // A part straddling a committed part is refused (it cannot be committed whole, and
        // committing it partly would need the lines cut again): nothing is written.
        await #expect(throws: IngestError.self) { _ = try await commit(5...8) }
        // The retry cuts in parts of four: it asks what is missing and commits only that.
        progress = try await f.catalog.beginBatch(table: "t", batchID: "run", inputDigests: [digest])
        #expect(progress.uncommitted(inputDigest: digest, lineCount: 10) == [7...10])
        #expect(try await commit(7...10) == .committed)
        // A part the earlier parts cover together is a no-op.
        #expect(try await commit(1...6) == .alreadyCommitted)
        #expect(try await commit(5...8) == .alreadyCommitted)
        let seen = try await f.rows("t").compactMap { row -> Int64? in if case .int64(let v)? = row["line"] { v } else { nil } }
        #expect(seen.sorted() == Array(1...10), "every line exactly once")
    }

    @Test func extentsAreCutByRowsAndTimeWindow() async throws {
        let f = try await IngestFixture.make()
        var options = IngestOptions()
        options.timeField = "t"
        options.timeFormat = .epochMillis
        options.maxRowsPerExtent = 3
        options.timeWindowNanos = 3_600_000_000_000  // one hour
        let lines = (0..<7).map { "{\"t\":\($0 * 1000),\"i\":\($0)}" } + ["{\"t\":7200000,\"i\":7}"]
        let report = try await f.ingestor.ingest(Array(lines.joined(separator: "\n").utf8), into: "t", options: options, nowNanos: 0)
        #expect(report.extents.map(\.rowCount) == [3, 3, 1, 1])
        #expect(report.extents.last?.timeRange == TimeRange(lowerNanos: 7_200_000_000_000, upperNanos: 7_200_000_000_000))
    }

    @Test func textLinesAndTimeFormats() async throws {
        let f = try await IngestFixture.make()
        var options = IngestOptions()
        options.kind = .text
        _ = try await f.ingestor.ingest(Array("first line\r\nsecond line\n".utf8), into: "raw", options: options, nowNanos: 42)
        #expect(try await f.rows("raw").map { $0["_msg"] } == [.string("first line"), .string("second line")])
        #expect(TimeFormat.epochSeconds.nanos(.string("1588205199.82437")) == 1_588_205_199_824_370_000, "exact from the text")
        var epoch = IngestOptions()
        epoch.timeField = "ts"
        epoch.timeFormat = .epochSeconds
        _ = try await f.ingestor.ingest(Array("{\"ts\":1588205199.82437}\n{\"ts\":-1.5}\n".utf8), into: "zeek", options: epoch, nowNanos: 0)
        #expect(try await f.rows("zeek").map { $0["ts"] } == [.timestamp(-1_500_000_000), .timestamp(1_588_205_199_824_370_000)])
        #expect(TimeFormat.epochMicros.nanos(.int64(5)) == 5000)
        #expect(TimeFormat.epochNanos.nanos(.string("17")) == 17)
        #expect(TimeFormat.rfc3339.nanos(.string("2026-13-01T00:00:00Z")) == nil)
        #expect(RFC3339.parse("1970-01-01T00:00:00.000000001Z") == 1)
        #expect(RFC3339.parse("1969-12-31T23:59:59Z") == -1_000_000_000)
    }

    @Test(arguments: ["{", "{\"a\"}", "[1]", "{\"a\":tru}", "{\"a\":1} x", "{\"a\":\"\\x\"}", "{\"a\":01e}", "{\"a\":\"\u{1}\"}"])
    func malformedJSONIsALineError(line: String) {
        let (rows, errors) = LogIngestor.parse(Array(line.utf8), options: IngestOptions(), nowNanos: 0)
        #expect(rows.isEmpty && errors.count == 1 && errors.first?.line == 1, "\(line)")
    }
}
