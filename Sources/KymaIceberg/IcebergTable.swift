// Iceberg v2 tables: the table metadata JSON (schemas with field ids, partition specs, sort
// orders, snapshots, logs, refs, properties) as a loaded value, and `IcebergTables`, the entry
// point of every operation: create, load and schema evolution here; commits in
// IcebergCommit.swift; append, scan and compaction in IcebergDataFiles.swift; expiry and orphan
// cleanup in IcebergMaintenance.swift.

import Foundation
import KymaCatalog
import KymaCore
import KymaObjectStore
import KymaParquet
import Synchronization

public enum IcebergError: Error, Sendable, CustomStringConvertible {
    case tableExists(String)
    case tableNotFound(String)
    case invalid(String)
    case catalog(String)
    case store(String)
    case conflict(String)

    public var description: String {
        switch self {
        case .tableExists(let name): "iceberg table \(name) already exists"
        case .tableNotFound(let name): "iceberg table \(name) not found"
        case .invalid(let reason): "invalid iceberg input: \(reason)"
        case .catalog(let reason): "iceberg catalog: \(reason)"
        case .store(let reason): "object store: \(reason)"
        case .conflict(let reason): "iceberg commit conflict: \(reason)"
        }
    }
}

/// An Iceberg column: id, name, type (`long`, `double`, `string`, `boolean`, `timestamptz`,
/// `binary`), required or optional.
public struct IcebergField: Sendable, Hashable {
    public var id: Int
    public var name: String
    public var type: DataType
    public var required: Bool
    /// An Iceberg `date`: a Kyma timestamp at midnight UTC, stored as DATE (days).
    public var date: Bool

    public init(id: Int, name: String, type: DataType, required: Bool = false, date: Bool = false) {
        self.id = id
        self.name = name
        self.type = type
        self.required = required
        self.date = date && type == .timestamp
    }

    public var icebergTypeName: String {
        switch type {
        case .int64: "long"
        case .float64: "double"
        case .string: "string"
        case .bool: "boolean"
        case .timestamp: date ? "date" : "timestamptz"
        default: "binary"
        }
    }

    /// The Kyma type of an Iceberg primitive type name (nil for types Kyma does not store).
    public static func dataType(iceberg: String) -> DataType? {
        switch iceberg {
        case "long", "int": .int64
        case "double", "float": .float64
        case "string": .string
        case "boolean": .bool
        case "timestamptz", "timestamp", "date": .timestamp
        case "binary": .binary
        default: nil
        }
    }
}

/// The parsed metadata JSON (Foundation property-list values). It is never mutated after
/// parsing, which is what makes sharing it between threads safe.
final class MetadataDocument: @unchecked Sendable {
    let object: [String: Any]

    init(json bytes: [UInt8], location: String) throws(IcebergError) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw .invalid("\(location) is not table metadata JSON")
        }
        self.object = object
    }
}

/// Parsed metadata files by location, the last few. A metadata file is never rewritten (every
/// commit writes a new one and moves the catalog's pointer), so a location names one content
/// for good: loading a table whose pointer has not moved reads and parses nothing again. (A
/// k2i commit loaded the same file twice and parsed the one it had just written, each a parse
/// of JSON that grows with every snapshot.) The catalog is still asked every time.
final class MetadataDocuments: Sendable {
    private let recent = Mutex<[(location: String, document: MetadataDocument)]>([])
    private static let kept = 8

    func get(_ location: String) -> MetadataDocument? {
        recent.withLock { entries in entries.last { $0.location == location }?.document }
    }

    func put(_ location: String, _ document: MetadataDocument) {
        recent.withLock { entries in
            entries.removeAll { $0.location == location }
            entries.append((location, document))
            if entries.count > Self.kept { entries.removeFirst(entries.count - Self.kept) }
        }
    }
}

/// A loaded table: its metadata location and the metadata, parsed once when it was read
/// (a commit reads the snapshots, schemas and logs many times; the JSON grows with every snapshot).
public struct IcebergTable: Sendable {
    public let identifier: IcebergTableIdentifier
    public let metadataLocation: String
    let document: MetadataDocument

