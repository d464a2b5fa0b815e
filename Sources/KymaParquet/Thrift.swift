// Thrift's compact protocol, which Parquet uses for its footer and page headers: a generic value
// tree (`ThriftValue`) with an encoder and a bounds-checked decoder, so the Parquet structures are
// built and read by field id without generated code.

/// A Thrift value. Structs keep their fields in id order.
indirect enum ThriftValue: Sendable, Hashable {
    case bool(Bool)
    case byte(Int8)
    case i16(Int16)
    case i32(Int32)
    case i64(Int64)
    case double(Double)
    case binary([UInt8])
    case list(elementType: UInt8, [ThriftValue])
    case structure([Int16: ThriftValue])

    static func string(_ s: String) -> ThriftValue { .binary(Array(s.utf8)) }
    static func fields(_ pairs: [(Int, ThriftValue?)]) -> ThriftValue {
        var map: [Int16: ThriftValue] = [:]
        for (id, value) in pairs { if let value { map[Int16(id)] = value } }
        return .structure(map)
    }

    // Compact protocol type codes.
    static let typeTrue: UInt8 = 1, typeFalse: UInt8 = 2, typeByte: UInt8 = 3, typeI16: UInt8 = 4, typeI32: UInt8 = 5,
               typeI64: UInt8 = 6, typeDouble: UInt8 = 7, typeBinary: UInt8 = 8, typeList: UInt8 = 9, typeSet: UInt8 = 10,
               typeMap: UInt8 = 11, typeStruct: UInt8 = 12

    var typeCode: UInt8 {
        switch self {
        case .bool(let b): b ? Self.typeTrue : Self.typeFalse
        case .byte: Self.typeByte
        case .i16: Self.typeI16
        case .i32: Self.typeI32
        case .i64: Self.typeI64
        case .double: Self.typeDouble
        case .binary: Self.typeBinary
        case .list: Self.typeList
        case .structure: Self.typeStruct
        }
    }

    // Accessors for reading.
    subscript(_ id: Int16) -> ThriftValue? {
        if case .structure(let fields) = self { return fields[id] }
        return nil
    }
    var int: Int64? {
        switch self {
        case .byte(let v): Int64(v)
        case .i16(let v): Int64(v)
        case .i32(let v): Int64(v)
        case .i64(let v): v
        default: nil
        }
    }
    var bytes: [UInt8]? { if case .binary(let b) = self { b } else { nil } }
    var text: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    var items: [ThriftValue] { if case .list(_, let values) = self { values } else { [] } }
    var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
}

