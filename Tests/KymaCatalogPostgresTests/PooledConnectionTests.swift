// A pooled connection that died while idle (the server restarted, the network dropped it) is
// not handed to the next statement: libpq still reports it as OK until it reads, so the pool
// probes its socket first. Without the probe a statement that may not be retried (a commit)
// failed with "connection lost" although the catalog was up.

import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaTestSupport
import Testing

@Suite("Pooled catalog connections")
struct PooledConnectionTests {
    @Test func aConnectionThatDiedIdleIsNotReused() async throws {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_pool")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let port = Int(admin.split(separator: ":").last?.split(separator: "/").first ?? "") ?? 5432
        let proxy = try TCPProxy(targetPort: port)
        defer { proxy.stop() }
        let catalog = try await PostgresCatalog(url: "postgres://postgres@127.0.0.1:\(proxy.port)/\(name)?connect_timeout=2")
        _ = try await catalog.tables()  // a connection goes back to the pool
        proxy.cut()                      // ... and dies there
        proxy.restore()
        // Table creation is not retried by the catalog (it is not idempotent): it must get a live
        // connection the first time.
        let table = try await catalog.createTable(TableDefinition(name: "after_the_drop", formatName: "tlm"))
        #expect(table.name == "after_the_drop")
    }
}
