// The catalog goes away at the worst moment (objects uploaded, the commit or the swap not yet
// made): the write fails with a catalog error, nothing is half-visible, a retry after the
// catalog returns commits each row once, and the garbage collector removes what the failed
// attempt left in the store. The outage is a TCP proxy in front of the real PostgreSQL, cut
// while an upload is held at a gated store.

import Testing
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaFormat
import KymaFormatTLM
@testable import KymaIngest
import KymaObjectStore
import KymaTestSupport

struct OutageFixture {
    let ingest: IngestFixture
    let proxy: TCPProxy
    let proxied: PostgresCatalog
    let gate = StoreGate()

    static func make() async throws -> OutageFixture {
        let ingest = try await IngestFixture.make()
        // The fixture's own database, reached through the proxy.
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let port = Int(admin.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 5432
        let proxy = try TCPProxy(targetPort: port)
        let database = ingest.catalog.description.split(separator: "/").last.map(String.init) ?? ""
        let proxied = try await PostgresCatalog(url: "postgres://postgres@127.0.0.1:\(proxy.port)/\(database)?connect_timeout=2")
        return OutageFixture(ingest: ingest, proxy: proxy, proxied: proxied)
    }

    var store: GatedStore { GatedStore(base: ingest.store, gate: gate) }

    /// Runs `write` with the store's puts held; once one is held, cuts the catalog, lets the put
    /// through, and returns the write's outcome (which must be a failure) after restoring.
    func cutDuringUpload<T: Sendable>(_ write: @escaping @Sendable () async throws -> T) async throws -> Result<T, any Error> {
        gate.close()
        let task = Task { try await write() }
        #expect(await gate.waitForWaiter(seconds: 60), "an upload reached the store")
        proxy.cut()
        gate.open()
        let outcome = await task.result
        proxy.restore()
        return outcome
    }

    /// Every object under the table's prefix in the store.
    func objects() async throws -> [String] {
        try await ingest.store.listAll(prefix: "tables/").map(\.key.rawValue)
    }
}

@Suite("Catalog outages")
struct CatalogOutageTests {
    static var options: IngestOptions {
        var options = IngestOptions()
        options.timeField = "ts"
        return options
    }

    static func lines(_ ids: Range<Int>) -> [UInt8] {
        Array(ids.map { #"{"ts":"2026-12-01T10:00:\#(String(format: "%02d", $0 % 60))Z","id":\#($0)}"# }.joined(separator: "\n").utf8) + [0x0A]
    }

    @Test func anOutageDuringTheIngestCommitLosesNothing() async throws {
        let f = try await OutageFixture.make()
        let options = Self.options
        let input = Self.lines(0..<3000)
        let ingestor = LogIngestor(catalog: f.proxied, store: f.store, formats: FormatRegistry([TLMFormat()]))
        let failed = try await f.cutDuringUpload {
            try await ingestor.ingest(input, into: "t", batchID: "outage-1", options: options, nowNanos: 0)
        }
        guard case .failure(let error) = failed, case IngestError.catalog = error else {
            Issue.record("the commit went through a cut catalog: \(failed)")
            return
        }
        #expect(try await f.ingest.catalog.extents(table: "t", matching: .all).isEmpty, "nothing is visible")
        #expect(try await f.objects().count == 1, "the failed attempt left its upload")
        // The catalog is back: the same batch again commits each row once.
        let retry = try await ingestor.ingest(input, into: "t", batchID: "outage-1", options: options, nowNanos: 0)
        #expect(retry.outcome == .committed && retry.rowsWritten == 3000)
        let again = try await ingestor.ingest(input, into: "t", batchID: "outage-1", options: options, nowNanos: 0)
        #expect(again.outcome == .alreadyCommitted)
        let ids = try await f.ingest.rows("t").compactMap { $0["id"] }
        #expect(ids.count == 3000 && Set(ids).count == 3000)
        // The collector takes the abandoned upload (its registration first), and only it.
        let report = try await GarbageCollector(catalog: f.ingest.catalog, store: f.ingest.store, uploadGraceSeconds: 0).collect(nowMillis: Int64.max / 2)
        #expect(report.abandonedUploads + report.unreferencedObjects == 1, "\(report)")
        let left = try await f.objects()
        let known = try await f.ingest.catalog.knownObjectKeys(left)
        #expect(left.count == 1 && known.count == 1, "what is left is the committed extent")
        f.proxy.stop()
    }

    @Test func anOutageDuringACompactionSwapLosesNothing() async throws {
        let f = try await OutageFixture.make()
        let options = Self.options
        let direct = LogIngestor(catalog: f.ingest.catalog, store: f.ingest.store, formats: FormatRegistry([TLMFormat()]))
        for part in 0..<4 { _ = try await direct.ingest(Self.lines((part * 500)..<(part * 500 + 500)), into: "t", options: options, nowNanos: 0) }
        let compactor = Compactor(catalog: f.proxied, store: f.store, formats: FormatRegistry([TLMFormat()]), graceSeconds: 0)
        #expect(try await compactor.plan(table: "t").count == 1)
        let failed = try await f.cutDuringUpload { try await compactor.runOnce(owner: "w1", leaseSeconds: 1) }
        guard case .failure = failed else {
            Issue.record("the swap went through a cut catalog: \(failed)")
            return
        }
        #expect(try await f.ingest.catalog.extents(table: "t", matching: .all).count == 4, "the inputs still stand")
        // Once the failed worker's lease lapses, another worker runs the unit to the end.
        var outcome: Compactor.Outcome? = nil
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while outcome == nil, ContinuousClock.now < deadline {
            outcome = try await compactor.runOnce(owner: "w2", leaseSeconds: 30)
            if outcome == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(outcome == .merged(inputs: 4, outputs: 1, rows: 2000), "\(String(describing: outcome))")
        let ids = try await f.ingest.rows("t").compactMap { $0["id"] }
        #expect(ids.count == 2000 && Set(ids).count == 2000, "each row once")
        let report = try await GarbageCollector(catalog: f.ingest.catalog, store: f.ingest.store, uploadGraceSeconds: 0).collect(nowMillis: Int64.max / 2)
        #expect(report.retiredExtents == 4 && report.abandonedUploads + report.unreferencedObjects == 1, "\(report)")
        let objects = try await f.objects()
        let known = try await f.ingest.catalog.knownObjectKeys(objects)
        #expect(objects.count == 1 && known.count == 1)
        f.proxy.stop()
    }
}
