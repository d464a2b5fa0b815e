// Compaction as catalog work units: merged content equals the inputs, the swap is atomic,
// racing workers never process a unit twice, and garbage collection waits for its grace period.

import Testing
import KymaCatalog
import KymaCore
import KymaFormat
import KymaFormatTLM
@testable import KymaIngest
import KymaObjectStore
import KymaTestSupport

@Suite("Compactor")
struct CompactorTests {
    func ingestSmallBatches(_ f: IngestFixture, table: String, batches: Int) async throws -> [[String: ScalarValue]] {
        var options = IngestOptions()
        options.timeField = "ts"
        options.timeFormat = .epochSeconds
        for b in 0..<batches {
            let lines = (0..<5).map { i in
                b % 2 == 0 ? "{\"ts\":\(1000 + b * 10 + i),\"v\":\(b * 10 + i),\"svc\":\"s\(i)\"}" : "{\"ts\":\(1000 + b * 10 + i),\"v\":\"text-\(i)\",\"extra\":true}"
            }
            _ = try await f.ingestor.ingest(Array(lines.joined(separator: "\n").utf8), into: table, options: options, nowNanos: 0)
        }
        return try await f.rows(table)
    }

    /// Rows as sorted text lines, so contents compare regardless of extent order and typing.
    func canonical(_ rows: [[String: ScalarValue]]) -> [String] {
        rows.map { row in
            row.keys.sorted().map { key -> String in
                switch row[key]! {
                case .int64(let v): "\(key)=\(v)"
                case .string(let v): "\(key)=\(v)"
                case .bool(let v): "\(key)=\(v)"
                case .timestamp(let v): "\(key)=t\(v)"
                case .float64(let v): "\(key)=\(v)"
                default: "\(key)=?"
                }
            }.joined(separator: ",")
        }.sorted()
    }

    @Test func mergesSmallExtentsWithoutChangingTheRows() async throws {
        let f = try await IngestFixture.make()
        let before = try await ingestSmallBatches(f, table: "logs", batches: 6)
        #expect(try await f.catalog.extents(table: "logs", matching: .all).count == 6)
        let compactor = Compactor(catalog: f.catalog, store: f.store, formats: FormatRegistry([TLMFormat()]), graceSeconds: 3600)
        let units = try await compactor.plan(table: "logs")
        #expect(units.count == 1)
        #expect(try await compactor.plan(table: "logs") == units, "planning twice queues nothing new")
        let outcome = try await compactor.runOnce(owner: "w1")
        #expect(outcome == .merged(inputs: 6, outputs: 1, rows: 30))
        #expect(try await compactor.runOnce(owner: "w1") == nil)
        let extents = try await f.catalog.extents(table: "logs", matching: .all)
        #expect(extents.count == 1)
        // Mixed types across inputs (v is int in some, text in others) become text in the merge;
        // the canonical form prints both the same way, so the row multisets must be equal.
        #expect(canonical(try await f.rows("logs")) == canonical(before))
        // The old objects stay until their grace period passes.
        let collector = GarbageCollector(catalog: f.catalog, store: f.store)
        #expect(try await collector.collectRetired(table: nil) == 0)
        #expect(try await f.store.listAll(prefix: "").count == 7)
        _ = try await f.catalog.executeForTesting("UPDATE extents SET delete_after = now() - interval '1 second' WHERE state = 'retired'")
        #expect(try await collector.collectRetired(table: "logs") == 6)
        #expect(try await f.store.listAll(prefix: "").map(\.key.rawValue) == [extents[0].objectKey])
    }

