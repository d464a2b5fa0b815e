// Iceberg v2 tables: schema with field ids, table metadata JSON, manifests and manifest lists
// (Avro, written by AvroEncoder), and the operations create and fast append as optimistic
// commits: write new metadata, then compare-and-set the catalog pointer; on a conflict re-read
// and re-apply to the new base.

import Foundation
import KymaCatalog
import KymaCore
import KymaObjectStore
import KymaParquet

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

    public init(id: Int, name: String, type: DataType, required: Bool = false) {
        self.id = id
        self.name = name
        self.type = type
        self.required = required
    }

    var icebergType: String {
        switch type {
        case .int64: "long"
        case .float64: "double"
        case .string: "string"
        case .bool: "boolean"
        case .timestamp: "timestamptz"
        default: "binary"
        }
    }

    static func dataType(_ iceberg: String) -> DataType? {
        switch iceberg {
        case "long", "int": .int64
        case "double", "float": .float64
        case "string": .string
        case "boolean": .bool
        case "timestamptz", "timestamp": .timestamp
        case "binary": .binary
        default: nil
        }
    }
}

/// A loaded table: its metadata location and the parsed JSON.
public struct IcebergTable: Sendable {
    public let identifier: IcebergTableIdentifier
    public let metadataLocation: String
    /// The metadata file's bytes (JSON), parsed on use.
    let metadataJSON: [UInt8]

    var metadata: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(metadataJSON))) as? [String: Any]) ?? [:] }
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

    public var fields: [IcebergField] {
        let schemas = (metadata["schemas"] as? [[String: Any]]) ?? []
        let current = (metadata["current-schema-id"] as? NSNumber)?.intValue ?? 0
        let schema = schemas.first { ($0["schema-id"] as? NSNumber)?.intValue == current } ?? schemas.first ?? [:]
        return ((schema["fields"] as? [[String: Any]]) ?? []).compactMap { f in
            guard let id = (f["id"] as? NSNumber)?.intValue, let name = f["name"] as? String, let type = (f["type"] as? String).flatMap(IcebergField.dataType) else { return nil }
            return IcebergField(id: id, name: name, type: type, required: (f["required"] as? Bool) ?? false)
        }
    }
}

public struct IcebergTables: Sendable {
    public let catalog: any IcebergTableCatalog
    public let store: any ObjectStore
    /// Where new tables go: `<warehouse>/<namespace>/<table>`; object keys under the store.
    public let warehouse: String
    /// How the store's keys appear as URIs to other tools (`file:///abs/root/` or `s3://bucket/prefix/`).
    public let storeURI: String

