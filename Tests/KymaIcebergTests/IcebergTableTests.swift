// Iceberg tables written by Kyma (SQL catalog on the real PostgreSQL, files on a local store)
// are read by pyiceberg's SqlCatalog with identical rows and snapshot summaries; a concurrent
// commit is retried on the new base.

import Foundation
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaIceberg
import KymaObjectStore
import KymaObjectStoreLocal
import KymaTestSupport
import Testing

@Suite("Iceberg tables", .serialized)
struct IcebergTableTests {
    static let fields = [
        IcebergField(id: 1, name: "id", type: .int64, required: true),
        IcebergField(id: 2, name: "level", type: .string),
        IcebergField(id: 3, name: "latency", type: .float64),
        IcebergField(id: 4, name: "ts", type: .timestamp),
    ]

    func batch(_ start: Int, _ count: Int) throws -> ColumnBatch {
        var id = ColumnBuilder(.int64), level = ColumnBuilder(.string), latency = ColumnBuilder(.float64), ts = ColumnBuilder(.timestamp)
        for i in start..<start + count {
            try id.append(.int64(Int64(i)))
            try level.append(i % 5 == 0 ? .null : .string(["info", "warn", "error"][i % 3]))
            try latency.append(.float64(Double(i) * 0.25))
            try ts.append(.timestamp(1_767_225_600_000_000_000 + Int64(i) * 1_000_000_000))
        }
        return try ColumnBatch(rowCount: count, columns: [("id", id.finish()), ("level", level.finish()), ("latency", latency.finish()), ("ts", ts.finish())])
    }

