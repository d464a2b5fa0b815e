// Turning Kafka records into typed rows of the table's schema, with the reason when a record
// cannot be one: invalid JSON, a value of the wrong type, too large, or without its key. Two
// formats: JSON object values into the table's columns, or raw (the original k2i's layout: the
// record's key, value, topic, partition, offset and timestamp as they are).

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

/// How record values become rows (`kafka.format.type`).
public enum RecordFormat: String, Sendable, Hashable {
    /// A JSON object per value, its keys matched to the table's columns.
    case json
    /// The record as it is: the original k2i's columns, values kept as bytes.
    case raw
}

/// Records decoded into the columns of a schema.
public struct DecodedRecords: Sendable {
    /// One builder per schema field, `rowCount` values each.
    public var columns: [ColumnBuilder]
    public var rowCount = 0
    /// Per input record, in order: nil when it became the next row, else why it did not.
    public var rejections: [Rejection?] = []
    /// Per row, the hash of the key field's text (`KeyIndex.hash`); empty without a key field.
    public var keyHashes: [UInt64] = []
    /// Keys (dotted paths) of valid records that no field names, with the type their values
    /// suggest; filled only when the decoder `discoversFields`.
    public var newFields: [String: DataType] = [:]
}

/// Decodes JSON object records straight into typed columns of a fixed schema: one pass over
/// each record's bytes, keys matched against the schema's field names (predicting that records
/// repeat the previous record's key order), values parsed as the field's type and appended
/// without boxing. Nested objects are flattened to dotted paths; arrays are kept as their JSON
/// text in string fields; keys the schema lacks are validated and skipped. A record becomes a
/// row only when it is valid JSON, every value has its field's type (ints widen to doubles,
/// integral doubles narrow to ints, RFC 3339 strings parse into timestamps) and the key field
/// has a value; otherwise it is a `Rejection` naming what was wrong.
public struct RecordDecoder: Sendable {
    public let fields: [(name: String, type: DataType)]
    public let keyField: String?
    public let timestampField: String?
    public let maxBytes: Int
    let keyIndex: Int?
    let names: [[UInt8]]
    /// Report keys no field names in `DecodedRecords.newFields` (schema evolution); their values
    /// are skipped either way.
    public var discoversFields = false
    public var format = RecordFormat.json

    /// The columns of a raw table, as the original k2i lays them out (there `partition` is an
    /// int; here every integer column is a long). `timestamp` is the record's Kafka timestamp in
    /// milliseconds since the epoch, null when the broker gave none.
    public static let rawFields: [(name: String, type: DataType)] = [
        ("key", .binary), ("value", .binary), ("topic", .string), ("partition", .int64), ("offset", .int64), ("timestamp", .int64),
    ]

    public init(fields: [(name: String, type: DataType)], keyField: String?, timestampField: String?, maxBytes: Int) {
        self.fields = fields
        self.keyField = keyField
        self.timestampField = timestampField
        self.maxBytes = maxBytes
        keyIndex = keyField.flatMap { key in fields.firstIndex { $0.name == key } }
        names = fields.map { Array($0.name.utf8) }
    }

    /// The type that holds values of both types: a long and a double make a double, anything
    /// else mixed a string.
    public static func wider(_ a: DataType?, _ b: DataType) -> DataType {
        guard let a, a != b else { return b }
        return Set([a, b]) == [.int64, .float64] ? .float64 : .string
    }

    /// The flattened fields of a JSON object record (for schema inference).
    public static func flatten(_ value: [UInt8]) -> Result<[(String, ScalarValue)], Rejection> {
        do throws(JSONParseError) {
            return .success(try JSONLineParser.flatten(value[...]))
        } catch {
            return .failure(.invalidJSON("column \(error.column): \(error.reason)"))
        }
    }

    /// Rows decoded before the columns are sized for the rest of a chunk.
    static let sampleRows = 16

    /// Decodes `values` (each one record's bytes) in order into fresh columns.
    public func decode<C: Collection>(_ values: C) -> DecodedRecords where C.Element: Collection<UInt8> {
        decodeJSON(count: values.count) { visit in
            for value in values {
                if value.withContiguousStorageIfAvailable(visit) == nil { Array(value).withUnsafeBufferPointer(visit) }
            }
        }
    }

    /// Decodes whole records in order, in the decoder's format. Records are read in place, not
    /// copied (a copy retains its round's buffers, an atomic the decoding threads would share).
    public func decode<C: Collection>(records: C) -> DecodedRecords where C.Element == KafkaMessage {
        switch format {
        case .json:
            decodeJSON(count: records.count) { visit in
                var at = records.startIndex
                while at != records.endIndex {
                    records[at].value.withUnsafeBufferPointer(visit)
                    records.formIndex(after: &at)
                }
            }
        case .raw: decodeRaw(records)
        }
    }