    public init(catalog: any IcebergTableCatalog, store: any ObjectStore, warehouse: String = "warehouse", storeURI: String) {
        self.catalog = catalog
        self.store = store
        self.warehouse = warehouse
        self.storeURI = storeURI.hasSuffix("/") ? storeURI : storeURI + "/"
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
                       nowMillis: Int64) async throws(IcebergError) -> IcebergTable {
        guard !fields.isEmpty, Set(fields.map(\.id)).count == fields.count, Set(fields.map(\.name)).count == fields.count else {
            throw .invalid("a schema needs fields with unique ids and names")
        }
        for p in partition {
            guard let source = fields.first(where: { $0.id == p.sourceID }) else { throw .invalid("partition field \(p.name) has no source column \(p.sourceID)") }
            switch p.transform {
            case .day, .hour: guard source.type == .timestamp else { throw .invalid("\(p.transform) needs a timestamp column, '\(source.name)' is \(source.type.rawValue)") }
            case .bucket: guard [.int64, .string, .timestamp, .binary].contains(source.type) else { throw .invalid("bucket needs a long, string, timestamp or binary column") }
            case .identity: break
            }
        }
        do { try await catalog.createNamespace(identifier.namespace) } catch { throw .catalog(error.description) }
        let location = storeURI + "\(warehouse)/\(identifier.namespace)/\(identifier.name)"
        let metadata: [String: Any] = [
            "format-version": 2,
            "table-uuid": UUID().uuidString.lowercased(),
            "location": location,
            "last-sequence-number": 0,
            "last-updated-ms": nowMillis,
            "last-column-id": fields.map(\.id).max() ?? 0,
            "current-schema-id": 0,
            "schemas": [Self.schemaJSON(fields)],
            "default-spec-id": 0,
            "partition-specs": [["spec-id": 0, "fields": partition.map(\.json)]],
            "last-partition-id": partition.map(\.fieldID).max() ?? 999,
            "default-sort-order-id": 0,
            "sort-orders": [["order-id": 0, "fields": [] as [Any]]],
            "properties": ["write.format.default": "parquet", "created-by": "kyma"],
            "current-snapshot-id": -1,
            "refs": [String: Any](),
            "snapshots": [] as [Any],
            "snapshot-log": [] as [Any],
            "metadata-log": [] as [Any],
        ]
        let uri = location + "/metadata/00000-\(UUID().uuidString.lowercased()).metadata.json"
        try await put(uri, try Self.json(metadata))
        do {
            try await catalog.commitTable(identifier, expected: nil, newLocation: uri)
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
        let bytes = try await get(location)
        guard (try? JSONSerialization.jsonObject(with: Data(bytes))) is [String: Any] else { throw .invalid("\(location) is not table metadata JSON") }
        return IcebergTable(identifier: identifier, metadataLocation: location, metadataJSON: bytes)
    }

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

    static func schemaJSON(_ fields: [IcebergField]) -> [String: Any] {
        ["type": "struct", "schema-id": 0, "fields": fields.map { ["id": $0.id, "name": $0.name, "required": $0.required, "type": $0.icebergType] as [String: Any] }]
    }

    static func json(_ object: Any) throws(IcebergError) -> [UInt8] {
        do { return [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) } catch { throw .invalid("JSON: \(error)") }
    }

    // MARK: - Fast append

    /// Writes `batches` as one Parquet data file (field ids from the table schema) and commits a
    /// fast append: a manifest for the new file, a manifest list with the previous manifests plus
    /// it, new metadata; retried on a concurrent commit. `summary` adds snapshot properties.
    @discardableResult
    public func append(_ identifier: IcebergTableIdentifier, batches: [ColumnBatch], summary: [String: String] = [:], nowMillis: Int64) async throws(IcebergError) -> Int64 {
        var table = try await load(identifier)
        let fields = table.fields
        let partition = table.partition
        // Rows grouped by partition tuple: one data file per partition.
        var groups: [[ScalarValue]: [(ColumnBatch, [UInt32])]] = [:]
        var order: [[ScalarValue]] = []
        for batch in batches {
            let sources = partition.map { p in batch.column(named: fields.first { $0.id == p.sourceID }?.name ?? "") }
            var rowsByKey: [[ScalarValue]: [UInt32]] = [:]
            for row in batch.selectedRows {
                let key = zip(partition, sources).map { p, column in p.transform.apply(column?.value(at: row) ?? .null) }
                if rowsByKey[key] == nil, groups[key] == nil, !order.contains(key) { order.append(key) }
                rowsByKey[key, default: []].append(UInt32(row))
            }
            for (key, rows) in rowsByKey { groups[key, default: []].append((batch, rows)) }
        }
        var files: [(uri: String, partition: [ScalarValue], rows: Int, bytes: Int)] = []
        var rows = 0
        for key in order {
            let writer: ParquetWriter
            do {
                writer = try ParquetWriter(fields: fields.map { ParquetField(name: $0.name, type: $0.type, optional: !$0.required, fieldID: Int32($0.id)) })
                for (batch, selected) in groups[key] ?? [] {
                    var part = batch
                    part.selection = selected
                    try writer.append(part)
                }
            } catch { throw .invalid("\(error)") }
            let count = (groups[key] ?? []).reduce(0) { $0 + $1.1.count }
            let parquet: [UInt8]
            do { parquet = try writer.finish() } catch { throw .invalid("\(error)") }
            let directory = partition.isEmpty ? "" : zip(partition, key).map { "\($0.name)=\(Self.pathValue($1))/" }.joined()
            let uri = table.location + "/data/\(directory)\(UUID().uuidString.lowercased()).parquet"
            try await put(uri, parquet)
            files.append((uri, key, count, parquet.count))
            rows += count
        }
        let partitionSchema = Self.partitionRecordSchema(partition, fields: fields)
        let specJSON = String(decoding: try Self.json(partition.map(\.json)), as: UTF8.self)
        for _ in 0..<10 {
            let snapshotID = Int64.random(in: 1...Int64.max / 2)
            let sequence = ((table.metadata["last-sequence-number"] as? NSNumber)?.int64Value ?? 0) + 1
            // The new manifest: one ADDED entry per data file; sequence numbers inherited (null).
            let entries = files.map { file in
                AvroValue.record([.int(1), .optional(.long(snapshotID)), .optional(nil), .optional(nil),
                                  .record([.int(0), .string(file.uri), .string("PARQUET"),
                                           .record(zip(partition, file.partition).map { $0.avroValue($1) }),
                                           .long(Int64(file.rows)), .long(Int64(file.bytes))])])
            }
            let manifest = AvroEncoder.containerFile(schemaJSON: Manifests.entrySchema(partition: partitionSchema), metadata: [
                ("schema", String(decoding: try Self.json(Self.schemaJSON(fields)), as: UTF8.self)), ("schema-id", "0"),
                ("partition-spec", specJSON), ("partition-spec-id", "0"), ("format-version", "2"), ("content", "data"),
            ], records: entries)
            let manifestURI = table.location + "/metadata/\(UUID().uuidString.lowercased())-m0.avro"
            try await put(manifestURI, manifest)
            // The manifest list: the parent's manifests, then the new one.
            var listed: [AvroValue] = []
            if let parent = table.currentSnapshotID, parent > 0,
               let parentList = table.snapshots.first(where: { ($0["snapshot-id"] as? NSNumber)?.int64Value == parent })?["manifest-list"] as? String {
                listed = try Manifests.readList(try await get(parentList))
            }
            listed.append(.record([.string(manifestURI), .long(Int64(manifest.count)), .int(0), .int(0), .long(sequence), .long(sequence),
                                   .long(snapshotID), .int(Int32(files.count)), .int(0), .int(0), .long(Int64(rows)), .long(0), .long(0), .optional(nil)]))
            let listURI = table.location + "/metadata/snap-\(snapshotID)-1-\(UUID().uuidString.lowercased()).avro"
            try await put(listURI, AvroEncoder.containerFile(schemaJSON: Manifests.listSchema, metadata: [
                ("snapshot-id", String(snapshotID)), ("parent-snapshot-id", table.currentSnapshotID.map(String.init) ?? "null"),
                ("sequence-number", String(sequence)), ("format-version", "2"),
            ], records: listed))
            // New metadata.
            var metadata = table.metadata
            let previousTotal = (table.snapshots.last?["summary"] as? [String: String])?["total-records"].flatMap { Int64($0) } ?? 0
            var snapshotSummary: [String: String] = ["operation": "append", "added-data-files": String(files.count), "added-records": String(rows),
                                                     "total-records": String(previousTotal + Int64(rows)), "added-files-size": String(files.reduce(0) { $0 + $1.bytes })]
            for (k, v) in summary { snapshotSummary[k] = v }
            var snapshot: [String: Any] = ["snapshot-id": snapshotID, "sequence-number": sequence, "timestamp-ms": nowMillis,
                                           "manifest-list": listURI, "summary": snapshotSummary, "schema-id": 0]
            if let parent = table.currentSnapshotID, parent > 0 { snapshot["parent-snapshot-id"] = parent }
            metadata["snapshots"] = ((metadata["snapshots"] as? [Any]) ?? []) + [snapshot]
            metadata["current-snapshot-id"] = snapshotID
            metadata["last-sequence-number"] = sequence
            metadata["last-updated-ms"] = nowMillis
            metadata["refs"] = ["main": ["snapshot-id": snapshotID, "type": "branch"]]
            metadata["snapshot-log"] = ((metadata["snapshot-log"] as? [Any]) ?? []) + [["snapshot-id": snapshotID, "timestamp-ms": nowMillis]]
            metadata["metadata-log"] = ((metadata["metadata-log"] as? [Any]) ?? []) + [["metadata-file": table.metadataLocation, "timestamp-ms": nowMillis]]
            let version = ((table.metadata["metadata-log"] as? [Any])?.count ?? 0) + 1
            let metadataURI = table.location + "/metadata/\(String(format: "%05d", version))-\(UUID().uuidString.lowercased()).metadata.json"
            try await put(metadataURI, try Self.json(metadata))
            do {
                try await catalog.commitTable(identifier, expected: table.metadataLocation, newLocation: metadataURI)
                return snapshotID
            } catch .conflict {
                table = try await load(identifier)  // re-apply on the new base
            } catch {
                throw .catalog(error.description)
            }
        }
        throw .conflict("gave up after 10 concurrent commits on \(identifier)")
    }

    // MARK: - Scan

    /// Every row of the current snapshot (the data files its manifests list).
    public func scan(_ identifier: IcebergTableIdentifier) async throws(IcebergError) -> [ColumnBatch] {
        let table = try await load(identifier)
        guard let current = table.currentSnapshotID, current > 0,
              let list = table.snapshots.first(where: { ($0["snapshot-id"] as? NSNumber)?.int64Value == current })?["manifest-list"] as? String else { return [] }
        var batches: [ColumnBatch] = []
        for manifest in try Manifests.readList(try await get(list)) {
            guard case .record(let fields) = manifest, case .string(let manifestURI) = fields[0] else { continue }
            for path in try Manifests.dataFiles(try await get(manifestURI)) {
                do {
                    batches += try ParquetFile(bytes: try await get(path)).readAll()
                } catch let error as IcebergError { throw error } catch { throw .invalid("\(path): \(error)") }
            }
        }
        return batches
    }
}
