// Iceberg manifests and manifest lists (format v2, unpartitioned): their Avro schemas with the
// spec's field ids, and reading them back with a schema-driven Avro decoder (so manifests
// written by other tools read too).

import Foundation

enum Manifests {
    /// manifest_file (the manifest list's records), in the field order `append` writes.
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

    /// manifest_entry with the data_file fields Kyma writes (the others are optional), for a
    /// partition record schema.
    static func entrySchema(partition: String) -> String {
        entrySchemaTemplate.replacingOccurrences(of: #"{"type":"record","name":"r102","fields":[]}"#, with: partition)
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
    {"name":"file_size_in_bytes","type":"long","field-id":104}]},"field-id":2}]}
    """

    /// The manifest list's records (as values re-encodable with `listSchema` when the file used it).
    static func readList(_ bytes: [UInt8]) throws(IcebergError) -> [AvroValue] {
        let (schema, records) = try AvroDecoder.container(bytes)
        // Re-shape into Kyma's field order by name, so appends can re-write lists other tools wrote.
        guard case .record(let fields)? = Optional(schema), !fields.isEmpty else { return records }
        let wanted = ["manifest_path", "manifest_length", "partition_spec_id", "content", "sequence_number", "min_sequence_number",
                      "added_snapshot_id", "added_files_count", "existing_files_count", "deleted_files_count", "added_rows_count",
                      "existing_rows_count", "deleted_rows_count", "partitions"]
        return records.map { record in
            guard case .record(let values) = record else { return record }
            let byName = Dictionary(uniqueKeysWithValues: zip(fields.map(\.name), values))
            return .record(wanted.map { name in
                if let v = byName[name] { return name == "partitions" ? (isUnion(v) ? v : .optional(v)) : unwrap(v) }
                switch name {
                case "content", "added_files_count", "existing_files_count", "deleted_files_count", "partition_spec_id": return .int(0)
                case "partitions": return .optional(nil)
                default: return .long(0)
                }
            })
        }
    }

    static func isUnion(_ v: AvroValue) -> Bool { if case .union = v { true } else { false } }
    static func unwrap(_ v: AvroValue) -> AvroValue { if case .union(_, let inner) = v { inner } else { v } }

    /// The data file paths of a manifest's live (ADDED or EXISTING) entries.
    static func dataFiles(_ bytes: [UInt8]) throws(IcebergError) -> [String] {
        let (schema, records) = try AvroDecoder.container(bytes)
        guard case .record(let fields) = schema, let statusIndex = fields.firstIndex(where: { $0.name == "status" }),
              let fileIndex = fields.firstIndex(where: { $0.name == "data_file" }), case .record(let fileFields) = fields[fileIndex].schema,
              let pathIndex = fileFields.firstIndex(where: { $0.name == "file_path" }) else {
            throw .invalid("manifest without status / data_file.file_path")
        }
        var paths: [String] = []
        for record in records {
            guard case .record(let values) = record, case .int(let status) = unwrap(values[statusIndex]), status != 2,
                  case .record(let file) = unwrap(values[fileIndex]), case .string(let path) = unwrap(file[pathIndex]) else { continue }
            paths.append(path)
        }
        return paths
    }
}

/// An Avro schema as the decoder needs it.
indirect enum AvroSchema {
    struct Field {
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

    static func parse(_ json: Any, _ named: inout [String: AvroSchema]) throws(IcebergError) -> AvroSchema {
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
            for branch in branches { out.append(try parse(branch, &named)) }
            return .union(out)
        }
        guard let object = json as? [String: Any], let type = object["type"] else { throw .invalid("bad Avro schema") }
        switch type as? String {
        case "record":
            var fields: [Field] = []
            for f in (object["fields"] as? [[String: Any]]) ?? [] {
                guard let name = f["name"] as? String, let t = f["type"] else { throw .invalid("Avro field without name or type") }
                fields.append(Field(name: name, schema: try parse(t, &named)))
            }
            let schema = AvroSchema.record(fields)
            if let name = object["name"] as? String { named[name] = schema }
            return schema
        case "array": return .array(try parse(object["items"] ?? "null", &named))
        case "map": return .map(try parse(object["values"] ?? "null", &named))
        case "fixed": return .fixed((object["size"] as? NSNumber)?.intValue ?? 0)
        case "enum": return .enumeration
        default: return try parse(type, &named)
        }
    }
}

enum AvroDecoder {
    /// The writer's schema and every record of an object container file (null codec).
    static func container(_ bytes: [UInt8]) throws(IcebergError) -> (AvroSchema, [AvroValue]) {
        guard bytes.count >= 4, Array(bytes.prefix(4)) == Array("Obj".utf8) + [1] else { throw .invalid("not an Avro container file") }
        var p = 4
        var metadata: [String: [UInt8]] = [:]
        while true {
            var count = try long(bytes, &p)
            if count == 0 { break }
            if count < 0 { count = -count; _ = try long(bytes, &p) }
            for _ in 0..<count {
                let key = String(decoding: try blob(bytes, &p), as: UTF8.self)
                metadata[key] = try blob(bytes, &p)
            }
        }
        if let codec = metadata["avro.codec"], String(decoding: codec, as: UTF8.self) != "null" {
            throw .invalid("Avro codec \(String(decoding: codec, as: UTF8.self)) (only null is read)")
        }
        guard let schemaBytes = metadata["avro.schema"], let json = try? JSONSerialization.jsonObject(with: Data(schemaBytes)) else {
            throw .invalid("Avro file without a schema")
        }
        var named: [String: AvroSchema] = [:]
        let schema = try AvroSchema.parse(json, &named)
        guard p + 16 <= bytes.count else { throw .invalid("truncated Avro header") }
        p += 16
        var records: [AvroValue] = []
        while p < bytes.count {
            let count = try long(bytes, &p)
            _ = try long(bytes, &p)
            guard count >= 0, count <= Int64(bytes.count) else { throw .invalid("bad Avro block") }
            for _ in 0..<count { records.append(try value(schema, bytes, &p)) }
            guard p + 16 <= bytes.count else { throw .invalid("truncated Avro block") }
            p += 16
        }
        return (schema, records)
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

    static func value(_ schema: AvroSchema, _ bytes: [UInt8], _ p: inout Int) throws(IcebergError) -> AvroValue {
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
            guard size >= 0, p + size <= bytes.count else { throw .invalid("truncated fixed") }
            defer { p += size }
            return .fixed(Array(bytes[p..<p + size]))
        case .record(let fields):
            var values: [AvroValue] = []
            for field in fields { values.append(try value(field.schema, bytes, &p)) }
            return .record(values)
        case .array(let items), .map(let items):
            var out: [AvroValue] = [], entries: [(String, AvroValue)] = []
            while true {
                var count = try long(bytes, &p)
                if count == 0 { break }
                if count < 0 { count = -count; _ = try long(bytes, &p) }
                guard count <= Int64(bytes.count) else { throw .invalid("bad Avro block count") }
                for _ in 0..<count {
                    if case .map = schema {
                        entries.append((String(decoding: try blob(bytes, &p), as: UTF8.self), try value(items, bytes, &p)))
                    } else {
                        out.append(try value(items, bytes, &p))
                    }
                }
            }
            if case .map = schema { return .map(entries) }
            return .array(out)
        case .union(let branches):
            let index = Int(try long(bytes, &p))
            guard index >= 0, index < branches.count else { throw .invalid("union branch \(index)") }
            return .union(index, try value(branches[index], bytes, &p))
        }
    }
}
