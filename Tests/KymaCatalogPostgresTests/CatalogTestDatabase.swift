// Each catalog test gets its own database on the harness's real PostgreSQL server.

import KymaCatalog
import KymaCatalogPostgres
import KymaTestSupport

enum CatalogTestDatabase {
    /// Creates an empty database and returns its URL.
    static func makeURL() async throws -> String {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_test")
        let adminCatalog = try await PostgresCatalog(url: admin, migrate: false)
        _ = try await adminCatalog.executeForTesting("CREATE DATABASE \(name)")
        guard let slash = admin.lastIndex(of: "/") else { throw CatalogError.invalidArgument("bad admin URL") }
        return String(admin[...slash]) + name
    }

    /// A migrated catalog on a new database.
    static func make() async throws -> PostgresCatalog {
        try await PostgresCatalog(url: try await makeURL())
    }
}