    @Test func pyicebergReadsWhatKymaCommits() async throws {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName("kyma_iceberg")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        let catalog = try await PostgresCatalog(url: base + database)
        let root = TestServices.makeTemporaryDirectory("kyma-iceberg")
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root), storeURI: "file://" + root)
        let identifier = IcebergTableIdentifier(namespace: "logs", name: "events")
        _ = try await tables.create(identifier, fields: Self.fields, nowMillis: 1_767_225_600_000)
        await #expect(throws: IcebergError.self) { _ = try await tables.create(identifier, fields: Self.fields, nowMillis: 0) }
        try await tables.append(identifier, batches: [try batch(0, 300)], summary: ["kafka.offsets": "events:0=300"], nowMillis: 1_767_225_601_000)
        try await tables.append(identifier, batches: [try batch(300, 200), try batch(500, 50)], nowMillis: 1_767_225_602_000)
        let loaded = try await tables.load(identifier)
        #expect(loaded.snapshotSummaries.count == 2)
        #expect(loaded.snapshotSummaries.last?.summary["total-records"] == "550")
        #expect(loaded.snapshotSummaries.first?.summary["kafka.offsets"] == "events:0=300")
        let scanned = try await tables.scan(identifier)
        #expect(scanned.reduce(0) { $0 + $1.rowCount } == 550)

        // The judge: pyiceberg's SqlCatalog on the same PostgreSQL database.
        let script = """
        import sys, json, datetime
        from pyiceberg.catalog.sql import SqlCatalog
        catalog = SqlCatalog("kyma", uri=sys.argv[1], warehouse=sys.argv[2])
        table = catalog.load_table("logs.events")
        rows = table.scan().to_arrow().sort_by("id").to_pylist()
        def norm(v):
            if isinstance(v, datetime.datetime): return int(v.timestamp() * 1000000)
            return v
        print(json.dumps({"namespaces": [".".join(n) for n in catalog.list_namespaces()],
                          "rows": [[norm(r[k]) for k in ("id", "level", "latency", "ts")] for r in rows],
                          "snapshots": [s.summary.additional_properties.get("total-records") if s.summary else None for s in table.snapshots()],
                          "schema": [f.field_id for f in table.schema().fields]}))
        """
        let sqlalchemyURL = (base + database).replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://")
        let printed = try PythonScript.run(script, [sqlalchemyURL, "file://" + root + "/warehouse"])
        let answer = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as? [String: Any]
        #expect(answer?["namespaces"] as? [String] == ["logs"])
        #expect(answer?["schema"] as? [Int] == [1, 2, 3, 4])
        let rows = answer?["rows"] as? [[Any]] ?? []
        #expect(rows.count == 550)
        for (i, row) in rows.enumerated() {
            #expect((row[0] as? NSNumber)?.intValue == i)
            if i % 5 == 0 { #expect(row[1] is NSNull) } else { #expect(row[1] as? String == ["info", "warn", "error"][i % 3]) }
            #expect((row[2] as? NSNumber)?.doubleValue == Double(i) * 0.25)
            #expect((row[3] as? NSNumber)?.int64Value == 1_767_225_600_000_000 + Int64(i) * 1_000_000)
        }
    }

    @Test func expiringSnapshotsAndCleaningOrphansKeepTheTableReadable() async throws {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName("kyma_iceberg_maint")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        let catalog = try await PostgresCatalog(url: base + database)
        let root = TestServices.makeTemporaryDirectory("kyma-iceberg-maint")
        let store = try LocalFileSystemObjectStore(root: root)
        let tables = IcebergTables(catalog: catalog, store: store, storeURI: "file://" + root)
        let identifier = IcebergTableIdentifier(namespace: "logs", name: "m")
        _ = try await tables.create(identifier, fields: Self.fields, nowMillis: 1000)
        for k in 0..<3 { try await tables.append(identifier, batches: [try batch(k * 10, 10)], nowMillis: 2000 + Int64(k) * 1000) }
        // Dry run first: it names the two older manifest lists and deletes nothing.
        let dry = try await tables.expireSnapshots(identifier, olderThanMillis: 10_000, keepLast: 1, nowMillis: 9000, dryRun: true)
        #expect(dry.expiredSnapshots.count == 2)
        #expect(dry.files.count == 2 && dry.files.allSatisfy { $0.contains("/metadata/snap-") })
        #expect(try await tables.load(identifier).snapshotSummaries.count == 3)
        let done = try await tables.expireSnapshots(identifier, olderThanMillis: 10_000, keepLast: 1, nowMillis: 9000, dryRun: false)
        #expect(done.files == dry.files)
        #expect(try await tables.load(identifier).snapshotSummaries.count == 1)
        for file in done.files { await #expect(throws: (any Error).self) { _ = try await store.get(try ObjectKey(String(file.dropFirst(("file://" + root + "/").count)))) } }
        // Every row is still there: fast appends keep the older manifests in the current list.
        #expect(try await tables.scan(identifier).reduce(0) { $0 + $1.rowCount } == 30)
        // An orphan (a file no snapshot references) goes; live files stay; the dry run only lists.
        let orphanKey = try ObjectKey("warehouse/logs/m/data/orphan.parquet")
        try await store.put(orphanKey, [1, 2, 3])
        let far = Int64.max / 2
        let listed = try await tables.cleanupOrphans(identifier, olderThanMillis: far, dryRun: true)
        #expect(listed.files == ["file://" + root + "/warehouse/logs/m/data/orphan.parquet"])
        #expect(try await store.get(orphanKey) == [1, 2, 3])
        let young = try await tables.cleanupOrphans(identifier, olderThanMillis: 0, dryRun: false)
        #expect(young.files.isEmpty, "files younger than the threshold are never orphans")
        _ = try await tables.cleanupOrphans(identifier, olderThanMillis: far, dryRun: false)
        await #expect(throws: (any Error).self) { _ = try await store.get(orphanKey) }
        #expect(try await tables.scan(identifier).reduce(0) { $0 + $1.rowCount } == 30)
        let printed = try PythonScript.run("""
            import sys
            from pyiceberg.catalog.sql import SqlCatalog
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse=sys.argv[2]).load_table("logs.m")
            print(t.scan().to_arrow().num_rows, len(t.snapshots()))
            """, [(base + database).replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), "file://" + root + "/warehouse"])
        #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == "30 1")
    }

    @Test func partitionedTablesAgreeWithPyicebergTransforms() async throws {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName("kyma_iceberg_part")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        let catalog = try await PostgresCatalog(url: base + database)
        let root = TestServices.makeTemporaryDirectory("kyma-iceberg-part")
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root), storeURI: "file://" + root)
        let identifier = IcebergTableIdentifier(namespace: "logs", name: "parts")
        await #expect(throws: IcebergError.self) {
            _ = try await tables.create(identifier, fields: Self.fields, partition: [IcebergPartitionField(sourceID: 2, fieldID: 1000, name: "x", transform: .day)], nowMillis: 0)
        }
        _ = try await tables.create(identifier, fields: Self.fields, partition: [
            IcebergPartitionField(sourceID: 4, fieldID: 1000, name: "ts_day", transform: .day),
            IcebergPartitionField(sourceID: 1, fieldID: 1001, name: "id_bucket", transform: .bucket(4)),
            IcebergPartitionField(sourceID: 2, fieldID: 1002, name: "level", transform: .identity),
        ], nowMillis: 1000)
        // 400 rows one hour apart (about 17 days), three levels with nulls.
        var id = ColumnBuilder(.int64), level = ColumnBuilder(.string), latency = ColumnBuilder(.float64), ts = ColumnBuilder(.timestamp)
        for i in 0..<400 {
            try id.append(.int64(Int64(i)))
            try level.append(i % 7 == 0 ? .null : .string(["info", "warn", "error"][i % 3]))
            try latency.append(.float64(Double(i)))
            try ts.append(.timestamp(1_767_225_600_000_000_000 + Int64(i) * 3_600_000_000_000))
        }
        let batch = try ColumnBatch(rowCount: 400, columns: [("id", id.finish()), ("level", level.finish()), ("latency", latency.finish()), ("ts", ts.finish())])
        try await tables.append(identifier, batches: [batch], nowMillis: 2000)
        #expect(try await tables.scan(identifier).reduce(0) { $0 + $1.rowCount } == 400)
        let printed = try PythonScript.run("""
            import sys
            from pyiceberg.catalog.sql import SqlCatalog
            from pyiceberg.transforms import DayTransform, BucketTransform
            from pyiceberg.types import TimestamptzType, LongType
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse=sys.argv[2]).load_table("logs.parts")
            day, bucket = DayTransform().transform(TimestamptzType()), BucketTransform(4).transform(LongType())
            problems, files, rows = [], 0, 0
            for f in t.inspect.files().to_pylist():
                files += 1
                p = f["partition"]
                import pyarrow.parquet as pq
                table = pq.read_table(f["file_path"].replace("file://", ""))
                rows += table.num_rows
                import datetime
                file_day = p["ts_day"]
                if isinstance(file_day, datetime.date): file_day = (file_day - datetime.date(1970, 1, 1)).days
                for r in table.to_pylist():
                    us = int(r["ts"].timestamp() * 1000000)
                    if day(us) != file_day or bucket(r["id"]) != p["id_bucket"] or r["level"] != p["level"]:
                        problems.append((r["id"], p))
            total = t.scan().to_arrow().num_rows
            print(files, rows, total, len(problems), problems[:3])
            """, [(base + database).replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), "file://" + root + "/warehouse"])
        let parts = printed.split(separator: " ")
        #expect(parts.count >= 4)
        #expect(Int(parts[0]) ?? 0 > 17, "one file per (day, bucket, level): \(printed)")
        #expect(parts[1] == "400" && parts[2] == "400", "\(printed)")
        #expect(parts[3] == "0", "every row's transforms equal its file's partition, by pyiceberg's own transforms: \(printed)")
    }

    @Test func yearMonthAndTruncateAgreeWithPyiceberg() async throws {
        // 300 rows 13 days apart from 1965 to 1976 (negative times floor, leap years, month ends),
        // ids from -1000 by 7 (negative truncation), levels with multi-byte characters.
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let database = TestServices.uniqueName("kyma_iceberg_ymt")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(database)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        let catalog = try await PostgresCatalog(url: base + database)
        let root = TestServices.makeTemporaryDirectory("kyma-iceberg-ymt")
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root), storeURI: "file://" + root)
        let identifier = IcebergTableIdentifier(namespace: "logs", name: "ymt")
        await #expect(throws: IcebergError.self, "month of a string column") {
            _ = try await tables.create(identifier, fields: Self.fields, partition: [IcebergPartitionField(sourceID: 2, fieldID: 1000, name: "x", transform: .month)], nowMillis: 0)
        }
        _ = try await tables.create(identifier, fields: Self.fields, partition: [
            IcebergPartitionField(sourceID: 4, fieldID: 1000, name: "ts_year", transform: .year),
            IcebergPartitionField(sourceID: 4, fieldID: 1001, name: "ts_month", transform: .month),
            IcebergPartitionField(sourceID: 1, fieldID: 1002, name: "id_trunc", transform: .truncate(100)),
            IcebergPartitionField(sourceID: 2, fieldID: 1003, name: "level_trunc", transform: .truncate(2)),
        ], nowMillis: 1000)
        var id = ColumnBuilder(.int64), level = ColumnBuilder(.string), latency = ColumnBuilder(.float64), ts = ColumnBuilder(.timestamp)
        let start: Int64 = -142_128_000_000_000_000  // 1965-07-01T00:00:00Z
        for i in 0..<300 {
            try id.append(.int64(Int64(i * 7 - 1000)))
            try level.append(i % 11 == 0 ? .null : .string(["info", "wärn", "érror", "x"][i % 4]))
            try latency.append(.float64(Double(i)))
            try ts.append(.timestamp(start + Int64(i) * 13 * 86_400_000_000_000 + Int64(i % 24) * 3_600_000_000_000))
        }
        let batch = try ColumnBatch(rowCount: 300, columns: [("id", id.finish()), ("level", level.finish()), ("latency", latency.finish()), ("ts", ts.finish())])
        try await tables.append(identifier, batches: [batch], nowMillis: 2000)
        let printed = try PythonScript.run("""
            import sys, datetime
            import pyarrow.parquet as pq
            from pyiceberg.catalog.sql import SqlCatalog
            from pyiceberg.transforms import YearTransform, MonthTransform, TruncateTransform
            from pyiceberg.types import TimestamptzType, LongType, StringType
            from pyiceberg.expressions import EqualTo
            t = SqlCatalog("kyma", uri=sys.argv[1], warehouse=sys.argv[2]).load_table("logs.ymt")
            year, month = YearTransform().transform(TimestamptzType()), MonthTransform().transform(TimestamptzType())
            tid, tlevel = TruncateTransform(100).transform(LongType()), TruncateTransform(2).transform(StringType())
            problems, files, rows, months = [], 0, 0, set()
            for f in t.inspect.files().to_pylist():
                files += 1
                p = f["partition"]
                table = pq.read_table(f["file_path"].replace("file://", ""))
                rows += table.num_rows
                for r in table.to_pylist():
                    d = r["ts"] - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
                    us = (d.days * 86400 + d.seconds) * 1000000 + d.microseconds
                    months.add(month(us))
                    got = (p["ts_year"], p["ts_month"], p["id_trunc"], p["level_trunc"])
                    want = (year(us), month(us), tid(r["id"]), tlevel(r["level"]) if r["level"] is not None else None)
                    if got != want: problems.append((r["id"], got, want))
            # pyiceberg prunes files by these partition values: a filter must still find every match.
            pruned = t.scan(row_filter=EqualTo("level", "wärn")).to_arrow().num_rows
            print(files, rows, len(months), pruned, len(problems), problems[:3])
            """, [(base + database).replacingOccurrences(of: "postgres://", with: "postgresql+psycopg2://"), "file://" + root + "/warehouse"])
        let parts = printed.split(separator: " ")
        #expect(parts.count >= 5)
        #expect(parts[1] == "300" && Int(parts[2]) ?? 0 > 100, "rows, and the months they span: \(printed)")
        let expectedWarn = (0..<300).filter { $0 % 11 != 0 && $0 % 4 == 1 }.count
        #expect(parts[3] == "\(expectedWarn)", "\(printed)")
        #expect(parts[4] == "0", "each row's year, month and truncations equal its file's partition, by pyiceberg's transforms: \(printed)")
        // Every file's recorded bounds read back as the least and greatest value it holds.
        let table = try await tables.load(identifier)
        var checked = 0
        for file in try await tables.dataFiles(of: table) {
            let rows = try await tables.read(file, of: table)
            for field in table.fields {
                let values = rows.flatMap { batch in (0..<batch.rowCount).compactMap { batch.column(named: field.name)?.value(at: $0) } }.filter { $0 != .null }
                let sorted = values.sorted { ScalarOrder.compare($0, $1) ?? 0 < 0 }
                let bounds = file.bounds(of: field)
                #expect(bounds?.lower == sorted.first && bounds?.upper == sorted.last, "\(field.name) in \(file.path)")
                checked += 1
            }
        }
        #expect(checked >= 8)
    }
}
