// `kyma roundtrip`: exercises the object store and the catalog end to end and says what it did.
// Everything it creates it removes again, so it can run against a live deployment.

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaObjectStore
import KymaRuntime

struct Roundtrip: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write, read, list and delete an object; create a table, commit an extent, prune, drop; print each step.")

    @OptionGroup var services: ServiceOptions

    func run() async throws {
        let opened = try await services.open()
        let store = opened.store, catalog = opened.catalog
        let runID = ExtentID.random().uuid.prefix(8)
        do {
            // Object store.
            let key = try ObjectKey("roundtrip/\(runID)/hello.bin")
            let payload = Array("hello from kyma roundtrip \(runID)\n".utf8)
            try await store.put(key, payload)
            print("store  put          \(key) (\(payload.count) bytes) -> \(store.description)")
            let back = try await store.get(key)
            print("store  get          \(key) -> \(back.count) bytes, \(back == payload ? "identical" : "DIFFERENT")")
            let tail = try await store.get(key, range: .suffix(length: 6))
            print("store  get suffix 6 -> \(String(decoding: tail, as: UTF8.self).debugDescription)")
            do {
                try await store.putIfAbsent(key, payload)
                print("store  putIfAbsent  UNEXPECTEDLY created an existing key")
                throw ExitCode.failure
            } catch let error as ObjectStoreError where error.kind == .alreadyExists {
                print("store  putIfAbsent  existing key -> alreadyExists (as it must)")
            }
            let listed = try await store.listAll(prefix: "roundtrip/\(runID)/")
            print("store  list         roundtrip/\(runID)/ -> \(listed.map(\.key.rawValue))")
            try await store.delete(key)
            try await store.delete(key)
            print("store  delete       \(key) (twice: idempotent)")

            // Catalog.
            let tableName = "roundtrip_\(runID)"
            let table = try await catalog.createTable(TableDefinition(name: tableName, formatName: "none"))
            print("catalog create table \(table.name) (id \(table.id))")
            let extent = ExtentRecord(
                formatName: "none", formatVersion: 1, objectKey: key.rawValue, byteSize: Int64(payload.count), rowCount: 1,
                timeRange: TimeRange(lowerNanos: 1_000, upperNanos: 2_000),
                columnStatistics: ["status": ColumnStatistics(min: .int64(200), max: .int64(204), nullCount: 0)],
                presentPaths: ["status"])
            let digest = SHA256.hexDigest(payload)
            let part = BatchPart(batchID: "batch-\(runID)", inputDigest: digest, lines: 1...1)
            _ = try await catalog.beginBatch(table: tableName, batchID: part.batchID, inputDigests: [digest])
            try await catalog.registerUploads(table: tableName, objectKeys: [key.rawValue])
            let outcome = try await catalog.commitExtents(table: tableName, extents: [extent], batch: part)
            var retry = extent  // a retry writes its own extent: the batch part makes it a no-op
            retry.id = ExtentID.random()
            retry.objectKey = key.rawValue + ".retry"
            try await catalog.registerUploads(table: tableName, objectKeys: [retry.objectKey])
            let again = try await catalog.commitExtents(table: tableName, extents: [retry], batch: part)
            print("catalog commit extent \(extent.id) -> \(outcome); same batch lines again -> \(again)")
            let hit = try await catalog.extents(table: tableName, matching: ExtentFilter(
                timeRange: TimeRange(lowerNanos: 1_500, upperNanos: 9_000),
                columnConditions: [ColumnRangeCondition(column: "status", lower: .int64(200), upper: .int64(200))]))
            let miss = try await catalog.extents(table: tableName, matching: ExtentFilter(
                columnConditions: [ColumnRangeCondition(column: "status", lower: .int64(500), upper: .int64(599))]))
            print("catalog prune status==200 in time [1500, 9000] -> \(hit.count) extent; status in [500, 599] -> \(miss.count) extents")
            try await catalog.dropTable(named: tableName)
            print("catalog drop table \(tableName)")
            guard back == payload, hit.count == 1, miss.isEmpty, outcome == .committed, again == .alreadyCommitted else {
                printError("roundtrip found a wrong answer (see above)")
                throw ExitCode.failure
            }
            print("roundtrip ok")
        } catch let error as ObjectStoreError {
            printError(error.description)
            throw ExitCode.failure
        } catch let error as CatalogError {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
