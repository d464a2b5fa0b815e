// The AWS Glue Data Catalog as an Iceberg catalog, over Glue's JSON API (POST with
// `X-Amz-Target: AWSGlue.<Action>`, SigV4-signed for service `glue`). Tables are what
// pyiceberg's and the Java library's Glue catalogs write: a Glue database per namespace, a table
// with `table_type = ICEBERG` and `metadata_location` in its parameters. A commit reads the
// table, checks `metadata_location` is still the expected one, and updates it with the version
// it read (`VersionId`), which real Glue enforces as an optimistic lock. (moto, used in tests,
// ignores `VersionId`: against moto the check-then-update is not atomic.)

import Foundation
import KymaCatalog
import KymaCore
import KymaHTTP

public struct GlueIcebergCatalog: IcebergTableCatalog {
    public let endpoint: String
    public let region: String
    let accessKeyID: String
    let secretAccessKey: String
    /// The Glue catalog id (the AWS account); nil: the caller's.
    let catalogID: String?

    public var icebergCatalogName: String { "glue" }
    public var swapsMetadataPointer: Bool { true }

    public init(endpoint: String, region: String, accessKeyID: String, secretAccessKey: String, catalogID: String? = nil) {
        var base = endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = base
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.catalogID = catalogID
    }

    public func createNamespace(_ namespace: String) async throws(CatalogError) {
        do {
            _ = try await call("CreateDatabase", ["DatabaseInput": ["Name": namespace]])
        } catch .conflict {
            return
        }
    }

    public func namespaces() async throws(CatalogError) -> [String] {
        var names: [String] = []
        var token: String?
        repeat {
            var body: [String: Any] = [:]
            if let token { body["NextToken"] = token }
            let answer = try await call("GetDatabases", body)
            names += ((answer["DatabaseList"] as? [[String: Any]]) ?? []).compactMap { $0["Name"] as? String }
            token = answer["NextToken"] as? String
        } while token != nil
        return names.sorted()
    }

    public func metadataLocation(_ table: IcebergTableIdentifier) async throws(CatalogError) -> String? {
        try await glueTable(table)?.location
    }

    /// The table's metadata location and Glue version, nil when absent; a non-Iceberg table is an error.
    func glueTable(_ table: IcebergTableIdentifier) async throws(CatalogError) -> (location: String, version: String?)? {
        let answer: [String: Any]
        do {
            answer = try await call("GetTable", ["DatabaseName": table.namespace, "Name": table.name])
        } catch .tableNotFound {
            return nil
        }
        let glue = (answer["Table"] as? [String: Any]) ?? [:]
        let parameters = (glue["Parameters"] as? [String: String]) ?? [:]
        guard parameters["table_type"]?.uppercased() == "ICEBERG", let location = parameters["metadata_location"] else {
            throw .invalidArgument("Glue table \(table) is not an Iceberg table")
        }
        return (location, glue["VersionId"] as? String)
    }

    public func commitTable(_ table: IcebergTableIdentifier, _ commit: IcebergCommit) async throws(CatalogError) -> String {
        let tableLocation = commit.newLocation.range(of: "/metadata/").map { String(commit.newLocation[..<$0.lowerBound]) } ?? commit.newLocation
        var parameters = ["table_type": "ICEBERG", "metadata_location": commit.newLocation]
        guard let expected = commit.expected else {
            let input: [String: Any] = ["Name": table.name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
                                        "StorageDescriptor": ["Location": tableLocation]]
            _ = try await call("CreateTable", ["DatabaseName": table.namespace, "TableInput": input])
            return commit.newLocation
        }
        guard let current = try await glueTable(table) else { throw .tableNotFound(table.description) }
        guard current.location == expected else { throw .conflict("Glue table \(table) changed since it was read (concurrent commit)") }
        parameters["previous_metadata_location"] = expected
        var body: [String: Any] = ["DatabaseName": table.namespace,
                                   "TableInput": ["Name": table.name, "TableType": "EXTERNAL_TABLE", "Parameters": parameters,
                                                  "StorageDescriptor": ["Location": tableLocation]] as [String: Any]]
        if let version = current.version { body["VersionId"] = version }
        _ = try await call("UpdateTable", body)
        return commit.newLocation
    }

    public func icebergTables(namespace: String) async throws(CatalogError) -> [IcebergTableIdentifier] {
        var out: [IcebergTableIdentifier] = []
        var token: String?
        repeat {
            var body: [String: Any] = ["DatabaseName": namespace]
            if let token { body["NextToken"] = token }
            let answer = try await call("GetTables", body)
            for t in (answer["TableList"] as? [[String: Any]]) ?? [] {
                guard let name = t["Name"] as? String, ((t["Parameters"] as? [String: String])?["table_type"])?.uppercased() == "ICEBERG" else { continue }
                out.append(IcebergTableIdentifier(namespace: namespace, name: name))
            }
            token = answer["NextToken"] as? String
        } while token != nil
        return out.sorted { $0.name < $1.name }
    }

    public func dropIcebergTable(_ table: IcebergTableIdentifier) async throws(CatalogError) {
        _ = try await call("DeleteTable", ["DatabaseName": table.namespace, "Name": table.name])
    }

    // MARK: - The JSON API

    func call(_ action: String, _ body: [String: Any]) async throws(CatalogError) -> [String: Any] {
        var request = body
        if let catalogID { request["CatalogId"] = catalogID }
        guard let payload = try? JSONSerialization.data(withJSONObject: request) else { throw .invalidArgument("Glue \(action) request is not JSON") }
        let headers = ["Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSGlue.\(action)"]
        let url = endpoint + "/", scope = "aws:amz:\(region):glue", user = "\(accessKeyID):\(secretAccessKey)", bytes = [UInt8](payload)
        let response: HTTPResponse
        do {
            response = try await BlockingIO.run {
                try HTTPClient.perform(method: "POST", url: url, headers: headers, body: bytes, sigV4Scope: scope, userPassword: user,
                                       connectTimeoutMillis: 5000, timeoutMillis: 30_000)
            }
        } catch {
            throw .cannotConnect(url: endpoint, reason: "\(error)")
        }
        let json = ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]) ?? [:]
        guard response.status >= 300 else { return json }
        let type = ((json["__type"] as? String) ?? "").split(separator: "#").last.map(String.init) ?? ""
        let message = (json["Message"] as? String) ?? (json["message"] as? String) ?? String(decoding: response.body.prefix(300), as: UTF8.self)
        switch type {
        case "EntityNotFoundException": throw .tableNotFound("Glue \(action): \(message)")
        case "AlreadyExistsException", "ConcurrentModificationException": throw .conflict("Glue \(action): \(type): \(message)")
        default:
            if response.status >= 500 { throw .connectionLost(reason: "Glue \(action): HTTP \(response.status) \(type): \(message)") }
            throw .query(operation: "Glue \(action)", reason: "HTTP \(response.status) \(type): \(message)")
        }
    }
}