enum ThriftCompact {
    static func encode(_ value: ThriftValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, &out)
        return out
    }

    static func varint(_ value: UInt64, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    /// Writes a value's payload (for a struct: its fields and the stop byte).
    static func write(_ value: ThriftValue, _ out: inout [UInt8]) {
        switch value {
        case .bool(let b): out.append(b ? 1 : 0)  // only inside lists; struct fields carry it in the type
        case .byte(let v): out.append(UInt8(bitPattern: v))
        case .i16(let v): varint(zigzag(Int64(v)), &out)
        case .i32(let v): varint(zigzag(Int64(v)), &out)
        case .i64(let v): varint(zigzag(v), &out)
        case .double(let v): withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case .binary(let b):
            varint(UInt64(b.count), &out)
            out.append(contentsOf: b)
        case .list(let elementType, let values):
            if values.count < 15 { out.append(UInt8(values.count) << 4 | elementType) } else {
                out.append(0xF0 | elementType)
                varint(UInt64(values.count), &out)
            }
            for v in values { write(v, &out) }
        case .structure(let fields):
            var last: Int16 = 0
            for id in fields.keys.sorted() {
                guard let field = fields[id] else { continue }
                let type = field.typeCode
                let delta = Int(id) - Int(last)
                if delta > 0 && delta <= 15 { out.append(UInt8(delta) << 4 | type) } else {
                    out.append(type)
                    varint(zigzag(Int64(id)), &out)
                }
                if case .bool = field {} else { write(field, &out) }
                last = id
            }
            out.append(0)
        }
    }

    /// Reads one struct from `bytes` at `position`, advancing it.
    static func readStruct(_ bytes: [UInt8], _ position: inout Int, depth: Int = 0) throws(ParquetError) -> ThriftValue {
        guard depth < 64 else { throw .corrupt("thrift nesting too deep") }
        var fields: [Int16: ThriftValue] = [:]
        var last: Int16 = 0
        while true {
            let header = try byte(bytes, &position)
            if header == 0 { return .structure(fields) }
            let type = header & 0x0F
            let delta = header >> 4
            let id: Int16
            if delta != 0 { id = last &+ Int16(delta) } else {
                let raw = try readVarint(bytes, &position)
                id = Int16(truncatingIfNeeded: unzigzag(raw))
            }
            fields[id] = try readValue(type, bytes, &position, depth: depth)
            last = id
        }
    }

    static func readValue(_ type: UInt8, _ bytes: [UInt8], _ position: inout Int, depth: Int) throws(ParquetError) -> ThriftValue {
        switch type {
        case ThriftValue.typeTrue: return .bool(true)
        case ThriftValue.typeFalse: return .bool(false)
        case ThriftValue.typeByte: return .byte(Int8(bitPattern: try byte(bytes, &position)))
        case ThriftValue.typeI16: return .i16(Int16(truncatingIfNeeded: unzigzag(try readVarint(bytes, &position))))
        case ThriftValue.typeI32: return .i32(Int32(truncatingIfNeeded: unzigzag(try readVarint(bytes, &position))))
        case ThriftValue.typeI64: return .i64(unzigzag(try readVarint(bytes, &position)))
        case ThriftValue.typeDouble:
            guard position + 8 <= bytes.count else { throw .corrupt("truncated double") }
            var bits: UInt64 = 0
            for k in 0..<8 { bits |= UInt64(bytes[position + k]) << UInt64(8 * k) }
            position += 8
            return .double(Double(bitPattern: bits))
        case ThriftValue.typeBinary:
            let raw = try readVarint(bytes, &position)
            guard raw <= UInt64(bytes.count - position) else { throw .corrupt("binary of \(raw) bytes past the end") }
            let length = Int(raw)
            defer { position += length }
            return .binary(Array(bytes[position..<position + length]))
        case ThriftValue.typeList, ThriftValue.typeSet:
            let header = try byte(bytes, &position)
            var count = Int(header >> 4)
            if count == 15 {
                // Every element takes at least a byte: a larger count is damage (and may not fit an Int).
                let raw = try readVarint(bytes, &position)
                guard raw <= UInt64(bytes.count - position + 1) else { throw .corrupt("list of \(raw) elements past the end") }
                count = Int(raw)
            }
            let elementType = header & 0x0F
            guard count <= bytes.count - position + 1 else { throw .corrupt("list of \(count) elements past the end") }
            var values: [ThriftValue] = []
            for _ in 0..<count {
                if elementType == ThriftValue.typeTrue || elementType == ThriftValue.typeFalse {
                    values.append(.bool(try byte(bytes, &position) == 1))
                } else {
                    values.append(try readValue(elementType, bytes, &position, depth: depth + 1))
                }
            }
            return .list(elementType: elementType, values)
        case ThriftValue.typeMap:
            guard try readVarint(bytes, &position) == 0 else { throw .corrupt("thrift maps are not used by Parquet") }
            return .list(elementType: 0, [])
        case ThriftValue.typeStruct:
            return try readStruct(bytes, &position, depth: depth + 1)
        default:
            throw .corrupt("unknown thrift type \(type)")
        }
    }

    static func byte(_ bytes: [UInt8], _ position: inout Int) throws(ParquetError) -> UInt8 {
        guard position < bytes.count else { throw .corrupt("truncated thrift") }
        defer { position += 1 }
        return bytes[position]
    }

    static func readVarint(_ bytes: [UInt8], _ position: inout Int) throws(ParquetError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte(bytes, &position)
            guard shift < 64 else { throw .corrupt("varint too long") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }
}
