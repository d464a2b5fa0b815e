// Iceberg operations beyond append, judged by pyiceberg, pyarrow and DuckDB
// (iceberg_check.py): compaction (replace), schema evolution, column metrics and partition
// summaries that pyiceberg's own scan planning relies on, tables pyiceberg created read and
// appended to by Kyma, and concurrent committers losing no commit.

import Foundation
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaIceberg
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport
import Testing

/// A fresh database with the Iceberg SQL catalog, and a local store.
struct IcebergFixture {
    let catalog: PostgresCatalog
    let databaseURL: String
    let root: String
    let tables: IcebergTables

    /// Built by `make` from locals: the fields are set once, synchronously.
    init(catalog: PostgresCatalog, databaseURL: String, root: String, tables: IcebergTables) {
        self.catalog = catalog
        self.databaseURL = databaseURL
        self.root = root
        self.tables = tables
    }

    static func make(_ name: String, targetFileBytes: Int = 128 << 20) async throws -> IcebergFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName(name)
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let databaseURL = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)]) + database
        let catalog = try await PostgresCatalog(url: databaseURL)
        let root = TestServices.makeTemporaryDirectory(name)
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root), storeURI: "file://" + root,
                                   targetFileBytes: targetFileBytes)
        return IcebergFixture(catalog: catalog, databaseURL: databaseURL, root: root, tables: tables)
    }

    var sqlCatalogJSON: String {
        #"{"type":"sql","uri":"\#(databaseURL.replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"))","warehouse":"file://\#(root)/warehouse"}"#
    }

    /// What pyiceberg / pyarrow / DuckDB see (see iceberg_check.py).
    static func judge(_ catalogJSON: String, _ table: String, filter: String? = nil, filePath: String = #filePath) throws -> [String: Any] {
        let script = try String(contentsOfFile: URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("iceberg_check.py").path, encoding: .utf8)
        let printed = try PythonScript.run(script, [catalogJSON, table] + (filter.map { [$0] } ?? []))
        return try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any] ?? [:]
    }
}

func eventBatch(_ ids: Range<Int>, dayOffset: Int = 0, region: Bool = false) throws -> ColumnBatch {
    var id = ColumnBuilder(.int64), level = ColumnBuilder(.string), latency = ColumnBuilder(.float64), ts = ColumnBuilder(.timestamp)
    var regions = ColumnBuilder(.string)
    for i in ids {
        try id.append(.int64(Int64(i)))
        try level.append(i % 5 == 0 ? .null : .string(["info", "warn", "error"][i % 3]))
        try latency.append(.float64(Double(i) * 0.5))
        try ts.append(.timestamp(1_767_225_600_000_000_000 + Int64(dayOffset) * 86_400_000_000_000 + Int64(i) * 1_000_000_000))
        try regions.append(.string(["eu", "us"][i % 2]))
    }
    var columns = [("id", id.finish()), ("level", level.finish()), ("latency", latency.finish()), ("ts", ts.finish())]
    if region { columns.append(("region", regions.finish())) }
    return try ColumnBatch(rowCount: ids.count, columns: columns)
}

@Suite("Iceberg operations", .serialized)
struct IcebergOperationsTests {
    static let fields = IcebergTableTests.fields

