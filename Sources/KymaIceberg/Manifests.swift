// Iceberg manifests and manifest lists (format v2): their Avro schemas with the spec's field
// ids, entries with column metrics, and reading them back with a schema-driven Avro decoder
// (so manifests written by other tools, pyiceberg's included, read too).

import Foundation
import KymaCompression

/// A data file as a manifest describes it: path, partition tuple, counts and column metrics
/// (keyed by field id; bounds in the spec's single-value serialization).
public struct IcebergDataFile: Sendable, Hashable {
    public var path: String
    /// The partition tuple as Avro values of the spec's partition record (`.optional(...)`).
    public var partition: [AvroValue]
    public var recordCount: Int64
    public var fileSizeInBytes: Int64
    public var columnSizes: [Int32: Int64] = [:]
    public var valueCounts: [Int32: Int64] = [:]
    public var nullValueCounts: [Int32: Int64] = [:]
    public var lowerBounds: [Int32: [UInt8]] = [:]
    public var upperBounds: [Int32: [UInt8]] = [:]

    public init(path: String, partition: [AvroValue], recordCount: Int64, fileSizeInBytes: Int64) {
        self.path = path
        self.partition = partition
        self.recordCount = recordCount
        self.fileSizeInBytes = fileSizeInBytes
    }
}

/// One manifest entry. Sequence numbers nil mean "inherited from the manifest" (ADDED entries).
struct ManifestEntry: Sendable, Hashable {
    static let existing: Int32 = 0, added: Int32 = 1, deleted: Int32 = 2
    var status: Int32
    var snapshotID: Int64?
    var sequenceNumber: Int64?
    var fileSequenceNumber: Int64?
    var file: IcebergDataFile
}

/// A manifest list record (manifest_file), the fields Kyma reads and writes.
struct ManifestFile: Sendable, Hashable {
    var path: String
    var length: Int64
    var specID: Int32
    var content: Int32
    var sequenceNumber: Int64
    var minSequenceNumber: Int64
    var addedSnapshotID: Int64
    var addedFiles: Int32, existingFiles: Int32, deletedFiles: Int32
    var addedRows: Int64, existingRows: Int64, deletedRows: Int64
    /// field_summary records, one per partition field (nil when absent).
    var partitions: [AvroValue]?

    var avro: AvroValue {
        .record([.string(path), .long(length), .int(specID), .int(content), .long(sequenceNumber), .long(minSequenceNumber),
                 .long(addedSnapshotID), .int(addedFiles), .int(existingFiles), .int(deletedFiles), .long(addedRows), .long(existingRows),
                 .long(deletedRows), .optional(partitions.map { .array($0) })])
    }
}

enum Manifests {
    /// manifest_file (the manifest list's records), in the field order `ManifestFile.avro` writes.
    static let listSchema = """
    {"type":"record","name":"manifest_file","fields":[\
    {"name":"manifest_path","type":"string","field-id":500},\
    {"name":"manifest_length","type":"long","field-id":501},\
    {"name":"partition_spec_id","type":"int","field-id":502},\
    {"name":"content","type":"int","field-id":517},\
    {"name":"sequence_number","type":"long","field-id":515},\
    {"name":"min_sequence_number","type":"long","field-id":516},\
    {"name":"added_snapshot_id","type":"long","field-id":503},\
    {"name":"added_files_count","type":"int","field-id":504},\
    {"name":"existing_files_count","type":"int","field-id":505},\
    {"name":"deleted_files_count","type":"int","field-id":506},\
    {"name":"added_rows_count","type":"long","field-id":512},\
    {"name":"existing_rows_count","type":"long","field-id":513},\
    {"name":"deleted_rows_count","type":"long","field-id":514},\
    {"name":"partitions","type":["null",{"type":"array","items":{"type":"record","name":"r508","fields":[\
    {"name":"contains_null","type":"boolean","field-id":509},\
    {"name":"contains_nan","type":["null","boolean"],"default":null,"field-id":518},\
    {"name":"lower_bound","type":["null","bytes"],"default":null,"field-id":510},\
    {"name":"upper_bound","type":["null","bytes"],"default":null,"field-id":511}]},"element-id":508}],"default":null,"field-id":507}]}
    """