    /// After the table's options change, `rewrite` rewrites every extent (here one large one,
    /// which plain compaction leaves alone) with the new options: same rows, new block size.
    @Test func rewriteAppliesTheTablesCurrentOptions() async throws {
        let f = try await IngestFixture.make()
        let before = try await ingestSmallBatches(f, table: "logs", batches: 2)
        let formats = FormatRegistry([TLMFormat()])
        let compactor = Compactor(catalog: f.catalog, store: f.store, formats: formats, smallExtentBytes: 1, graceSeconds: 3600)
        #expect(try await compactor.plan(table: "logs").isEmpty, "no extent is small: plain compaction has nothing to do")
        _ = try await f.catalog.setTableOptions(named: "logs", options: ["block_rows": "2"])
        #expect(try await compactor.plan(table: "logs", rewrite: true).count == 1)
        #expect(try await compactor.runOnce(owner: "w") == .merged(inputs: 2, outputs: 1, rows: 10))
        let extents = try await f.catalog.extents(table: "logs", matching: .all)
        let reader = try await formats.open(store: f.store, key: try ObjectKey(extents[0].objectKey), size: Int(extents[0].byteSize))
        #expect(reader.blockCount == 5, "10 rows in blocks of 2 (the ingest wrote one block per extent)")
        #expect(canonical(try await f.rows("logs")) == canonical(before))
    }

    /// Regression (issue 23): `kyma compact --table B --grace-seconds 0` deleted table A's
    /// replaced objects, ignoring A's grace. Each retired object now keeps its own deadline.
    @Test func eachReplacedObjectKeepsTheGraceOfItsOwnSwap() async throws {
        let f = try await IngestFixture.make()
        _ = try await ingestSmallBatches(f, table: "a", batches: 3)
        _ = try await ingestSmallBatches(f, table: "b", batches: 3)
        let formats = FormatRegistry([TLMFormat()])
        let patient = Compactor(catalog: f.catalog, store: f.store, formats: formats, graceSeconds: 3600)
        let eager = Compactor(catalog: f.catalog, store: f.store, formats: formats, graceSeconds: 0)
        _ = try await patient.plan(table: "a")
        #expect(try await patient.runOnce(owner: "w") == .merged(inputs: 3, outputs: 1, rows: 15))
        _ = try await eager.plan(table: "b")
        #expect(try await eager.runOnce(owner: "w") == .merged(inputs: 3, outputs: 1, rows: 15))
        let collector = GarbageCollector(catalog: f.catalog, store: f.store)
        #expect(try await collector.collectRetired(table: "b") == 3, "b's replaced objects are due at once")
        #expect(try await collector.collectRetired(table: nil) == 0, "a's stay for their hour, whoever collects")
        let aTableID = try #require(try await f.catalog.table(named: "a")).id
        #expect(try await f.store.listAll(prefix: "tables/\(aTableID)/").count == 4, "a's three inputs and its merge")
    }

    @Test func racingWorkersNeverMergeTwice() async throws {
        let f = try await IngestFixture.make()
        let before = try await ingestSmallBatches(f, table: "logs", batches: 4)
        let compactor = Compactor(catalog: f.catalog, store: f.store, formats: FormatRegistry([TLMFormat()]))
        _ = try await compactor.plan(table: "logs")
        let outcomes = try await withThrowingTaskGroup(of: Compactor.Outcome?.self) { group in
            for worker in 0..<4 { group.addTask { try await compactor.runOnce(owner: "w\(worker)") } }
            return try await group.reduce(into: [Compactor.Outcome?]()) { $0.append($1) }
        }
        #expect(outcomes.compactMap { $0 }.count == 1, "one worker merged; the others found no unit")
        #expect(try await f.rows("logs").count == before.count)
        #expect(try await f.catalog.extents(table: "logs", matching: .all).count == 1)
    }

    @Test func aUnitWhoseInputsChangedLosesTheRace() async throws {
        let f = try await IngestFixture.make()
        _ = try await ingestSmallBatches(f, table: "logs", batches: 3)
        let compactor = Compactor(catalog: f.catalog, store: f.store, formats: FormatRegistry([TLMFormat()]))
        _ = try await compactor.plan(table: "logs")
        // Another compaction retires one input first.
        let extents = try await f.catalog.extents(table: "logs", matching: .all)
        try await f.catalog.replaceExtents(table: "logs", retiring: [extents[0].id], adding: [], graceSeconds: 0)
        #expect(try await compactor.runOnce(owner: "w") == .lostRace)
        #expect(try await f.catalog.extents(table: "logs", matching: .all).count == 2)
    }

    @Test func payloadsRoundTrip() {
        let parsed = Compactor.parsePayload("{\"table\": \"we\\\"ird\", \"extents\": [\"a\", \"b\"]}")
        #expect(parsed?.0 == "we\"ird" && parsed?.1 == ["a", "b"])
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
