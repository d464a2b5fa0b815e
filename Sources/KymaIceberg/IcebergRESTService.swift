// The Iceberg REST catalog's operations (apache/iceberg open-api/rest-catalog-open-api.yaml)
// over Kyma's own pointer catalog, so engines outside Kyma (pyiceberg's RestCatalog, Spark,
// Trino) use Kyma as their catalog. The server writes every metadata file itself: a create
// writes version 0 from the request's schema, spec and order; a commit checks the request's
// requirements against the current metadata, applies its updates, writes the next version and
// swaps the pointer by compare-and-set. A lost swap re-reads and checks the requirements again
// (so a stale client gets 409, and two clients whose changes do not clash both land).
//
// Bodies in and out are the spec's JSON objects; errors are `IcebergRESTError`, the spec's
// ErrorModel (message, type, code).

import Foundation
import KymaCatalog

/// The spec's ErrorModel: an HTTP status, an exception type name clients map to their own
/// exceptions (NoSuchTableException, CommitFailedException...), and a message.
public struct IcebergRESTError: Error, Sendable, CustomStringConvertible {
    public var code: Int
    public var type: String
    public var message: String

    public init(_ code: Int, _ type: String, _ message: String) {
        self.code = code
        self.type = type
        self.message = message
    }

    public var description: String { message }

    static func badRequest(_ message: String) -> IcebergRESTError { IcebergRESTError(400, "BadRequestException", message) }
    static func noSuchNamespace(_ namespace: String) -> IcebergRESTError { IcebergRESTError(404, "NoSuchNamespaceException", "namespace does not exist: \(namespace)") }
    static func noSuchTable(_ table: IcebergTableIdentifier) -> IcebergRESTError { IcebergRESTError(404, "NoSuchTableException", "table does not exist: \(table)") }
    static func commitFailed(_ message: String) -> IcebergRESTError { IcebergRESTError(409, "CommitFailedException", message) }

    /// Errors from below, as the spec's kinds.
    static func from(_ error: IcebergError) -> IcebergRESTError {
        switch error {
        case .tableNotFound(let name): IcebergRESTError(404, "NoSuchTableException", "table does not exist: \(name)")
        case .tableExists(let name): IcebergRESTError(409, "AlreadyExistsException", "table already exists: \(name)")
        case .invalid(let reason): .badRequest(reason)
        case .conflict(let reason): .commitFailed(reason)
        case .catalog(let reason), .store(let reason): IcebergRESTError(503, "ServiceUnavailableException", reason)
        }
    }

    static func from(_ error: CatalogError) -> IcebergRESTError {
        switch error {
        case .cannotConnect, .connectionLost, .timeout, .migration, .schemaTooNew, .query, .uploadCollected:
            IcebergRESTError(503, "ServiceUnavailableException", error.description)
        case .conflict(let reason): IcebergRESTError(409, "AlreadyExistsException", reason)
        case .tableNotFound(let name): IcebergRESTError(404, name.hasPrefix("namespace ") ? "NoSuchNamespaceException" : "NoSuchTableException", "does not exist: \(name)")
        default: .badRequest(error.description)
        }
    }
}

public struct IcebergRESTService: Sendable {
    public let catalog: any IcebergNamespaceCatalog
    public let tables: IcebergTables
    /// Client settings returned with every loaded table (the S3 endpoint of the warehouse).
    public let tableConfig: [String: String]

    public init(catalog: any IcebergNamespaceCatalog, tables: IcebergTables, tableConfig: [String: String] = [:]) {
        self.catalog = catalog
        self.tables = tables
        self.tableConfig = tableConfig
    }

    /// A namespace from a path segment: one level (the unit separator joins levels).
    public static func namespace(_ segment: String) throws(IcebergRESTError) -> String {
        guard !segment.isEmpty else { throw .badRequest("empty namespace") }
        guard !segment.contains("\u{1F}") else { throw .badRequest("multi-level namespaces are not supported: \(segment.replacingOccurrences(of: "\u{1F}", with: "."))") }
        return segment
    }

    static func namespace(_ body: Any?) throws(IcebergRESTError) -> String {
        guard let levels = body as? [String], levels.count == 1 else {
            throw .badRequest("namespace must be an array of one level, e.g. [\"analytics\"]")
        }
        return try namespace(levels[0])
    }

