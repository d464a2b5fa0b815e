// KymaIceberg: Apache Iceberg from Swift. This file: Avro object container files, written by
// Kyma's own encoder (Iceberg manifests and manifest lists are Avro): a value tree, the binary
// encoding of the Avro specification (zigzag varints, length-prefixed bytes, blocked arrays and
// maps, unions by branch index), and the container (magic, metadata map, sync marker, blocks).
// fastavro (PyPI) and pyiceberg are the judges of what it writes.

/// An Avro value, encoded against the schema it was built for (the caller keeps them in step).
public indirect enum AvroValue: Sendable, Hashable {
    case null
    case boolean(Bool)
    case int(Int32)
    case long(Int64)
    case float(Float)
    case double(Double)
    case bytes([UInt8])
    case string(String)
    /// Fields in schema order.
    case record([AvroValue])
    case array([AvroValue])
    case map([(String, AvroValue)])
    /// The branch index in the union's schema and the value.
    case union(Int, AvroValue)
    case fixed([UInt8])

    public static func == (lhs: AvroValue, rhs: AvroValue) -> Bool { AvroEncoder.encode(lhs) == AvroEncoder.encode(rhs) }
    public func hash(into hasher: inout Hasher) { hasher.combine(AvroEncoder.encode(self)) }

    /// `null` or a value, as the union ["null", T] Iceberg uses for optional fields.
    public static func optional(_ value: AvroValue?) -> AvroValue { value.map { .union(1, $0) } ?? .union(0, .null) }
}

public enum AvroEncoder {
    public static func encode(_ value: AvroValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, &out)
        return out
    }

    static func long(_ v: Int64, _ out: inout [UInt8]) {
        var z = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        while z >= 0x80 {
            out.append(UInt8(z & 0x7F) | 0x80)
            z >>= 7
        }
        out.append(UInt8(z))
    }

    static func write(_ value: AvroValue, _ out: inout [UInt8]) {
        switch value {
        case .null: break
        case .boolean(let b): out.append(b ? 1 : 0)
        case .int(let v): long(Int64(v), &out)
        case .long(let v): long(v, &out)
        case .float(let v): withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case .double(let v): withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case .bytes(let b):
            long(Int64(b.count), &out)
            out.append(contentsOf: b)
        case .string(let s):
            long(Int64(s.utf8.count), &out)
            out.append(contentsOf: s.utf8)
        case .record(let fields): for field in fields { write(field, &out) }
        case .array(let items):
            if !items.isEmpty {
                long(Int64(items.count), &out)
                for item in items { write(item, &out) }
            }
            out.append(0)
        case .map(let entries):
            if !entries.isEmpty {
                long(Int64(entries.count), &out)
                for (key, item) in entries {
                    write(.string(key), &out)
                    write(item, &out)
                }
            }
            out.append(0)
        case .union(let branch, let inner):
            long(Int64(branch), &out)
            write(inner, &out)
        case .fixed(let b): out.append(contentsOf: b)
        }
    }

    /// An object container file: header (magic, metadata with the schema JSON and codec null,
    /// sync marker), then the records in blocks of up to `blockRecords`.
    public static func containerFile(schemaJSON: String, metadata: [(String, String)] = [], records: [AvroValue],
                                     blockRecords: Int = 1000, sync: [UInt8]? = nil) -> [UInt8] {
        var out: [UInt8] = Array("Obj".utf8) + [1]
        let marker = sync ?? (0..<16).map { _ in UInt8.random(in: 0...255) }
        var entries: [(String, AvroValue)] = [("avro.schema", .bytes(Array(schemaJSON.utf8))), ("avro.codec", .bytes(Array("null".utf8)))]
        for (key, value) in metadata { entries.append((key, .bytes(Array(value.utf8)))) }
        write(.map(entries), &out)
        out.append(contentsOf: marker)
        var start = 0
        while start < records.count {
            let block = records[start..<min(records.count, start + max(1, blockRecords))]
            var body: [UInt8] = []
            for record in block { write(record, &body) }
            long(Int64(block.count), &out)
            long(Int64(body.count), &out)
            out.append(contentsOf: body)
            out.append(contentsOf: marker)
            start += block.count
        }
        return out
    }
}
