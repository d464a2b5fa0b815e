// Partition specs and the transforms of the Iceberg spec Kyma writes: identity, year, month, day,
// hour (whole units since 1970-01-01 UTC), bucket[N] (Murmur3 x86 32-bit of the value's
// single-value serialization, as the spec says) and truncate[W] (longs down to a multiple of W,
// strings to W code points, binary to W bytes).

import Foundation
import KymaCore

public enum IcebergTransform: Sendable, Hashable, CustomStringConvertible {
    case identity, year, month, day, hour
    case bucket(Int)
    case truncate(Int)

    public var description: String {
        switch self {
        case .identity: "identity"
        case .year: "year"
        case .month: "month"
        case .day: "day"
        case .hour: "hour"
        case .bucket(let n): "bucket[\(n)]"
        case .truncate(let w): "truncate[\(w)]"
        }
    }

    public static func parse(_ text: String) -> IcebergTransform? {
        switch text {
        case "identity": return .identity
        case "year": return .year
        case "month": return .month
        case "day": return .day
        case "hour": return .hour
        default:
            for (prefix, make) in [("bucket[", IcebergTransform.bucket), ("truncate[", IcebergTransform.truncate)] where text.hasPrefix(prefix) {
                guard text.hasSuffix("]"), let n = Int(text.dropFirst(prefix.count).dropLast()), n > 0 else { return nil }
                return make(n)
            }
            return nil
        }
    }

    /// Whether the transform applies to a column of `type` (the spec's table of source types,
    /// narrowed to Kyma's types).
    public func accepts(_ type: DataType) -> Bool {
        switch self {
        case .identity: true
        case .year, .month, .day, .hour: type == .timestamp
        case .bucket: [.int64, .string, .timestamp, .binary].contains(type)
        case .truncate: [.int64, .string, .binary].contains(type)
        }
    }

    /// The partition value of `value` (nil for null), and its Avro type name.
    func apply(_ value: ScalarValue) -> ScalarValue {
        switch (self, value) {
        case (_, .null): return .null
        case (.identity, _): return value
        case (.year, .timestamp(let nanos)): return .int64(CivilDate.date(days: Self.floorDiv(nanos, 86_400_000_000_000)).year - 1970)
        case (.month, .timestamp(let nanos)):
            let date = CivilDate.date(days: Self.floorDiv(nanos, 86_400_000_000_000))
            return .int64((date.year - 1970) * 12 + date.month - 1)
        case (.day, .timestamp(let nanos)): return .int64(Self.floorDiv(nanos, 86_400_000_000_000))
        case (.hour, .timestamp(let nanos)): return .int64(Self.floorDiv(nanos, 3_600_000_000_000))
        case (.bucket(let n), _):
            let hash: UInt32
            switch value {
            case .int64(let v): hash = Murmur3.hash32(withUnsafeBytes(of: v.littleEndian) { Array($0) })
            case .timestamp(let v): hash = Murmur3.hash32(withUnsafeBytes(of: Self.floorDiv(v, 1000).littleEndian) { Array($0) })
            case .string(let s): hash = Murmur3.hash32(Array(s.utf8))
            case .binary(let b): hash = Murmur3.hash32(b)
            default: return .null
            }
            return .int64(Int64((Int32(bitPattern: hash) & Int32.max) % Int32(n)))
        case (.truncate(let w), .int64(let v)):
            let width = Int64(w)
            return .int64(v - ((v % width) + width) % width)
        case (.truncate(let w), .string(let s)): return .string(String(String.UnicodeScalarView(s.unicodeScalars.prefix(w))))
        case (.truncate(let w), .binary(let b)): return .binary(Array(b.prefix(w)))
        default: return .null
        }
    }


    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a + 1) / b - 1 }
}

public struct IcebergPartitionField: Sendable, Hashable {
    public var sourceID: Int
    public var fieldID: Int
    public var name: String
    public var transform: IcebergTransform

    public init(sourceID: Int, fieldID: Int, name: String, transform: IcebergTransform) {
        self.sourceID = sourceID
        self.fieldID = fieldID
        self.name = name
        self.transform = transform
    }

    var json: [String: Any] { ["source-id": sourceID, "field-id": fieldID, "name": name, "transform": transform.description] }

    /// The Avro type of the partition value in manifests.
    func avroType(source: IcebergField) -> String {
        switch transform {
        case .identity:
            switch source.type {
            case .int64: return "long"
            case .float64: return "double"
            case .bool: return "boolean"
            case .timestamp: return #"{"type":"long","logicalType":"timestamp-micros","adjust-to-utc":true}"#
            default: return "string"
            }
        case .truncate:
            // The result has the source's type.
            switch source.type {
            case .int64: return "long"
            case .binary: return "bytes"
            default: return "string"
            }
        default: return "int"
        }
    }

    func avroValue(_ value: ScalarValue) -> AvroValue {
        switch (transform, value) {
        case (_, .null): return .optional(nil)
        case (.identity, .int64(let v)): return .optional(.long(v))
        case (.identity, .float64(let v)): return .optional(.double(v))
        case (.identity, .bool(let v)): return .optional(.boolean(v))
        case (.identity, .timestamp(let v)): return .optional(.long(IcebergTransform.floorDiv(v, 1000)))
        case (.identity, .string(let v)), (.truncate, .string(let v)): return .optional(.string(v))
        case (.truncate, .int64(let v)): return .optional(.long(v))
        case (.truncate, .binary(let v)): return .optional(.bytes(v))
        case (_, .int64(let v)): return .optional(.int(Int32(truncatingIfNeeded: v)))
        default: return .optional(nil)
        }
    }
}

/// MurmurHash3 x86 32-bit, seed 0 (Iceberg's bucket hash).
enum Murmur3 {
    static func hash32(_ data: [UInt8]) -> UInt32 {
        let c1: UInt32 = 0xcc9e_2d51, c2: UInt32 = 0x1b87_3593
        var h: UInt32 = 0
        let blocks = data.count / 4
        for i in 0..<blocks {
            var k = UInt32(data[4 * i]) | UInt32(data[4 * i + 1]) << 8 | UInt32(data[4 * i + 2]) << 16 | UInt32(data[4 * i + 3]) << 24
            k = k &* c1
            k = (k << 15) | (k >> 17)
            k = k &* c2
            h ^= k
            h = (h << 13) | (h >> 19)
            h = h &* 5 &+ 0xe654_6b64
        }
        var k: UInt32 = 0
        let tail = blocks * 4
        switch data.count & 3 {
        case 3: k ^= UInt32(data[tail + 2]) << 16; fallthrough
        case 2: k ^= UInt32(data[tail + 1]) << 8; fallthrough
        case 1:
            k ^= UInt32(data[tail])
            k = k &* c1
            k = (k << 15) | (k >> 17)
            k = k &* c2
            h ^= k
        default: break
        }
        h ^= UInt32(data.count)
        h ^= h >> 16
        h = h &* 0x85eb_ca6b
        h ^= h >> 13
        h = h &* 0xc2b2_ae35
        h ^= h >> 16
        return h
    }
}