    static func identifier(_ body: Any?) throws(IcebergRESTError) -> IcebergTableIdentifier {
        guard let object = body as? [String: Any], let name = object["name"] as? String, !name.isEmpty else {
            throw .badRequest("a table identifier is {\"namespace\": [...], \"name\": \"...\"}")
        }
        return IcebergTableIdentifier(namespace: try namespace(object["namespace"]), name: name)
    }

    func catalogCall<T>(_ body: () async throws(CatalogError) -> T) async throws(IcebergRESTError) -> T {
        do { return try await body() } catch { throw .from(error) }
    }

    func requireNamespace(_ namespace: String) async throws(IcebergRESTError) {
        guard try await catalogCall({ () throws(CatalogError) in try await catalog.namespaceProperties(namespace) }) != nil else {
            throw .noSuchNamespace(namespace)
        }
    }

    // MARK: - Namespaces

    public func listNamespaces() async throws(IcebergRESTError) -> [String: Any] {
        let names = try await catalogCall { () throws(CatalogError) in try await catalog.namespaces() }
        return ["namespaces": names.map { [$0] }]
    }

    public func createNamespace(_ body: [String: Any]) async throws(IcebergRESTError) -> [String: Any] {
        let namespace = try Self.namespace(body["namespace"])
        let properties = (body["properties"] as? [String: String]) ?? [:]
        do {
            try await catalog.createNamespace(namespace, properties: properties)
        } catch .conflict {
            throw IcebergRESTError(409, "AlreadyExistsException", "namespace already exists: \(namespace)")
        } catch {
            throw .from(error)
        }
        return ["namespace": [namespace], "properties": properties]
    }

    public func loadNamespace(_ namespace: String) async throws(IcebergRESTError) -> [String: Any] {
        guard let properties = try await catalogCall({ () throws(CatalogError) in try await catalog.namespaceProperties(namespace) }) else {
            throw .noSuchNamespace(namespace)
        }
        return ["namespace": [namespace], "properties": properties.filter { $0.key != "exists" }]
    }

    public func dropNamespace(_ namespace: String) async throws(IcebergRESTError) {
        do {
            try await catalog.dropNamespace(namespace)
        } catch .conflict {
            throw IcebergRESTError(409, "NamespaceNotEmptyException", "namespace is not empty: \(namespace)")
        } catch .tableNotFound {
            throw .noSuchNamespace(namespace)
        } catch {
            throw .from(error)
        }
    }

    public func updateNamespaceProperties(_ namespace: String, _ body: [String: Any]) async throws(IcebergRESTError) -> [String: Any] {
        let updates = (body["updates"] as? [String: String]) ?? [:]
        let removals = (body["removals"] as? [String]) ?? []
        guard Set(updates.keys).isDisjoint(with: removals) else { throw IcebergRESTError(422, "UnprocessableEntityException", "a key is both updated and removed") }
        do {
            let missing = try await catalog.updateNamespaceProperties(namespace, updates: updates, removals: removals)
            return ["updated": updates.keys.sorted(), "removed": removals.filter { !missing.contains($0) }, "missing": missing]
        } catch .tableNotFound {
            throw .noSuchNamespace(namespace)
        } catch {
            throw .from(error)
        }
    }

    // MARK: - Tables

    public func listTables(_ namespace: String) async throws(IcebergRESTError) -> [String: Any] {
        try await requireNamespace(namespace)
        let identifiers = try await catalogCall { () throws(CatalogError) in try await catalog.icebergTables(namespace: namespace) }
        return ["identifiers": identifiers.map { ["namespace": [$0.namespace], "name": $0.name] as [String: Any] }]
    }

    func loadResult(_ table: IcebergTable) -> [String: Any] {
        ["metadata-location": table.metadataLocation, "metadata": table.metadata, "config": tableConfig]
    }

    public func loadTable(_ identifier: IcebergTableIdentifier) async throws(IcebergRESTError) -> [String: Any] {
        do { return loadResult(try await tables.load(identifier)) } catch { throw .from(error) }
    }

    /// The largest field id in a schema, nested types included.
    static func lastColumnID(_ node: Any) -> Int {
        var best = 0
        if let object = node as? [String: Any] {
            for key in ["id", "element-id", "key-id", "value-id"] { best = max(best, (object[key] as? NSNumber)?.intValue ?? 0) }
            for value in object.values { best = max(best, lastColumnID(value)) }
        } else if let array = node as? [Any] {
            for value in array { best = max(best, lastColumnID(value)) }
        }
        return best
    }