    var metadata: [String: Any] { document.object }
    public var location: String { metadata["location"] as? String ?? "" }
    public var currentSnapshotID: Int64? { (metadata["current-snapshot-id"] as? NSNumber)?.int64Value }
    var snapshots: [[String: Any]] { (metadata["snapshots"] as? [[String: Any]]) ?? [] }
    /// (snapshot id, timestamp ms, summary) of every snapshot, oldest first.
    public var snapshotSummaries: [(id: Int64, timestampMillis: Int64, summary: [String: String])] {
        snapshots.map { (($0["snapshot-id"] as? NSNumber)?.int64Value ?? 0, ($0["timestamp-ms"] as? NSNumber)?.int64Value ?? 0, ($0["summary"] as? [String: String]) ?? [:]) }
    }
    public var partition: [IcebergPartitionField] {
        let specs = (metadata["partition-specs"] as? [[String: Any]]) ?? []
        let current = (metadata["default-spec-id"] as? NSNumber)?.intValue ?? 0
        let spec = specs.first { ($0["spec-id"] as? NSNumber)?.intValue == current } ?? [:]
        return ((spec["fields"] as? [[String: Any]]) ?? []).compactMap { f in
            guard let source = (f["source-id"] as? NSNumber)?.intValue, let id = (f["field-id"] as? NSNumber)?.intValue, let name = f["name"] as? String,
                  let transform = (f["transform"] as? String).flatMap(IcebergTransform.parse) else { return nil }
            return IcebergPartitionField(sourceID: source, fieldID: id, name: name, transform: transform)
        }
    }

    public var tableUUID: String { metadata["table-uuid"] as? String ?? "" }
    public var currentSchemaID: Int { (metadata["current-schema-id"] as? NSNumber)?.intValue ?? 0 }
    public var lastColumnID: Int { (metadata["last-column-id"] as? NSNumber)?.intValue ?? 0 }
    var lastSequenceNumber: Int64 { (metadata["last-sequence-number"] as? NSNumber)?.int64Value ?? 0 }
    var defaultSpecID: Int32 { Int32((metadata["default-spec-id"] as? NSNumber)?.intValue ?? 0) }
    func snapshot(_ id: Int64?) -> [String: Any]? {
        guard let id, id > 0 else { return nil }
        return snapshots.first { ($0["snapshot-id"] as? NSNumber)?.int64Value == id }
    }
    /// The current snapshot's summary (empty before the first snapshot).
    public var currentSummary: [String: String] { (snapshot(currentSnapshotID)?["summary"] as? [String: String]) ?? [:] }

    public var fields: [IcebergField] { fields(schemaID: currentSchemaID) }

    /// The fields of a schema by id (older snapshots may name older schemas).
    public func fields(schemaID: Int) -> [IcebergField] {
        let schemas = (metadata["schemas"] as? [[String: Any]]) ?? []
        let schema = schemas.first { ($0["schema-id"] as? NSNumber)?.intValue == schemaID } ?? schemas.first ?? [:]
        return ((schema["fields"] as? [[String: Any]]) ?? []).compactMap { f in
            guard let id = (f["id"] as? NSNumber)?.intValue, let name = f["name"] as? String, let type = (f["type"] as? String).flatMap({ IcebergField.dataType(iceberg: $0) }) else { return nil }
            return IcebergField(id: id, name: name, type: type, required: (f["required"] as? Bool) ?? false, date: f["type"] as? String == "date")
        }
    }
}

public struct IcebergTables: Sendable {
    public let catalog: any IcebergTableCatalog
    public let store: any ObjectStore
    /// Where new tables go: `<warehouse>/<namespace>/<table>` under the store (directly under it
    /// when empty); object keys under the store.
    public let warehouse: String
    /// How the store's keys appear as URIs to other tools (`file:///abs/root/` or `s3://bucket/prefix/`).
    public let storeURI: String
    /// Data files are cut at about this many bytes (Parquet, before compression estimates).
    public var targetFileBytes: Int
    public var parquetOptions: ParquetWriteOptions
    /// Shared by the copies of this value.
    let documents = MetadataDocuments()

