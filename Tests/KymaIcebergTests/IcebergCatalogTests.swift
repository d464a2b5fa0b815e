// The same table life (create, appends, schema evolution, compaction, snapshot expiry) through
// the REST catalog (harness/iceberg-rest-catalog: pyiceberg's catalog logic serving the REST
// spec, so pyiceberg accepts or refuses every requirement and update Kyma sends) and through AWS
// Glue (moto's Glue on 127.0.0.1), each judged by pyiceberg's own client for that catalog.

import Foundation
import KymaCatalog
import KymaCore
import KymaIceberg
import KymaIcebergCatalogs
import KymaObjectStoreLocal
import KymaTestSupport
import Testing

@Suite("Iceberg REST and Glue catalogs", .serialized)
struct IcebergCatalogTests {
    /// Runs the table life on `catalog` and returns the namespace-qualified table name.
    func life(_ catalog: any IcebergTableCatalog, root: String, namespace: String) async throws -> IcebergTables {
        let tables = IcebergTables(catalog: catalog, store: try LocalFileSystemObjectStore(root: root), storeURI: "file://" + root)
        let identifier = IcebergTableIdentifier(namespace: namespace, name: "events")
        _ = try await tables.create(identifier, fields: IcebergTableTests.fields,
                                    partition: [IcebergPartitionField(sourceID: 4, fieldID: 1000, name: "ts_day", transform: .day)], nowMillis: 1000)
        await #expect(throws: IcebergError.self) { _ = try await tables.create(identifier, fields: IcebergTableTests.fields, nowMillis: 1001) }
        for k in 0..<4 {
            try await tables.append(identifier, batches: [try eventBatch(k * 25..<k * 25 + 25, dayOffset: k % 2)],
                                    summary: ["kafka.offsets": "events:0=\((k + 1) * 25)"], nowMillis: 2000 + Int64(k))
        }
        try await tables.addColumn(identifier, name: "region", type: .string, nowMillis: 3000)
        try await tables.append(identifier, batches: [try eventBatch(100..<110, region: true)], nowMillis: 4000)
        let compacted = try await tables.compact(identifier, nowMillis: 5000, dryRun: false)
        #expect(compacted.addedFiles.count == 2)
        let expired = try await tables.expireSnapshots(identifier, olderThanMillis: 2002, keepLast: 1, nowMillis: 6000, dryRun: false)
        #expect(expired.expiredSnapshots.count == 2)
        #expect(try await tables.scan(identifier).reduce(0) { $0 + $1.rowCount } == 110)
        #expect(try await catalog.icebergTables(namespace: namespace) == [identifier])
        #expect(try await catalog.namespaces().contains(namespace))
        return tables
    }

    func check(_ answer: [String: Any]) {
        let rows = answer["rows"] as? [[Any]] ?? []
        #expect(rows.count == 110)
        #expect(rows.enumerated().allSatisfy { ($1[0] as? Int) == $0 })
        #expect(rows.allSatisfy { ($0[0] as? Int ?? 0) >= 100 ? $0[4] is String : $0[4] is NSNull })
        #expect((answer["schema"] as? [[Any]])?.compactMap { $0[1] as? String } == ["id", "level", "latency", "ts", "region"])
        let snapshots = answer["snapshots"] as? [[String: Any]] ?? []
        #expect(snapshots.compactMap { $0["operation"] as? String } == ["append", "append", "append", "replace"], "\(snapshots)")
        #expect((snapshots.first?["summary"] as? [String: String])?["kafka.offsets"] == "events:0=75")
        #expect((answer["files"] as? [Any])?.count == 2)
    }

    @Test func restCatalogTableLifeIsAcceptedByPyiceberg() async throws {
        let url = try TestServices.require("KYMA_ICEBERG_REST_URL")
        let catalog = try await RESTIcebergCatalog.connect(url: url)
        let namespace = TestServices.uniqueName("rest")
        let root = TestServices.makeTemporaryDirectory("kyma-ice-rest")
        let tables = try await life(catalog, root: root, namespace: namespace)
        check(try IcebergFixture.judge(#"{"type":"rest","uri":"\#(url)","name":"rest"}"#, "\(namespace).events"))

        // Concurrent committers through the REST server: nothing lost.
        let race = IcebergTableIdentifier(namespace: namespace, name: "race")
        _ = try await tables.create(race, fields: IcebergTableTests.fields, nowMillis: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for k in 0..<3 {
                        let start = (writer * 3 + k) * 10
                        try await tables.append(race, batches: [try eventBatch(start..<start + 10)], nowMillis: 10 + Int64(start))
                    }
                }
            }
            try await group.waitForAll()
        }
        let answer = try IcebergFixture.judge(#"{"type":"rest","uri":"\#(url)","name":"rest"}"#, "\(namespace).race")
        #expect((answer["rows"] as? [Any])?.count == 120 && (answer["snapshots"] as? [Any])?.count == 12)
        // A missing table and a server that is not there are typed errors.
        await #expect(throws: IcebergError.self) { _ = try await tables.load(IcebergTableIdentifier(namespace: namespace, name: "absent")) }
        await #expect(throws: CatalogError.self) { _ = try await RESTIcebergCatalog.connect(url: "http://127.0.0.1:9") }
    }

    @Test func glueCatalogTableLifeIsReadByPyiceberg() async throws {
        let endpoint = try TestServices.require("KYMA_S3_ENDPOINT")
        let catalog = GlueIcebergCatalog(endpoint: endpoint, region: "us-east-1", accessKeyID: "testing", secretAccessKey: "testing")
        let namespace = TestServices.uniqueName("glue")
        let root = TestServices.makeTemporaryDirectory("kyma-ice-glue")
        _ = try await life(catalog, root: root, namespace: namespace)
        check(try IcebergFixture.judge(#"{"type":"glue","name":"glue","glue.endpoint":"\#(endpoint)","glue.region":"us-east-1","glue.access-key-id":"testing","glue.secret-access-key":"testing"}"#,
                                       "\(namespace).events"))
    }
}
