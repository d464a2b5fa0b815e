// A real `kyma serve` in the test process: its own catalog database on the dev PostgreSQL, a
// fresh local store, port 0, keys made in the catalog. Requests go over loopback through
// libcurl (KymaHTTP), as any client's would.

import Foundation
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaHTTP
import KymaObjectStore
import KymaRuntime
import KymaServer
import KymaTestSupport
import Testing

struct ServerFixture {
    let services: KymaServices
    let server: RunningServer
    let admin: String

    var base: String { "http://127.0.0.1:\(server.port)" }

    static func make(_ prefix: String, configure: (inout ServerSettings) -> Void = { _ in },
                     store wrap: ((any ObjectStore) -> any ObjectStore)? = nil) async throws -> ServerFixture {
        let adminURL = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName(prefix)
        _ = try await PostgresCatalog(url: adminURL, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let configuration = KymaConfiguration(
            catalogURL: Sourced(String(adminURL[...adminURL.lastIndex(of: "/")!]) + name, source: "test"),
            store: Sourced(.local(path: TestServices.makeTemporaryDirectory("kyma-serve")), source: "test"), cacheDirectory: nil)
        var services = try await KymaServices.open(configuration)
        if let wrap { services.store = wrap(services.store) }
        var settings = ServerSettings()
        settings.port = 0
        settings.s3Port = 0
        settings.heartbeatSeconds = 0.5
        configure(&settings)
        let server = try await KymaServer.start(services: services, settings: settings)
        let fixture = ServerFixture(services: services, server: server, admin: "")
        return ServerFixture(services: services, server: server, admin: try await fixture.key(.admin))
    }

    /// A new key's token.
    func key(_ role: APIKeyRole, tables: [String]? = nil) async throws -> String {
        let made = APIKeyToken.generate(name: "test", role: role, tables: tables)
        try await services.catalog.createAPIKey(made.record, secretHash: made.secretHash)
        return made.token
    }

    struct Reply: CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
        var errorKind: String? { (json["error"] as? [String: Any])?["kind"] as? String }
        var description: String { "\(status) \(text.prefix(400))" }
    }

    /// One request; `key` nil sends no Authorization header.
    func request(_ method: String, _ path: String, key: String?, body: [UInt8]? = nil, headers: [String: String] = [:]) async throws -> Reply {
        var all = headers
        if let key { all["Authorization"] = "Bearer \(key)" }
        if body != nil && all["Content-Type"] == nil { all["Content-Type"] = "application/json" }
        let url = base + path
        let sent = all
        let response = try await BlockingIO.run {
            try HTTPClient.perform(method: method, url: url, headers: sent, body: body, sigV4Scope: nil, userPassword: nil,
                                   connectTimeoutMillis: 5000, timeoutMillis: 60_000)
        }
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    func post(_ path: String, _ json: String, key: String?, headers: [String: String] = [:]) async throws -> Reply {
        try await request("POST", path, key: key, body: Array(json.utf8), headers: headers)
    }

    func get(_ path: String, key: String?) async throws -> Reply {
        try await request("GET", path, key: key)
    }

    /// Ingests JSON lines as the admin; the reply must be 200.
    func ingest(_ table: String, _ lines: [String], query: String = "") async throws -> Reply {
        let reply = try await request("POST", "/v1/tables/\(table)/ingest\(query)", key: admin, body: Array((lines.joined(separator: "\n") + "\n").utf8),
                                      headers: ["Content-Type": "application/x-ndjson"])
        #expect(reply.status == 200, "\(reply)")
        return reply
    }

    /// The rows of a JSON-format query reply.
    static func rows(_ reply: Reply) -> [[String: Any]] {
        (reply.json["rows"] as? [[String: Any]]) ?? []
    }

    func stop() async { await server.stop() }
}

/// A JSON value as text with keys sorted, so rows compare as strings.
func canonical(_ value: Any) -> String {
    (try? JSONText.string(value)) ?? "\(value)"
}
