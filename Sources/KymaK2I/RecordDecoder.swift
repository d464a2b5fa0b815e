// Turning Kafka record values (JSON objects) into typed rows of the table's schema, with the
// reason when a record cannot be one: invalid JSON, a value of the wrong type, too large, or
// without its key.

import Foundation
import KymaCore
import KymaIngest
import KymaKafka

public enum Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidJSON(String)
    case wrongType(String)
    case oversized(Int)
    case missingKey(String)

    /// The metric label.
    public var reason: String {
        switch self {
        case .invalidJSON: "invalid_json"
        case .wrongType: "wrong_type"
        case .oversized: "oversized"
        case .missingKey: "missing_key"
        }
    }

    public var description: String {
        switch self {
        case .invalidJSON(let m): "invalid JSON: \(m)"
        case .wrongType(let m): "wrong type: \(m)"
        case .oversized(let n): "record of \(n) bytes is over the limit"
        case .missingKey(let k): "no value for the key field '\(k)'"
        }
    }
}

public struct RecordDecoder: Sendable {
    public let fields: [(name: String, type: DataType)]
    public let keyField: String?
    public let timestampField: String?
    public let maxBytes: Int

    public init(fields: [(name: String, type: DataType)], keyField: String?, timestampField: String?, maxBytes: Int) {
        self.fields = fields
        self.keyField = keyField
        self.timestampField = timestampField
        self.maxBytes = maxBytes
    }

    /// The flattened fields of a JSON object record.
    public static func flatten(_ value: [UInt8]) -> Result<[(String, ScalarValue)], Rejection> {
        do throws(JSONParseError) {
            return .success(try JSONLineParser.flatten(value[...]))
        } catch {
            return .failure(.invalidJSON("column \(error.column): \(error.reason)"))
        }
    }

    public func decode(_ value: [UInt8]) -> Result<[ScalarValue], Rejection> {
        guard value.count <= maxBytes else { return .failure(.oversized(value.count)) }
        let flat: [(String, ScalarValue)]
        switch Self.flatten(value) {
        case .success(let f): flat = f
        case .failure(let r): return .failure(r)
        }
        var byName: [String: ScalarValue] = [:]
        for (k, v) in flat { byName[k] = v }
        var row: [ScalarValue] = []
        row.reserveCapacity(fields.count)
        for field in fields {
            let raw = byName[field.name] ?? .null
            switch Self.coerce(raw, to: field.type) {
            case .some(let v): row.append(v)
            case .none: return .failure(.wrongType("'\(field.name)' should be \(field.type.rawValue), got \(raw)"))
            }
            if field.name == keyField, row.last == .null { return .failure(.missingKey(field.name)) }
        }
        return .success(row)
    }

    /// The value as `type`, nil when it cannot be (null stays null).
    static func coerce(_ value: ScalarValue, to type: DataType) -> ScalarValue? {
        switch (type, value) {
        case (_, .null): return .null
        case (.int64, .int64), (.float64, .float64), (.string, .string), (.bool, .bool), (.timestamp, .timestamp), (.binary, .binary): return value
        case (.float64, .int64(let v)): return .float64(Double(v))
        case (.int64, .float64(let v)): return v == v.rounded() && abs(v) < 9e18 ? .int64(Int64(v)) : nil
        case (.timestamp, .string): return TimeFormat.rfc3339.nanos(value).map { .timestamp($0) }
        default: return nil
        }
    }

    /// A schema inferred from sample records: every field seen, typed by `ColumnTyping`; the
    /// timestamp field as a timestamp.
    public static func infer(_ samples: [[UInt8]], timestampField: String?) -> [(name: String, type: DataType)] {
        var order: [String] = []
        var types: [String: DataType] = [:]
        for sample in samples {
            guard case .success(let flat) = flatten(sample) else { continue }
            for (k, v) in flat {
                if types[k] == nil && !order.contains(k) { order.append(k) }
                if let t = v.dataType { types[k] = ColumnTyping.merge(types[k], t) }
            }
        }
        return order.map { name in (name, name == timestampField ? .timestamp : (types[name] ?? .string)) }
    }
}