    @Test func compactionAndSchemaEvolutionKeepEveryRow() async throws {
        let fixture = try await IcebergFixture.make("kyma_ice_compact")
        let tables = fixture.tables
        let identifier = IcebergTableIdentifier(namespace: "ops", name: "events")
        _ = try await tables.create(identifier, fields: Self.fields, partition: [IcebergPartitionField(sourceID: 4, fieldID: 1000, name: "ts_day", transform: .day)],
                                    nowMillis: 1000)
        // Six small appends over two days: six files per day partition... three each.
        for k in 0..<6 { try await tables.append(identifier, batches: [try eventBatch(k * 20..<k * 20 + 20, dayOffset: k % 2)], nowMillis: 2000 + Int64(k)) }
        #expect(try await tables.dataFiles(identifier).count == 6)
        // Schema evolution: an optional column; old files read it as null.
        let evolved = try await tables.addColumn(identifier, name: "region", type: .string, nowMillis: 3000)
        #expect(evolved.fields.map(\.name) == ["id", "level", "latency", "ts", "region"])
        #expect(evolved.fields.last?.id == 5 && evolved.currentSchemaID == 1)
        await #expect(throws: IcebergError.self) { try await tables.addColumn(identifier, name: "region", type: .string, nowMillis: 3001) }
        try await tables.append(identifier, batches: [try eventBatch(120..<130, region: true)], nowMillis: 4000)
        let before = try await tables.scan(identifier)
        #expect(before.allSatisfy { $0.names == ["id", "level", "latency", "ts", "region"] })
        // Dry run lists, changes nothing.
        let dry = try await tables.compact(identifier, nowMillis: 5000, dryRun: true)
        #expect(dry.rewrittenFiles.count == 7 && dry.partitions.count == 2, "\(dry)")
        #expect(try await tables.dataFiles(identifier).count == 7)
        let done = try await tables.compact(identifier, nowMillis: 5000, dryRun: false)
        #expect(Set(done.rewrittenFiles) == Set(dry.rewrittenFiles))
        #expect(done.addedFiles.count == 2)
        let after = try await tables.scan(identifier)
        func rows(_ batches: [ColumnBatch]) -> [[ScalarValue]] {
            batches.flatMap { b in (0..<b.rowCount).map { r in b.columns.map { $0.value(at: r) } } }.sorted { "\($0)" < "\($1)" }
        }
        #expect(rows(after) == rows(before))
        #expect(try await tables.load(identifier).currentSummary["operation"] == "replace")

        let answer = try IcebergFixture.judge(fixture.sqlCatalogJSON, "ops.events", filter: "id >= 100")
        #expect((answer["schema"] as? [[Any]])?.map { ($0[0] as? Int) ?? 0 } == [1, 2, 3, 4, 5])
        let judged = answer["rows"] as? [[Any]] ?? []
        #expect(judged.count == 130)
        for (i, row) in judged.enumerated() {
            #expect((row[0] as? Int) == i)
            #expect((row[2] as? Double) == Double(i) * 0.5)
            if i >= 120 { #expect(row[4] as? String == ["eu", "us"][i % 2]) } else { #expect(row[4] is NSNull, "old rows read the new column as null") }
        }
        let snapshots = answer["snapshots"] as? [[String: Any]] ?? []
        #expect(snapshots.compactMap { $0["operation"] as? String } == Array(repeating: "append", count: 7) + ["replace"])
        let last = snapshots.last?["summary"] as? [String: String] ?? [:]
        #expect(last["total-records"] == "130" && last["deleted-data-files"] == "7" && last["added-data-files"] == "2" && last["total-data-files"] == "2", "\(last)")
        // Column metrics as pyiceberg decodes them, per file, equal the file's own rows.
        let files = answer["files"] as? [[String: Any]] ?? []
        #expect(files.count == 2)
        for file in files {
            let metrics = file["metrics"] as? [String: [String: Any]] ?? [:]
            let partition = (file["partition"] as? [String: Any])?["ts_day"] as? Int
            let ids = (0..<130).filter { i in (i >= 120 ? 0 : (i / 20) % 2) == (partition ?? -1) - 20454 }
            #expect((file["record_count"] as? Int) == ids.count, "\(file)")
            #expect(metrics["id"]?["lower"] as? Int == ids.min() && metrics["id"]?["upper"] as? Int == ids.max(), "\(metrics["id"] ?? [:])")
            #expect(metrics["level"]?["nulls"] as? Int == ids.filter { $0 % 5 == 0 }.count)
            #expect(metrics["latency"]?["upper"] as? Double == Double(ids.max() ?? 0) * 0.5)
        }
        // pyiceberg plans the filtered scan from Kyma's bounds: it must see every matching row.
        let filtered = answer["filtered"] as? [String: Int] ?? [:]
        #expect(filtered["rows"] == 30)
        #expect(answer["duckdb_rows"] as? Int == 130)
    }

    @Test func manifestStatisticsLetPyicebergPruneFiles() async throws {
        let fixture = try await IcebergFixture.make("kyma_ice_stats")
        let identifier = IcebergTableIdentifier(namespace: "ops", name: "stats")
        _ = try await fixture.tables.create(identifier, fields: Self.fields, nowMillis: 1000)
        for k in 0..<5 { try await fixture.tables.append(identifier, batches: [try eventBatch(k * 100..<k * 100 + 100)], nowMillis: 2000 + Int64(k)) }
        let answer = try IcebergFixture.judge(fixture.sqlCatalogJSON, "ops.stats", filter: "id >= 250 and id < 260")
        let filtered = answer["filtered"] as? [String: Int] ?? [:]
        #expect(filtered["rows"] == 10)
        #expect(filtered["files_planned"] == 1, "bounds prune 4 of 5 files: \(filtered)")
    }

    @Test func kymaReadsAndAppendsToTablesPyicebergCreated() async throws {
        let fixture = try await IcebergFixture.make("kyma_ice_foreign")
        _ = try PythonScript.run("""
            import sys, json, datetime
            import pyarrow as pa
            from pyiceberg.catalog import load_catalog
            from pyiceberg.schema import Schema
            from pyiceberg.types import NestedField, LongType, StringType, DoubleType, TimestamptzType, DateType
            from pyiceberg.partitioning import PartitionSpec, PartitionField
            from pyiceberg.transforms import DayTransform
            c = json.loads(sys.argv[1]); c.pop("type")
            catalog = load_catalog("kyma", type="sql", **c)
            catalog.create_namespace("foreign")
            schema = Schema(NestedField(1, "id", LongType(), required=True), NestedField(2, "level", StringType()),
                            NestedField(3, "latency", DoubleType()), NestedField(4, "ts", TimestamptzType()), NestedField(5, "day", DateType()))
            spec = PartitionSpec(PartitionField(source_id=4, field_id=1000, transform=DayTransform(), name="ts_day"))
            t = catalog.create_table("foreign.events", schema=schema, partition_spec=spec)
            base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
            rows = [{"id": i, "level": None if i % 5 == 0 else ["info", "warn", "error"][i % 3], "latency": i * 0.5,
                     "ts": base + datetime.timedelta(seconds=i), "day": datetime.date(2026, 1, 1) + datetime.timedelta(days=i % 10)} for i in range(50)]
            arrow = pa.Table.from_pylist(rows, schema=pa.schema([pa.field("id", pa.int64(), nullable=False), ("level", pa.string()),
                                                                ("latency", pa.float64()), ("ts", pa.timestamp("us", tz="UTC")), ("day", pa.date32())]))
            t.append(arrow)
            t.append(arrow.slice(0, 0))
            """, [fixture.sqlCatalogJSON])
        let identifier = IcebergTableIdentifier(namespace: "foreign", name: "events")
        let loaded = try await fixture.tables.load(identifier)
        #expect(loaded.fields.map(\.name) == ["id", "level", "latency", "ts", "day"])
        #expect(loaded.fields.last?.date == true)
        #expect(loaded.partition.map(\.transform) == [.day])
        let scanned = try await fixture.tables.scan(identifier)
        let ids = scanned.flatMap { b in (0..<b.rowCount).compactMap { r -> Int64? in if case .int64(let v) = b.column(named: "id")?.value(at: r) { v } else { nil } } }
        #expect(ids.sorted() == (0..<50).map(Int64.init))
        try await fixture.tables.append(identifier, batches: [try eventBatch(50..<80)], nowMillis: 1_767_300_000_000)
        _ = try await fixture.tables.compact(identifier, nowMillis: 1_767_300_000_001, dryRun: false)
        let answer = try IcebergFixture.judge(fixture.sqlCatalogJSON, "foreign.events")
        let rows = answer["rows"] as? [[Any]] ?? []
        #expect(rows.count == 80)
        #expect(rows.enumerated().allSatisfy { ($1[0] as? Int) == $0 })
        #expect(rows.allSatisfy { ($0[3] as? Int) == 1_767_225_600_000_000 + ($0[0] as? Int ?? 0) * 1_000_000 })
        // The date column survives Kyma's compaction (read as midnight, written back as DATE).
        #expect(rows.prefix(50).enumerated().allSatisfy { ($1[4] as? Int) == 20454 + $0 % 10 }, "\(rows.prefix(3))")
        #expect(rows.dropFirst(50).allSatisfy { $0[4] is NSNull })
        #expect((answer["snapshots"] as? [[String: Any]])?.last?["operation"] as? String == "replace")
    }

    @Test func concurrentCommittersLoseNoCommit() async throws {
        let fixture = try await IcebergFixture.make("kyma_ice_race")
        let identifier = IcebergTableIdentifier(namespace: "ops", name: "race")
        _ = try await fixture.tables.create(identifier, fields: Self.fields, nowMillis: 1000)
        // Eight writers, each with its own catalog connection, five appends each.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    let catalog = try await PostgresCatalog(url: fixture.databaseURL)
                    let tables = IcebergTables(catalog: catalog, store: fixture.tables.store, storeURI: "file://" + fixture.root)
                    for k in 0..<5 {
                        let start = (writer * 5 + k) * 10
                        try await tables.append(identifier, batches: [try eventBatch(start..<start + 10)], nowMillis: 2000 + Int64(writer * 5 + k))
                    }
                }
            }
            try await group.waitForAll()
        }
        let answer = try IcebergFixture.judge(fixture.sqlCatalogJSON, "ops.race")
        #expect((answer["snapshots"] as? [Any])?.count == 40)
        let rows = answer["rows"] as? [[Any]] ?? []
        #expect(rows.count == 400 && rows.enumerated().allSatisfy { ($1[0] as? Int) == $0 })
        #expect(((answer["snapshots"] as? [[String: Any]])?.last?["summary"] as? [String: String])?["total-records"] == "400")
    }
}