    /// manifest_entry with the data_file fields Kyma writes, for a partition record schema.
    static func entrySchema(partition: String) -> String {
        entrySchemaTemplate.replacingOccurrences(of: #"{"type":"record","name":"r102","fields":[]}"#, with: partition)
    }

    static func mapSchema(_ name: String, id: Int, key: Int, value: Int, valueType: String) -> String {
        #"{"name":"\#(name)","type":["null",{"type":"array","items":{"type":"record","name":"k\#(key)_v\#(value)","fields":[{"name":"key","type":"int","field-id":\#(key)},{"name":"value","type":"\#(valueType)","field-id":\#(value)}]},"logicalType":"map"}],"default":null,"field-id":\#(id)}"#
    }

    static let entrySchemaTemplate = """
    {"type":"record","name":"manifest_entry","fields":[\
    {"name":"status","type":"int","field-id":0},\
    {"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},\
    {"name":"sequence_number","type":["null","long"],"default":null,"field-id":3},\
    {"name":"file_sequence_number","type":["null","long"],"default":null,"field-id":4},\
    {"name":"data_file","type":{"type":"record","name":"r2","fields":[\
    {"name":"content","type":"int","field-id":134},\
    {"name":"file_path","type":"string","field-id":100},\
    {"name":"file_format","type":"string","field-id":101},\
    {"name":"partition","type":{"type":"record","name":"r102","fields":[]},"field-id":102},\
    {"name":"record_count","type":"long","field-id":103},\
    {"name":"file_size_in_bytes","type":"long","field-id":104},\
    \(mapSchema("column_sizes", id: 108, key: 117, value: 118, valueType: "long")),\
    \(mapSchema("value_counts", id: 109, key: 119, value: 120, valueType: "long")),\
    \(mapSchema("null_value_counts", id: 110, key: 121, value: 122, valueType: "long")),\
    \(mapSchema("lower_bounds", id: 125, key: 126, value: 127, valueType: "bytes")),\
    \(mapSchema("upper_bounds", id: 128, key: 129, value: 130, valueType: "bytes"))\
    ]},"field-id":2}]}
    """

    static func avro(_ entry: ManifestEntry) -> AvroValue {
        func map<V>(_ values: [Int32: V], _ wrap: (V) -> AvroValue) -> AvroValue {
            .optional(.array(values.keys.sorted().map { .record([.int($0), wrap(values[$0]!)]) }))
        }
        let file = entry.file
        return .record([.int(entry.status), .optional(entry.snapshotID.map { .long($0) }), .optional(entry.sequenceNumber.map { .long($0) }),
                        .optional(entry.fileSequenceNumber.map { .long($0) }),
                        .record([.int(0), .string(file.path), .string("PARQUET"), .record(file.partition), .long(file.recordCount),
                                 .long(file.fileSizeInBytes), map(file.columnSizes) { .long($0) }, map(file.valueCounts) { .long($0) },
                                 map(file.nullValueCounts) { .long($0) }, map(file.lowerBounds) { .bytes($0) }, map(file.upperBounds) { .bytes($0) }])])
    }

    /// The manifest list's records, from a list any writer produced (fields matched by name).
    static func readList(_ bytes: [UInt8]) throws(IcebergError) -> [ManifestFile] {
        let (schema, records) = try AvroDecoder.container(bytes)
        guard case .record(let fields) = schema else { throw .invalid("manifest list is not a record file") }
        let names = fields.map(\.name)
        return records.compactMap { record -> ManifestFile? in
            guard case .record(let values) = record else { return nil }
            let byName = Dictionary(uniqueKeysWithValues: zip(names, values.map(unwrap)))
            func long(_ name: String) -> Int64 {
                switch byName[name] { case .long(let v)?: v; case .int(let v)?: Int64(v); default: 0 }
            }
            guard case .string(let path)? = byName["manifest_path"] else { return nil }
            var partitions: [AvroValue]? = nil
            if case .array(let items)? = byName["partitions"] { partitions = items.map(normalizeSummary) }
            let sequence = long("sequence_number")
            return ManifestFile(path: path, length: long("manifest_length"), specID: Int32(long("partition_spec_id")), content: Int32(long("content")),
                                sequenceNumber: sequence, minSequenceNumber: byName["min_sequence_number"] == nil ? sequence : long("min_sequence_number"),
                                addedSnapshotID: long("added_snapshot_id"),
                                addedFiles: Int32(long(byName["added_files_count"] != nil ? "added_files_count" : "added_data_files_count")),
                                existingFiles: Int32(long(byName["existing_files_count"] != nil ? "existing_files_count" : "existing_data_files_count")),
                                deletedFiles: Int32(long(byName["deleted_files_count"] != nil ? "deleted_files_count" : "deleted_data_files_count")),
                                addedRows: long("added_rows_count"), existingRows: long("existing_rows_count"), deletedRows: long("deleted_rows_count"),
                                partitions: partitions)
        }
    }

    /// A field_summary as Kyma's list schema encodes it (r508: contains_null, contains_nan, lower, upper).
    static func normalizeSummary(_ value: AvroValue) -> AvroValue {
        guard case .record(let fields) = unwrap(value) else { return value }
        let containsNull = fields.first.map(unwrap) ?? .boolean(false)
        func optional(_ v: AvroValue?) -> AvroValue {
            guard let v else { return .optional(nil) }
            if case .null = unwrap(v) { return .optional(nil) }
            return .optional(unwrap(v))
        }
        if fields.count >= 4 { return .record([containsNull, optional(fields[1]), optional(fields[2]), optional(fields[3])]) }
        // Older writers: contains_null, lower_bound, upper_bound.
        return .record([containsNull, .optional(nil), optional(fields.count > 1 ? fields[1] : nil), optional(fields.count > 2 ? fields[2] : nil)])
    }

    static func unwrap(_ v: AvroValue) -> AvroValue { if case .union(_, let inner) = v { inner } else { v } }

    /// Every entry of a manifest any writer produced (data_file fields matched by name; the
    /// partition tuple re-shaped as optional values).
    static func entries(_ bytes: [UInt8]) throws(IcebergError) -> [ManifestEntry] {
        let (schema, records) = try AvroDecoder.container(bytes)
        guard case .record(let fields) = schema, let fileField = fields.first(where: { $0.name == "data_file" }),
              case .record(let fileFields) = fileField.schema else {
            throw .invalid("manifest without data_file")
        }
        let names = fields.map(\.name), fileNames = fileFields.map(\.name)
        var out: [ManifestEntry] = []
        for record in records {
            guard case .record(let values) = record else { continue }
            let byName = Dictionary(uniqueKeysWithValues: zip(names, values.map(unwrap)))
            guard case .int(let status)? = byName["status"], case .record(let fileValues)? = byName["data_file"] else { throw .invalid("manifest entry without status or data_file") }
            let file = Dictionary(uniqueKeysWithValues: zip(fileNames, fileValues.map(unwrap)))
            if case .int(let content)? = file["content"], content != 0 { throw .invalid("delete files (content \(content)) are not supported") }
            guard case .string(let path)? = file["file_path"] else { throw .invalid("data_file without file_path") }
            func long(_ v: AvroValue?) -> Int64? { switch v { case .long(let x)?: x; case .int(let x)?: Int64(x); default: nil } }
            var partition: [AvroValue] = []
            if case .record(let parts)? = file["partition"] {
                partition = parts.map { part in if case .null = unwrap(part) { .optional(nil) } else { .optional(unwrap(part)) } }
            }
            var dataFile = IcebergDataFile(path: path, partition: partition, recordCount: long(file["record_count"]) ?? 0,
                                           fileSizeInBytes: long(file["file_size_in_bytes"]) ?? 0)
            func pairs(_ name: String) -> [(Int32, AvroValue)] {
                guard case .array(let items)? = file[name] else { return [] }
                return items.compactMap { item in
                    guard case .record(let kv) = item, kv.count == 2, case .int(let key) = unwrap(kv[0]) else { return nil }
                    return (key, unwrap(kv[1]))
                }
            }
            for (k, v) in pairs("column_sizes") { dataFile.columnSizes[k] = long(v) }
            for (k, v) in pairs("value_counts") { dataFile.valueCounts[k] = long(v) }
            for (k, v) in pairs("null_value_counts") { dataFile.nullValueCounts[k] = long(v) }
            for (k, v) in pairs("lower_bounds") { if case .bytes(let b) = v { dataFile.lowerBounds[k] = b } }
            for (k, v) in pairs("upper_bounds") { if case .bytes(let b) = v { dataFile.upperBounds[k] = b } }
            out.append(ManifestEntry(status: status, snapshotID: long(byName["snapshot_id"]), sequenceNumber: long(byName["sequence_number"]),
                                     fileSequenceNumber: long(byName["file_sequence_number"]), file: dataFile))
        }
        return out
    }
}

/// An Avro schema as the decoder needs it.
public indirect enum AvroSchema: Sendable {
    public struct Field: Sendable {
        var name: String
        var schema: AvroSchema
    }
    case null, boolean, int, long, float, double, bytes, string
    case record([Field])
    case array(AvroSchema)
    case map(AvroSchema)
    case union([AvroSchema])
    case fixed(Int)
    case enumeration

    static func parse(_ json: Any, _ named: inout [String: AvroSchema], depth: Int = 0) throws(IcebergError) -> AvroSchema {
        guard depth < 64 else { throw .invalid("Avro schema nested deeper than 64 levels") }
        if let name = json as? String {
            switch name {
            case "null": return .null
            case "boolean": return .boolean
            case "int": return .int
            case "long": return .long
            case "float": return .float
            case "double": return .double
            case "bytes": return .bytes
            case "string": return .string
            default:
                guard let known = named[name] else { throw .invalid("unknown Avro type '\(name)'") }
                return known
            }
        }
        if let branches = json as? [Any] {
            var out: [AvroSchema] = []
            for branch in branches { out.append(try parse(branch, &named, depth: depth + 1)) }
            return .union(out)
        }
        guard let object = json as? [String: Any], let type = object["type"] else { throw .invalid("bad Avro schema") }
        switch type as? String {
        case "record":
            var fields: [Field] = []
            for f in (object["fields"] as? [[String: Any]]) ?? [] {
                guard let name = f["name"] as? String, let t = f["type"] else { throw .invalid("Avro field without name or type") }
                fields.append(Field(name: name, schema: try parse(t, &named, depth: depth + 1)))
            }
            let schema = AvroSchema.record(fields)
            if let name = object["name"] as? String { named[name] = schema }
            return schema
        case "array": return .array(try parse(object["items"] ?? "null", &named, depth: depth + 1))
        case "map": return .map(try parse(object["values"] ?? "null", &named, depth: depth + 1))
        case "fixed": return .fixed((object["size"] as? NSNumber)?.intValue ?? 0)
        case "enum": return .enumeration
        default: return try parse(type, &named, depth: depth + 1)
        }
    }
}

public enum AvroDecoder {
    /// The writer's schema and every record of an object container file (null codec).
    public static func container(_ bytes: [UInt8]) throws(IcebergError) -> (AvroSchema, [AvroValue]) {
        guard bytes.count >= 4, Array(bytes.prefix(4)) == Array("Obj".utf8) + [1] else { throw .invalid("not an Avro container file") }
        var p = 4
        var metadata: [String: [UInt8]] = [:]
        while true {
            var count = try long(bytes, &p)
            if count == 0 { break }
            if count < 0 { count = try negated(count); _ = try long(bytes, &p) }
            guard count <= Int64(bytes.count) else { throw .invalid("bad Avro metadata count") }
            for _ in 0..<count {
                let key = String(decoding: try blob(bytes, &p), as: UTF8.self)
                metadata[key] = try blob(bytes, &p)
            }
        }
        let codec = metadata["avro.codec"].map { String(decoding: $0, as: UTF8.self) } ?? "null"
        guard codec == "null" || codec == "deflate" else { throw .invalid("Avro codec \(codec) (null and deflate are read)") }
        guard let schemaBytes = metadata["avro.schema"], let json = try? JSONSerialization.jsonObject(with: Data(schemaBytes)) else {
            throw .invalid("Avro file without a schema")
        }
        var named: [String: AvroSchema] = [:]
        let schema = try AvroSchema.parse(json, &named)
        guard p + 16 <= bytes.count else { throw .invalid("truncated Avro header") }
        p += 16
        var records: [AvroValue] = []
        // Every value decoded counts against a budget: nested zero-byte values (arrays of nulls
        // inside arrays) cannot make a small file decode forever.
        var budget = Budget(remaining: 16 * max(bytes.count, 1 << 16))
        while p < bytes.count {
            let count = try long(bytes, &p)
            let size = try long(bytes, &p)
            guard count >= 0, count <= Int64(bytes.count), size >= 0, size <= Int64(bytes.count - p) else { throw .invalid("bad Avro block") }
            if codec == "deflate" {
                let block: [UInt8]
                do { block = try Deflate.inflateRaw(Array(bytes[p..<p + Int(size)]), limit: 1 << 28) } catch { throw .invalid("Avro block: \(error)") }
                var q = 0
                budget.remaining = max(budget.remaining, 16 * block.count)
                for _ in 0..<count { records.append(try value(schema, block, &q, &budget)) }
                p += Int(size)
            } else {
                for _ in 0..<count { records.append(try value(schema, bytes, &p, &budget)) }
            }
            guard p + 16 <= bytes.count else { throw .invalid("truncated Avro block") }
            p += 16
        }
        return (schema, records)
    }