    public func createTable(_ namespace: String, _ body: [String: Any], nowMillis: Int64) async throws(IcebergRESTError) -> [String: Any] {
        guard let name = body["name"] as? String, !name.isEmpty else { throw .badRequest("field 'name' is required") }
        guard var schema = body["schema"] as? [String: Any], let fields = schema["fields"] as? [Any], !fields.isEmpty else {
            throw .badRequest("field 'schema' (a struct with fields) is required")
        }
        var seen: Set<Int> = []
        for field in fields {
            guard let field = field as? [String: Any], let id = (field["id"] as? NSNumber)?.intValue, id > 0, seen.insert(id).inserted,
                  let fieldName = field["name"] as? String, !fieldName.isEmpty, field["required"] is Bool, field["type"] is String || field["type"] is [String: Any] else {
                throw .badRequest("every schema field needs a unique positive id, a name, a type and required (true or false)")
            }
        }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }), namespace.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw .badRequest("table and namespace names are letters, digits, '_' and '-' (they name the table's folder)")
        }
        if body["stage-create"] as? Bool == true { throw IcebergRESTError(501, "NotImplementedException", "staged table creation is not supported") }
        try await requireNamespace(namespace)
        let identifier = IcebergTableIdentifier(namespace: namespace, name: name)
        schema["schema-id"] = 0
        var spec = (body["partition-spec"] as? [String: Any]) ?? ["fields": [] as [Any]]
        spec["spec-id"] = 0
        var order = (body["write-order"] as? [String: Any]) ?? ["fields": [] as [Any]]
        let orderID = ((order["fields"] as? [Any])?.isEmpty ?? true) ? 0 : 1
        order["order-id"] = orderID
        let partitionIDs = ((spec["fields"] as? [[String: Any]]) ?? []).compactMap { ($0["field-id"] as? NSNumber)?.intValue }
        var properties = (body["properties"] as? [String: String]) ?? [:]
        let formatVersion = Int(properties.removeValue(forKey: "format-version") ?? "2") ?? 2
        guard formatVersion == 1 || formatVersion == 2 else { throw .badRequest("format-version \(formatVersion) is not supported (1 or 2)") }
        let location = (body["location"] as? String).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            ?? tables.storeURI + (tables.warehouse.isEmpty ? "" : tables.warehouse + "/") + "\(namespace)/\(name)"
        guard location.hasPrefix(tables.storeURI) else { throw .badRequest("location \(location) is outside the warehouse \(tables.storeURI)") }
        let metadata: [String: Any] = [
            "format-version": formatVersion, "table-uuid": UUID().uuidString.lowercased(), "location": location,
            "last-sequence-number": 0, "last-updated-ms": nowMillis, "last-column-id": Self.lastColumnID(schema["fields"] ?? []),
            "current-schema-id": 0, "schemas": [schema], "default-spec-id": 0, "partition-specs": [spec],
            "last-partition-id": partitionIDs.max() ?? 999, "default-sort-order-id": orderID,
            "sort-orders": orderID == 0 ? [order] : [["order-id": 0, "fields": [] as [Any]], order],
            "properties": properties, "current-snapshot-id": -1, "refs": [String: Any](), "snapshots": [] as [Any],
            "snapshot-log": [] as [Any], "metadata-log": [] as [Any],
        ]
        let uri = location + "/metadata/00000-\(UUID().uuidString.lowercased()).metadata.json"
        do {
            try await tables.put(uri, try IcebergTables.json(metadata))
            _ = try await tables.catalog.commitTable(identifier, IcebergCommit(expected: nil, newLocation: uri, restRequest: []))
        } catch let error as IcebergError {
            throw .from(error)
        } catch let error as CatalogError {
            if case .conflict = error { throw IcebergRESTError(409, "AlreadyExistsException", "table already exists: \(identifier)") }
            throw .from(error)
        } catch {
            throw .badRequest("\(error)")
        }
        return try await loadTable(identifier)
    }

    public func dropTable(_ identifier: IcebergTableIdentifier) async throws(IcebergRESTError) {
        do { try await tables.drop(identifier) } catch { throw .from(error) }
    }

    public func renameTable(_ body: [String: Any]) async throws(IcebergRESTError) {
        let from = try Self.identifier(body["source"])
        let to = try Self.identifier(body["destination"])
        try await requireNamespace(to.namespace)
        do {
            try await catalog.renameIcebergTable(from, to: to)
        } catch .tableNotFound {
            throw .noSuchTable(from)
        } catch .conflict {
            throw IcebergRESTError(409, "AlreadyExistsException", "table already exists: \(to)")
        } catch {
            throw .from(error)
        }
    }

    // MARK: - Commits

    public func commit(_ identifier: IcebergTableIdentifier, _ body: [String: Any], nowMillis: Int64) async throws(IcebergRESTError) -> [String: Any] {
        let requirements = (body["requirements"] as? [[String: Any]]) ?? []
        guard let updates = body["updates"] as? [[String: Any]] else { throw .badRequest("field 'updates' (an array) is required") }
        for attempt in 0..<20 {
            if attempt > 0 { try? await Task.sleep(nanoseconds: UInt64.random(in: 1_000_000...20_000_000)) }
            let table: IcebergTable
            do { table = try await tables.load(identifier) } catch { throw .from(error) }
            for requirement in requirements { try Self.check(requirement, against: table) }
            let metadata: [String: Any]
            do { metadata = try IcebergTables.apply(updates, to: table, nowMillis: nowMillis) } catch { throw .from(error) }
            let version = ((table.metadata["metadata-log"] as? [Any])?.count ?? 0) + 1
            let uri = table.location + "/metadata/\(String(format: "%05d", version))-\(UUID().uuidString.lowercased()).metadata.json"
            do {
                try await tables.put(uri, try IcebergTables.json(metadata))
            } catch {
                throw .from(error)
            }
            do {
                _ = try await tables.catalog.commitTable(identifier, IcebergCommit(expected: table.metadataLocation, newLocation: uri, restRequest: []))
            } catch .conflict {
                if let key = try? tables.key(uri) { try? await tables.store.delete(key) }
                continue  // another commit landed: check the requirements against it
            } catch {
                throw .from(error)
            }
            return ["metadata-location": uri, "metadata": metadata]
        }
        throw .commitFailed("gave up after 20 concurrent commits on \(identifier)")
    }

    /// A requirement of the spec, checked against the table as it is now.
    static func check(_ requirement: [String: Any], against table: IcebergTable) throws(IcebergRESTError) {
        let metadata = table.metadata
        func int(_ object: [String: Any], _ key: String) -> Int64? { (object[key] as? NSNumber)?.int64Value }
        switch requirement["type"] as? String {
        case "assert-create":
            throw .commitFailed("requirement failed: table \(table.identifier) already exists")
        case "assert-table-uuid":
            guard requirement["uuid"] as? String == table.tableUUID else { throw .commitFailed("requirement failed: table uuid is \(table.tableUUID)") }
        case "assert-ref-snapshot-id":
            let ref = requirement["ref"] as? String ?? "main"
            let current = ((metadata["refs"] as? [String: Any])?[ref] as? [String: Any]).flatMap { int($0, "snapshot-id") }
                ?? (ref == "main" ? table.currentSnapshotID.flatMap { $0 == -1 ? nil : $0 } : nil)
            let expected = int(requirement, "snapshot-id")
            guard current == expected else {
                throw .commitFailed("requirement failed: branch \(ref) is at \(current.map(String.init) ?? "no snapshot"), not \(expected.map(String.init) ?? "no snapshot")")
            }
        case "assert-last-assigned-field-id":
            guard int(requirement, "last-assigned-field-id") == int(metadata, "last-column-id") else { throw .commitFailed("requirement failed: last assigned field id changed") }
        case "assert-current-schema-id":
            guard int(requirement, "current-schema-id") == int(metadata, "current-schema-id") else { throw .commitFailed("requirement failed: current schema changed") }
        case "assert-last-assigned-partition-id":
            guard int(requirement, "last-assigned-partition-id") == int(metadata, "last-partition-id") else { throw .commitFailed("requirement failed: last assigned partition id changed") }
        case "assert-default-spec-id":
            guard int(requirement, "default-spec-id") == int(metadata, "default-spec-id") else { throw .commitFailed("requirement failed: default spec changed") }
        case "assert-default-sort-order-id":
            guard int(requirement, "default-sort-order-id") == int(metadata, "default-sort-order-id") else { throw .commitFailed("requirement failed: default sort order changed") }
        case let other:
            throw .badRequest("unknown requirement type \(other ?? "(none)")")
        }
    }
}