    public init(catalog: any IcebergTableCatalog, store: any ObjectStore, warehouse: String = "warehouse", storeURI: String,
                targetFileBytes: Int = 128 << 20, parquetOptions: ParquetWriteOptions = ParquetWriteOptions()) {
        self.catalog = catalog
        self.store = store
        self.warehouse = warehouse
        self.storeURI = storeURI.hasSuffix("/") ? storeURI : storeURI + "/"
        self.targetFileBytes = targetFileBytes
        self.parquetOptions = parquetOptions
    }

    func key(_ uri: String) throws(IcebergError) -> ObjectKey {
        guard uri.hasPrefix(storeURI) else { throw .invalid("\(uri) is outside the object store \(storeURI)") }
        do { return try ObjectKey(String(uri.dropFirst(storeURI.count))) } catch { throw .invalid("\(error)") }
    }

    func put(_ uri: String, _ bytes: [UInt8]) async throws(IcebergError) {
        do { try await store.putIfAbsent(try key(uri), bytes) } catch let error as IcebergError { throw error } catch { throw .store("\(uri): \(error)") }
    }

    func get(_ uri: String) async throws(IcebergError) -> [UInt8] {
        do { return try await store.get(try key(uri)) } catch let error as IcebergError { throw error } catch { throw .store("\(uri): \(error)") }
    }

    // MARK: - Create and load

    public func create(_ identifier: IcebergTableIdentifier, fields: [IcebergField], partition: [IcebergPartitionField] = [],
                       properties: [String: String] = [:], nowMillis: Int64) async throws(IcebergError) -> IcebergTable {
        guard !fields.isEmpty, Set(fields.map(\.id)).count == fields.count, Set(fields.map(\.name)).count == fields.count else {
            throw .invalid("a schema needs fields with unique ids and names")
        }
        for p in partition {
            guard let source = fields.first(where: { $0.id == p.sourceID }) else { throw .invalid("partition field \(p.name) has no source column \(p.sourceID)") }
            guard p.transform.accepts(source.type) else {
                throw .invalid("\(p.transform) does not apply to '\(source.name)', a \(source.type.rawValue) column")
            }
        }
        do { try await catalog.createNamespace(identifier.namespace) } catch { throw .catalog(error.description) }
        let location = storeURI + (warehouse.isEmpty ? "" : warehouse + "/") + "\(identifier.namespace)/\(identifier.name)"
        var allProperties = ["write.format.default": "parquet", "created-by": "kyma"]
        for (k, v) in properties { allProperties[k] = v }
        let metadata: [String: Any] = [
            "format-version": 2,
            "table-uuid": UUID().uuidString.lowercased(),
            "location": location,
            "last-sequence-number": 0,
            "last-updated-ms": nowMillis,
            "last-column-id": fields.map(\.id).max() ?? 0,
            "current-schema-id": 0,
            "schemas": [Self.schemaJSON(fields, id: 0)],
            "default-spec-id": 0,
            "partition-specs": [["spec-id": 0, "fields": partition.map(\.json)]],
            "last-partition-id": partition.map(\.fieldID).max() ?? 999,
            "default-sort-order-id": 0,
            "sort-orders": [["order-id": 0, "fields": [] as [Any]]],
            "properties": allProperties,
            "current-snapshot-id": -1,
            "refs": [String: Any](),
            "snapshots": [] as [Any],
            "snapshot-log": [] as [Any],
            "metadata-log": [] as [Any],
        ]
        let request: [String: Any] = ["name": identifier.name, "location": location, "schema": Self.schemaJSON(fields, id: 0),
                                      "partition-spec": ["spec-id": 0, "fields": partition.map(\.json)],
                                      "write-order": ["order-id": 0, "fields": [] as [Any]], "properties": allProperties, "stage-create": false]
        let uri = location + "/metadata/00000-\(UUID().uuidString.lowercased()).metadata.json"
        if catalog.swapsMetadataPointer { try await put(uri, try Self.json(metadata)) }
        let commit = IcebergCommit(expected: nil, newLocation: uri, restRequest: try Self.json(request))
        do {
            _ = try await catalog.commitTable(identifier, commit)
        } catch .conflict {
            throw .tableExists(identifier.description)
        } catch {
            throw .catalog(error.description)
        }
        return try await load(identifier)
    }