    struct Budget {
        var remaining: Int
        mutating func spend() throws(IcebergError) {
            remaining -= 1
            guard remaining >= 0 else { throw .invalid("Avro values nest or repeat past any file's size") }
        }
    }

    /// -count for a negative block count (the block's byte size follows); Int64.min is damage.
    static func negated(_ count: Int64) throws(IcebergError) -> Int64 {
        guard count != .min else { throw .invalid("bad Avro block count") }
        return -count
    }

    static func long(_ bytes: [UInt8], _ p: inout Int) throws(IcebergError) -> Int64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard p < bytes.count, shift < 64 else { throw .invalid("truncated Avro varint") }
            let b = bytes[p]
            p += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { break }
            shift += 7
        }
        return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
    }

    static func blob(_ bytes: [UInt8], _ p: inout Int) throws(IcebergError) -> [UInt8] {
        let n = try long(bytes, &p)
        guard n >= 0, n <= Int64(bytes.count - p) else { throw .invalid("Avro bytes past the end") }
        defer { p += Int(n) }
        return Array(bytes[p..<p + Int(n)])
    }

    static func value(_ schema: AvroSchema, _ bytes: [UInt8], _ p: inout Int, _ budget: inout Budget) throws(IcebergError) -> AvroValue {
        try budget.spend()
        switch schema {
        case .null: return .null
        case .boolean:
            guard p < bytes.count else { throw .invalid("truncated boolean") }
            defer { p += 1 }
            return .boolean(bytes[p] != 0)
        case .int: return .int(Int32(truncatingIfNeeded: try long(bytes, &p)))
        case .long: return .long(try long(bytes, &p))
        case .float:
            guard p + 4 <= bytes.count else { throw .invalid("truncated float") }
            defer { p += 4 }
            return .float(Float(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24))
        case .double:
            guard p + 8 <= bytes.count else { throw .invalid("truncated double") }
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(bytes[p + k]) << UInt64(8 * k) }
            p += 8
            return .double(Double(bitPattern: bits))
        case .bytes: return .bytes(try blob(bytes, &p))
        case .string: return .string(String(decoding: try blob(bytes, &p), as: UTF8.self))
        case .enumeration: return .int(Int32(truncatingIfNeeded: try long(bytes, &p)))
        case .fixed(let size):
            guard size >= 0, size <= bytes.count - p else { throw .invalid("truncated fixed") }
            defer { p += size }
            return .fixed(Array(bytes[p..<p + size]))
        case .record(let fields):
            var values: [AvroValue] = []
            for field in fields { values.append(try value(field.schema, bytes, &p, &budget)) }
            return .record(values)
        case .array(let items), .map(let items):
            var out: [AvroValue] = [], entries: [(String, AvroValue)] = []
            while true {
                var count = try long(bytes, &p)
                if count == 0 { break }
                if count < 0 { count = try negated(count); _ = try long(bytes, &p) }
                guard count <= Int64(bytes.count) else { throw .invalid("bad Avro block count") }
                for _ in 0..<count {
                    if case .map = schema {
                        entries.append((String(decoding: try blob(bytes, &p), as: UTF8.self), try value(items, bytes, &p, &budget)))
                    } else {
                        out.append(try value(items, bytes, &p, &budget))
                    }
                }
            }
            if case .map = schema { return .map(entries) }
            return .array(out)
        case .union(let branches):
            let index = try long(bytes, &p)
            guard index >= 0, index < Int64(branches.count) else { throw .invalid("union branch \(index)") }
            return .union(Int(index), try value(branches[Int(index)], bytes, &p, &budget))
        }
    }
}