    /// The JSON decoding of `count` records that `records` hands to its visitor in order.
    private func decodeJSON(count total: Int, _ records: ((UnsafeBufferPointer<UInt8>) -> Void) -> Void) -> DecodedRecords {
        var out = DecodedRecords(columns: fields.map { ColumnBuilder($0.type) })
        out.rejections.reserveCapacity(total)
        var scanner = RecordScanner(decoder: self)
        var k = 0
        records { value in
            defer { k += 1 }
            if k == Self.sampleRows, total >= 4 * Self.sampleRows, out.rowCount > 0 {
                // Size the columns for the rest from the first rows (a quarter extra): each grows
                // once instead of doubling its way up.
                let left = total - k
                for c in out.columns.indices {
                    let perRow = out.columns[c].byteCount / out.rowCount
                    out.columns[c].reserve(rows: left, bytes: perRow * left + perRow * left / 4)
                }
            }
            if value.count > maxBytes {
                out.rejections.append(.oversized(value.count))
                return
            }
            out.rejections.append(scanner.decode(value, into: &out))
        }
        return out
    }

    /// Raw records: each column takes the record part it is named after, converted to the
    /// column's type (so a table an earlier tool created with `key` as a string still works);
    /// a column named after none of them reads null. Only size (and a missing key, when
    /// `key_field` is "key") rejects a raw record.
    func decodeRaw<C: Collection>(_ records: C) -> DecodedRecords where C.Element == KafkaMessage {
        var out = DecodedRecords(columns: fields.map { ColumnBuilder($0.type) })
        out.rejections.reserveCapacity(records.count)
        for m in records {
            if m.value.count > maxBytes {
                out.rejections.append(.oversized(m.value.count))
                continue
            }
            if let keyIndex, fields[keyIndex].name == "key", m.key == nil {
                out.rejections.append(.missingKey("key"))
                continue
            }
            for (i, field) in fields.enumerated() {
                switch field.name {
                case "key": Self.appendBytes(m.key, to: &out.columns[i])
                case "value": Self.appendBytes(m.value, to: &out.columns[i])
                case "topic": Self.appendBytes(Array(m.topic.utf8), to: &out.columns[i])
                case "partition": Self.appendNumber(Int64(m.partition), to: &out.columns[i])
                case "offset": Self.appendNumber(m.offset, to: &out.columns[i])
                case "timestamp":
                    if let millis = m.timestampMillis {
                        field.type == .timestamp ? out.columns[i].appendInt(millis * 1_000_000) : Self.appendNumber(millis, to: &out.columns[i])
                    } else {
                        out.columns[i].appendNull()
                    }
                default: out.columns[i].appendNull()
                }
            }
            // validate() allows only "key" as a raw key field: the record key, hashed as bytes
            // (the hash of its UTF-8 text, which is what `lookup` hashes).
            if keyIndex != nil { out.keyHashes.append(m.key?.withUnsafeBytes { KeyIndex.hash($0) } ?? KeyIndex.hash(UnsafeRawBufferPointer(start: nil, count: 0))) }
            out.rowCount += 1
            out.rejections.append(nil)
        }
        return out
    }

    private static func appendBytes<B: Collection<UInt8>>(_ bytes: B?, to column: inout ColumnBuilder) {
        guard let bytes, column.dataType == .binary || column.dataType == .string else { return column.appendNull() }
        if bytes.withContiguousStorageIfAvailable({ column.appendBytes($0) }) == nil { Array(bytes).withUnsafeBufferPointer { column.appendBytes($0) } }
    }

    private static func appendNumber(_ value: Int64, to column: inout ColumnBuilder) {
        switch column.dataType {
        case .int64: column.appendInt(value)
        case .float64: column.appendDouble(Double(value))
        case .string: Array(String(value).utf8).withUnsafeBufferPointer { column.appendBytes($0) }
        default: column.appendNull()
        }
    }

    /// One record as a row of values in field order, or why it cannot be one.
    public func decode(_ value: [UInt8]) -> Result<[ScalarValue], Rejection> {
        let decoded = decode(CollectionOfOne(value))
        if let rejection = decoded.rejections[0] { return .failure(rejection) }
        return .success(decoded.columns.map { $0.value(at: 0) })
    }

    /// A schema inferred from sample records: every field seen, in order of first sight, typed by
    /// what most samples hold (nulls aside), so one odd record does not retype a column for the
    /// table's life (it is rejected instead). Integers and doubles count together as numbers and
    /// make a double column when any is a double; a tie between kinds makes a string column. The
    /// timestamp field is a timestamp.
    public static func infer(_ samples: [[UInt8]], timestampField: String?) -> [(name: String, type: DataType)] {
        var order: [String] = []
        var counts: [String: [DataType: Int]] = [:]
        for sample in samples {
            guard case .success(let flat) = flatten(sample) else { continue }
            for (k, v) in flat {
                if counts[k] == nil { order.append(k) }
                counts[k, default: [:]][v.dataType ?? .string, default: 0] += v.dataType == nil ? 0 : 1
            }
        }
        return order.map { name in (name, name == timestampField ? .timestamp : majorityType(counts[name] ?? [:])) }
    }

    static func majorityType(_ counts: [DataType: Int]) -> DataType {
        var kinds = counts.filter { $0.key != .int64 && $0.key != .float64 && $0.value > 0 }
        let numbers = (counts[.int64] ?? 0) + (counts[.float64] ?? 0)
        let numberType: DataType = (counts[.float64] ?? 0) > 0 ? .float64 : .int64
        if numbers > 0 { kinds[numberType] = numbers }
        let best = kinds.values.max() ?? 0
        let winners = kinds.filter { $0.value == best }.map(\.key)
        return winners.count == 1 ? winners[0] : .string
    }
}