    public func load(_ identifier: IcebergTableIdentifier) async throws(IcebergError) -> IcebergTable {
        let location: String?
        do { location = try await catalog.metadataLocation(identifier) } catch { throw .catalog(error.description) }
        guard let location else { throw .tableNotFound(identifier.description) }
        if let document = documents.get(location) { return IcebergTable(identifier: identifier, metadataLocation: location, document: document) }
        let document = try MetadataDocument(json: try await get(location), location: location)
        documents.put(location, document)
        return IcebergTable(identifier: identifier, metadataLocation: location, document: document)
    }

    public func drop(_ identifier: IcebergTableIdentifier) async throws(IcebergError) {
        do { try await catalog.dropIcebergTable(identifier) } catch .tableNotFound { throw .tableNotFound(identifier.description) } catch { throw .catalog(error.description) }
    }

    // MARK: - Schema evolution

    /// Adds an optional column (a new field id); existing data files read it as null.
    @discardableResult
    public func addColumn(_ identifier: IcebergTableIdentifier, name: String, type: DataType, date: Bool = false, nowMillis: Int64) async throws(IcebergError) -> IcebergTable {
        guard [DataType.int64, .float64, .string, .bool, .timestamp, .binary].contains(type) else { throw .invalid("column type \(type.rawValue) is not supported") }
        return try await commit(identifier, nowMillis: nowMillis) { table throws(IcebergError) -> TableChange? in
            let fields = table.fields
            guard !fields.contains(where: { $0.name == name }) else { throw .invalid("column '\(name)' already exists in \(identifier)") }
            let newID = table.lastColumnID + 1
            let schemaIDs = ((table.metadata["schemas"] as? [[String: Any]]) ?? []).compactMap { ($0["schema-id"] as? NSNumber)?.intValue }
            let schemaID = (schemaIDs.max() ?? 0) + 1
            let schema = Self.schemaJSON(fields + [IcebergField(id: newID, name: name, type: type, date: date)], id: schemaID)
            return TableChange(requirements: [["type": "assert-table-uuid", "uuid": table.tableUUID],
                                              ["type": "assert-current-schema-id", "current-schema-id": table.currentSchemaID],
                                              ["type": "assert-last-assigned-field-id", "last-assigned-field-id": table.lastColumnID]],
                               updates: [["action": "add-schema", "schema": schema, "last-column-id": newID],
                                         ["action": "set-current-schema", "schema-id": -1]])
        }
    }

    // MARK: - Helpers

    /// The Avro record of a manifest's partition tuple (optional values, the spec's field ids).
    static func partitionRecordSchema(_ partition: [IcebergPartitionField], fields: [IcebergField]) -> String {
        let members = partition.map { p -> String in
            let source = fields.first { $0.id == p.sourceID } ?? IcebergField(id: 0, name: "", type: .string)
            let type = p.avroType(source: source)
            let quoted = type.hasPrefix("{") ? type : "\"\(type)\""
            return #"{"name":"\#(p.name)","type":["null",\#(quoted)],"default":null,"field-id":\#(p.fieldID)}"#
        }
        return #"{"type":"record","name":"r102","fields":[\#(members.joined(separator: ","))]}"#
    }

    /// A partition value in a data file path (Hive style).
    static func pathValue(_ value: ScalarValue) -> String {
        switch value {
        case .null: "null"
        case .int64(let v): String(v)
        case .string(let s): s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s
        case .timestamp(let v): String(v)
        case .float64(let v): String(v)
        case .bool(let b): String(b)
        case .binary(let b): b.map { String($0, radix: 16) }.joined()
        }
    }

    static func schemaJSON(_ fields: [IcebergField], id: Int) -> [String: Any] {
        ["type": "struct", "schema-id": id, "fields": fields.map { ["id": $0.id, "name": $0.name, "required": $0.required, "type": $0.icebergTypeName] as [String: Any] }]
    }

    static func json(_ object: Any) throws(IcebergError) -> [UInt8] {
        do { return try JSONText.encode(object) } catch { throw .invalid(error.description) }
    }
}
