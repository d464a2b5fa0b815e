// Single typed values: constants in predicates, column statistics and catalog stats.

/// One value of a `DataType`, or null.
public enum ScalarValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int64(Int64)
    case float64(Double)
    case timestamp(Int64)
    case string(String)
    case binary([UInt8])

    public var dataType: DataType? {
        switch self {
        case .null: nil
        case .bool: .bool
        case .int64: .int64
        case .float64: .float64
        case .timestamp: .timestamp
        case .string: .string
        case .binary: .binary
        }
    }
}

// MARK: - Codable

/// Encoded as `{"type": "...", "value": ...}` so JSON stats keep their type (an int64 past 2^53
/// is carried as a string, since JSON numbers lose precision there).
extension ScalarValue: Codable {
    private enum CodingKeys: String, CodingKey { case type, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "null": self = .null
        case "bool": self = .bool(try container.decode(Bool.self, forKey: .value))
        case "int64": self = .int64(try Self.decodeInt64(container))
        case "timestamp": self = .timestamp(try Self.decodeInt64(container))
        case "float64": self = .float64(try container.decode(Double.self, forKey: .value))
        case "string": self = .string(try container.decode(String.self, forKey: .value))
        case "binary": self = .binary(try container.decode([UInt8].self, forKey: .value))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container, debugDescription: "unknown scalar type '\(type)'")
        }
    }

    private static func decodeInt64(_ container: KeyedDecodingContainer<CodingKeys>) throws -> Int64 {
        if let text = try? container.decode(String.self, forKey: .value), let value = Int64(text) {
            return value
        }
        return try container.decode(Int64.self, forKey: .value)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .null: try container.encode("null", forKey: .type)
        case .bool(let v):
            try container.encode("bool", forKey: .type)
            try container.encode(v, forKey: .value)
        case .int64(let v):
            try container.encode("int64", forKey: .type)
            try container.encode(String(v), forKey: .value)
        case .timestamp(let v):
            try container.encode("timestamp", forKey: .type)
            try container.encode(String(v), forKey: .value)
        case .float64(let v):
            try container.encode("float64", forKey: .type)
            try container.encode(v, forKey: .value)
        case .string(let v):
            try container.encode("string", forKey: .type)
            try container.encode(v, forKey: .value)
        case .binary(let v):
            try container.encode("binary", forKey: .type)
            try container.encode(v, forKey: .value)
        }
    }
}
