// The hot buffer: rows consumed from Kafka and not yet committed to Iceberg, kept columnar
// (`ColumnBuilder`s in the table's schema) with a hash index on the key field, so a row is
// visible to lookups and scans as soon as it is buffered. It also tracks, per topic-partition,
// the offsets it holds (rejected records included, so a commit moves past them too).

import KymaCore
import KymaKafka
import Synchronization

/// Where a buffer's rows came from, per topic-partition: the first offset and the next one.
public struct OffsetRange: Sendable, Hashable {
    public var first: Int64
    public var next: Int64

    public init(first: Int64, next: Int64) {
        self.first = first
        self.next = next
    }
}

public final class HotBuffer: Sendable {
    struct State {
        var builders: [ColumnBuilder]
        var rows = 0
        var bytes = 0
        /// Key -> the latest row with it (values kept for O(1) lookups).
        var index: [String: [ScalarValue]] = [:]
        var oldestMillis: Int64?
        var offsets: [TopicPartition: OffsetRange] = [:]
    }

    public let fields: [(name: String, type: DataType)]
    let keyField: Int?
    private let state: Mutex<State>

    public init(fields: [(name: String, type: DataType)], keyField: String?) {
        self.fields = fields
        self.keyField = keyField.flatMap { key in fields.firstIndex { $0.name == key } }
        state = Mutex(State(builders: fields.map { ColumnBuilder($0.type) }))
    }

    public var rowCount: Int { state.withLock { $0.rows } }
    public var byteCount: Int { state.withLock { $0.bytes } }
    public var oldestMillis: Int64? { state.withLock { $0.oldestMillis } }
    public var offsets: [TopicPartition: OffsetRange] { state.withLock { $0.offsets } }

    /// Adds a row (values in field order, already typed) that came from `partition` at `offset`.
    public func append(_ values: [ScalarValue], partition: TopicPartition, offset: Int64, size: Int, nowMillis: Int64) {
        state.withLock { s in
            for (k, value) in values.enumerated() { try? s.builders[k].append(value) }
            if let keyField, case let key = Self.keyText(values[keyField]), !key.isEmpty { s.index[key] = values }
            s.rows += 1
            s.bytes += size
            if s.oldestMillis == nil { s.oldestMillis = nowMillis }
            Self.advance(&s, partition, offset)
        }
    }

    /// Records that `offset` was handled without a row (a rejected record).
    public func skip(partition: TopicPartition, offset: Int64) {
        state.withLock { Self.advance(&$0, partition, offset) }
    }

    private static func advance(_ s: inout State, _ partition: TopicPartition, _ offset: Int64) {
        if var range = s.offsets[partition] {
            range.next = max(range.next, offset + 1)
            s.offsets[partition] = range
        } else {
            s.offsets[partition] = OffsetRange(first: offset, next: offset + 1)
        }
    }

    static func keyText(_ value: ScalarValue) -> String {
        switch value {
        case .string(let s): s
        case .int64(let v): String(v)
        case .null: ""
        default: "\(value)"
        }
    }

    /// The latest buffered row with this key, by column name.
    public func lookup(_ key: String) -> [(String, ScalarValue)]? {
        state.withLock { s in
            guard let values = s.index[key] else { return nil }
            return zip(fields, values).map { ($0.name, $1) }
        }
    }

    /// Every buffered row as one batch (a copy; the buffer keeps going).
    public func snapshot() -> ColumnBatch {
        state.withLock { s in
            (try? ColumnBatch(rowCount: s.rows, columns: fields.enumerated().map { ($0.element.name, s.builders[$0.offset].finish()) })) ?? ColumnBatch(rowCount: 0)
        }
    }

    /// Takes everything (rows and offsets) and empties the buffer.
    public func drain() -> (batch: ColumnBatch, offsets: [TopicPartition: OffsetRange]) {
        state.withLock { s in
            let batch = (try? ColumnBatch(rowCount: s.rows, columns: fields.enumerated().map { ($0.element.name, s.builders[$0.offset].finish()) }))
                ?? ColumnBatch(rowCount: 0)
            let offsets = s.offsets
            s = State(builders: fields.map { ColumnBuilder($0.type) })
            return (batch, offsets)
        }
    }

    public func isEmpty() -> Bool { state.withLock { $0.rows == 0 && $0.offsets.isEmpty } }
}
