// The rows-to-iceberg pipeline on the real catalog (its Iceberg SQL catalog) and a local store:
// a CSV object becomes a new table with the CSV's columns and rows; a job run again appends
// nothing; a later object with a new column adds it (earlier rows null); a JSON-lines object
// with a value of another type fails its job naming the column; a new version of an object
// replaces its rows in one overwrite snapshot.

import Foundation
@testable import KymaBuckets
import KymaCatalog
import KymaCore
import KymaIceberg
import KymaObjectStore
import KymaTestSupport
import Testing

@Suite("Rows to Iceberg", .serialized)
struct RowsToIcebergTests {
    @Test func objectsBecomeOneAppendEach() async throws {
        let f = try await BucketFixture.make()
        let tables = IcebergTables(catalog: f.catalog, store: f.store, storeURI: "file://\(f.store.root)/")
        _ = try await f.catalog.createBucket(named: "b", settings: [:])
        let rule = try await f.catalog.createRule(BucketRule(bucket: "b", name: "csv", pipeline: "rows-to-iceberg", destination: "lake.sales",
                                                             options: ["time_field": "at"], include: ["**/*.csv", "**/*.json"]))
        let first = try await f.put("b", "2026/a.csv", Array("id,item,price,at\n1,pen,1.5,2026-12-07T10:00:00Z\n2,\"ink, blue\",3,2026-12-07T11:00:00Z\n".utf8))
        var worker = f.worker("w")
        worker.iceberg = RowsToIceberg(tables: tables)
        var outcomes: [BucketWorker.Outcome] = []
        while let outcome = try await worker.runOnce(nowNanos: { 1_796_640_000_000_000_000 }) { outcomes.append(outcome) }
        #expect(outcomes.count == 1)
        let identifier = IcebergTableIdentifier(namespace: "lake", name: "sales")
        var table = try await tables.load(identifier)
        #expect(table.fields.map(\.name) == ["id", "item", "price", "at"] && table.fields.map(\.type) == [.int64, .string, .float64, .timestamp])
        var scanned = try await tables.scan(identifier)
        #expect(scanned.reduce(0) { $0 + $1.rowCount } == 2)
        #expect(scanned.first?.column(named: "item")?.value(at: 1) == .string("ink, blue"))

        // The same job again (its worker died before marking it done): nothing appended.
        let job = IngestJob(bucket: "b", key: "2026/a.csv", etag: first.etag, rule: rule.id)
        let again = try await RowsToIceberg(tables: tables).run(job, rule: rule, object: first, bytes: try await f.store.get(try ObjectKey(first.storageKey)),
                                                                 nowMillis: 1_796_640_000_000)
        #expect(again == RowsToIceberg.Report(rows: 0, alreadyCommitted: true))

        try await f.put("b", "2026/b.csv", Array("id,item,price,at,region\n3,cup,2.25,2026-12-07T12:00:00Z,eu\n".utf8))
        try await f.put("b", "2026/c.json", Array("{\"id\":\"four\",\"item\":\"x\"}\n".utf8))
        outcomes = []
        while let outcome = try await worker.runOnce(nowNanos: { 1_796_640_000_000_000_000 }) { outcomes.append(outcome) }
        table = try await tables.load(identifier)
        #expect(table.fields.map(\.name) == ["id", "item", "price", "at", "region"], "the new column is added")
        scanned = try await tables.scan(identifier)
        let regions = scanned.flatMap { batch in (0..<batch.rowCount).map { batch.column(named: "region")?.value(at: $0) ?? .null } }
        #expect(regions.sorted { JSONValue.render($0) < JSONValue.render($1) } == [.string("eu"), .null, .null])
        guard let failure = outcomes.first(where: { if case .failed = $0 { true } else { false } }), case .failed(_, let error) = failure else {
            Issue.record("the mistyped JSON object did not fail: \(outcomes)")
            return
        }
        #expect(error.contains("'id'") && error.contains("int64"), "\(error)")

        // A new version of a.csv: its one row replaces its two, in one overwrite snapshot.
        try await f.put("b", "2026/a.csv", Array("id,item,price,at\n9,nib,0.5,2026-12-07T13:00:00Z\n".utf8))
        outcomes = []
        while let outcome = try await worker.runOnce(nowNanos: { 1_796_640_000_000_000_000 }) { outcomes.append(outcome) }
        #expect(outcomes.contains { if case .appended(_, 1, false) = $0 { true } else { false } }, "\(outcomes)")
        scanned = try await tables.scan(identifier)
        let ids = scanned.flatMap { batch in (0..<batch.rowCount).compactMap { batch.column(named: "id")?.value(at: $0) } }
        #expect(Set(ids) == [.int64(3), .int64(9)], "rows 1 and 2 went with their version; row 3 (another object) stays")
        table = try await tables.load(identifier)
        #expect(table.currentSummary["operation"] == "overwrite" && table.currentSummary["deleted-records"] == "2", "\(table.currentSummary)")
    }
}
