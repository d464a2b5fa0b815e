// KymaIcebergCatalogs: the Iceberg catalogs that are not PostgreSQL: the REST catalog client
// (this file) and AWS Glue (GlueIcebergCatalog.swift), both over KymaHTTP. (The SQL catalog on
// PostgreSQL lives with the rest of the PostgreSQL code in KymaCatalogPostgres.) Hive and Nessie
// are out of scope.
//
// The REST catalog (Iceberg REST spec, /v1): the server applies each commit's requirements and
// updates and writes the metadata files; the client sends them and reads back the location.

import Foundation
import KymaCatalog
import KymaCore
import KymaHTTP

/// A client of an Iceberg REST catalog server.
public struct RESTIcebergCatalog: IcebergTableCatalog {
    public let baseURL: String
    /// The `prefix` the server's /v1/config asked for ("" when none).
    public let prefix: String
    let token: String?
    let timeoutMillis: Int

    public var icebergCatalogName: String { "rest" }
    public var swapsMetadataPointer: Bool { false }

    /// Reads the server's configuration (`GET /v1/config`) once: an unreachable server fails here.
    /// (A static constructor rather than an async struct initializer: the value is built from
    /// locals once the awaits are done.)
    public static func connect(url: String, token: String? = nil, warehouse: String? = nil, timeoutMillis: Int = 30_000) async throws(CatalogError) -> RESTIcebergCatalog {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        let probe = RESTIcebergCatalog(baseURL: base, prefix: "", token: token, timeoutMillis: timeoutMillis)
        let query = warehouse.map { "?warehouse=" + Self.escape($0) } ?? ""
        let config = try await probe.request("GET", "/v1/config" + query, operation: "read REST catalog config", raw: true)
        let overrides = (config.json["overrides"] as? [String: Any]) ?? [:]
        let defaults = (config.json["defaults"] as? [String: Any]) ?? [:]
        let prefix = (overrides["prefix"] as? String) ?? (defaults["prefix"] as? String) ?? ""
        return RESTIcebergCatalog(baseURL: base, prefix: prefix, token: token, timeoutMillis: timeoutMillis)
    }

    init(baseURL: String, prefix: String, token: String?, timeoutMillis: Int) {
        self.baseURL = baseURL
        self.prefix = prefix
        self.token = token
        self.timeoutMillis = timeoutMillis
    }

    public func createNamespace(_ namespace: String) async throws(CatalogError) {
        do {
            _ = try await request("POST", "/namespaces", body: ["namespace": namespace.split(separator: ".").map(String.init), "properties": [String: String]()],
                                  operation: "create namespace")
        } catch .conflict {
            return  // already there
        }
    }

    public func namespaces() async throws(CatalogError) -> [String] {
        let answer = try await request("GET", "/namespaces", operation: "list namespaces")
        return ((answer.json["namespaces"] as? [[String]]) ?? []).map { $0.joined(separator: ".") }.sorted()
    }

    public func metadataLocation(_ table: IcebergTableIdentifier) async throws(CatalogError) -> String? {
        do {
            return try await request("GET", tablePath(table), operation: "load table \(table)").json["metadata-location"] as? String
        } catch .tableNotFound {
            return nil
        }
    }

    public func commitTable(_ table: IcebergTableIdentifier, _ commit: IcebergCommit) async throws(CatalogError) -> String {
        let path = commit.expected == nil ? "/namespaces/\(Self.escape(table.namespace))/tables" : tablePath(table)
        let answer = try await request("POST", path, rawBody: commit.restRequest, operation: commit.expected == nil ? "create table \(table)" : "commit \(table)")
        guard let location = answer.json["metadata-location"] as? String else { throw .query(operation: "commit \(table)", reason: "the answer has no metadata-location") }
        return location
    }

    public func icebergTables(namespace: String) async throws(CatalogError) -> [IcebergTableIdentifier] {
        let answer = try await request("GET", "/namespaces/\(Self.escape(namespace))/tables", operation: "list tables")
        return ((answer.json["identifiers"] as? [[String: Any]]) ?? []).compactMap { id in
            guard let name = id["name"] as? String else { return nil }
            return IcebergTableIdentifier(namespace: ((id["namespace"] as? [String]) ?? []).joined(separator: "."), name: name)
        }
    }

    public func dropIcebergTable(_ table: IcebergTableIdentifier) async throws(CatalogError) {
        _ = try await request("DELETE", tablePath(table), operation: "drop table \(table)")
    }

    // MARK: - HTTP

    func tablePath(_ table: IcebergTableIdentifier) -> String { "/namespaces/\(Self.escape(table.namespace))/tables/\(Self.escape(table.name))" }

    /// Namespace levels are joined by the unit separator (%1F) in paths, per the spec.
    static func escape(_ text: String) -> String {
        text.split(separator: ".", omittingEmptySubsequences: false).map {
            $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_~"))) ?? String($0)
        }.joined(separator: "%1F")
    }

    struct Answer { var status: Int; var json: [String: Any] }

    /// One request; maps the spec's error statuses: 404 not found, 409 conflict, 5xx unknown.
    func request(_ method: String, _ path: String, body: [String: Any]? = nil, rawBody: [UInt8]? = nil, operation: String,
                 raw: Bool = false) async throws(CatalogError) -> Answer {
        let url = baseURL + (raw ? path : "/v1" + (prefix.isEmpty ? "" : "/" + prefix) + path)
        var payload = rawBody
        if let body { payload = (try? JSONSerialization.data(withJSONObject: body)).map { [UInt8]($0) } }
        var headers = ["Accept": "application/json"]
        if payload != nil { headers["Content-Type"] = "application/json" }
        if let token { headers["Authorization"] = "Bearer \(token)" }
        let finalHeaders = headers, finalPayload = payload, timeout = timeoutMillis
        let response: HTTPResponse
        do {
            response = try await BlockingIO.run {
                try HTTPClient.perform(method: method, url: url, headers: finalHeaders, body: finalPayload, sigV4Scope: nil, userPassword: nil,
                                       connectTimeoutMillis: 5000, timeoutMillis: timeout)
            }
        } catch {
            throw .cannotConnect(url: baseURL, reason: "\(error)")
        }
        let json = ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]) ?? [:]
        let message = ((json["error"] as? [String: Any])?["message"] as? String) ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        switch response.status {
        case 200..<300: return Answer(status: response.status, json: json)
        case 404: throw .tableNotFound("\(operation): \(message)")
        case 409: throw .conflict("\(operation): \(message)")
        case 500..<600: throw .connectionLost(reason: "\(operation): HTTP \(response.status) (commit state unknown): \(message)")
        default: throw .query(operation: operation, reason: "HTTP \(response.status): \(message)")
        }
    }
}
