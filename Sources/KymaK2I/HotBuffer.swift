// The hot buffer: rows consumed from Kafka and not yet committed to Iceberg, kept columnar (the
// decoded chunks' columns, moved in without copying) with a hash index on the key field, so a
// row is visible to lookups and scans as soon as it is buffered. Rows being committed are
// sealed: they stay visible until the commit drops them, while new rows keep arriving in the
// active part. It also tracks, per topic-partition, the offsets each part holds (rejected
// records included, so a commit moves past them too).

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

/// The buffered rows being committed: what `HotBuffer.seal` hands to the committer.
public struct SealedRows: Sendable {
    public var batches: [ColumnBatch]
    public var rowCount: Int
    /// Per topic-partition, the offsets these rows (and the rejected records among them) span.
    public var offsets: [TopicPartition: OffsetRange]
}

public final class HotBuffer: Sendable {
    /// Rows of one decoded chunk (columns are moved in, not copied), numbered from `firstRow`
    /// in the buffer's running row count.
    struct Segment {
        var batch: ColumnBatch
        var firstRow: Int
    }

    /// Either part of the buffer: the active rows, or the sealed rows a commit is writing.
    struct Part {
        var segments: [Segment] = []
        var rows = 0
        var bytes = 0
        var oldestMillis: Int64?
        var offsets: [TopicPartition: OffsetRange] = [:]

        var isEmpty: Bool { rows == 0 && offsets.isEmpty }

        mutating func absorb(_ other: Part) {
            segments += other.segments
            rows += other.rows
            bytes += other.bytes
            oldestMillis = [oldestMillis, other.oldestMillis].compactMap { $0 }.min()
            for (tp, range) in other.offsets { HotBuffer.advance(&offsets, tp, range) }
        }
    }

    struct State {
        var fields: [(name: String, type: DataType)] = []
        var sealed = Part()
        var active = Part()
        /// The running row number of the next row appended.
        var nextRow = 0
        /// Key -> the running row number of the latest row with it.
        var index = KeyIndex()
        /// Per topic-partition, the next offset past what this buffer's commits made durable.
        var committed: [TopicPartition: Int64] = [:]
    }

    /// The columns, in the decoder's order; `extend` appends new ones (schema evolution).
    public var fields: [(name: String, type: DataType)] { state.withLock { $0.fields } }
    let keyField: Int?
    private let state: Mutex<State>

    public init(fields: [(name: String, type: DataType)], keyField: String?) {
        var initial = State()
        initial.fields = fields
        state = Mutex(initial)
        self.keyField = keyField.flatMap { key in fields.firstIndex { $0.name == key } }
    }

    /// Adds columns at the end (the table gained them); rows already buffered read them as null.
    /// False (and nothing changes) unless `wider` is the buffer's fields plus more.
    public func extend(to wider: [(name: String, type: DataType)]) -> Bool {
        state.withLock { s in
            guard wider.count >= s.fields.count, zip(s.fields, wider).allSatisfy({ $0.name == $1.name && $0.type == $1.type }) else { return false }
            let added = wider[s.fields.count...]
            func widen(_ part: inout Part) {
                for i in part.segments.indices {
                    for field in added { try? part.segments[i].batch.add(field.name, Column.nulls(field.type, count: part.segments[i].batch.rowCount)) }
                }
            }
            widen(&s.sealed)
            widen(&s.active)
            s.fields = wider
            return true
        }
    }

    /// Rows buffered (sealed and active).
    public var rowCount: Int { state.withLock { $0.sealed.rows + $0.active.rows } }
    /// Bytes of the records behind the buffered rows (sealed and active): what backpressure bounds.
    public var byteCount: Int { state.withLock { $0.sealed.bytes + $0.active.bytes } }
    public var oldestMillis: Int64? { state.withLock { [$0.sealed.oldestMillis, $0.active.oldestMillis].compactMap { $0 }.min() } }
    /// Per topic-partition, the offsets the buffer spans (sealed and active).
    public var offsets: [TopicPartition: OffsetRange] {
        state.withLock { s in
            var out = s.sealed.offsets
            for (tp, range) in s.active.offsets { Self.advance(&out, tp, range) }
            return out
        }
    }
    /// Per topic-partition, the next offset the buffer has not seen: past its rows, its rejected
    /// records and what its commits made durable.
    public var nextOffsets: [TopicPartition: Int64] {
        state.withLock { s in
            var out = s.committed
            for part in [s.sealed, s.active] {
                for (tp, range) in part.offsets { out[tp] = max(out[tp] ?? 0, range.next) }
            }
            return out
        }
    }

    /// Adds decoded records: their rows (in order) and every record's offset, rejected ones
    /// included. `records[k]` is the record behind `decoded.rejections[k]`.
    public func append(_ decoded: DecodedRecords, records: some Collection<KafkaMessage>, nowMillis: Int64) {
        // The consuming thread is the only one that appends or extends, so the fields read here
        // are still the buffer's when the batch goes in.
        let batch = decoded.rowCount == 0 ? nil
            : try? ColumnBatch(rowCount: decoded.rowCount, columns: zip(fields, decoded.columns).map { ($0.name, $1.finish()) })
        state.withLock { s in
            if let batch {
                s.active.segments.append(Segment(batch: batch, firstRow: s.nextRow))
                if keyField != nil {
                    for (row, hash) in decoded.keyHashes.enumerated() { s.index.insert(hash, row: s.nextRow + row) }
                }
                s.nextRow += decoded.rowCount
                s.active.rows += decoded.rowCount
                if s.active.oldestMillis == nil { s.active.oldestMillis = nowMillis }
            }
            // Offsets per run of records from one partition (a poll round comes in such runs).
            // Records are read in place, not copied (a copy retains its round's buffers).
            var run: (partition: TopicPartition, range: OffsetRange)?
            var at = records.startIndex
            for rejection in decoded.rejections {
                defer { at = records.index(after: at) }
                if rejection == nil { s.active.bytes += records[at].value.count + 64 }
                let offset = records[at].offset
                if let current = run, current.partition.partition == records[at].partition, current.partition.topic == records[at].topic {
                    run!.range.first = min(current.range.first, offset)
                    run!.range.next = max(current.range.next, offset + 1)
                } else {
                    if let done = run { Self.advance(&s.active.offsets, done.partition, done.range) }
                    run = (records[at].topicPartition, OffsetRange(first: offset, next: offset + 1))
                }
            }
            if let done = run { Self.advance(&s.active.offsets, done.partition, done.range) }
        }
    }

    static func advance(_ offsets: inout [TopicPartition: OffsetRange], _ partition: TopicPartition, _ range: OffsetRange) {
        if var known = offsets[partition] {
            known.first = min(known.first, range.first)
            known.next = max(known.next, range.next)
            offsets[partition] = known
        } else {
            offsets[partition] = range
        }
    }

    /// The latest buffered row with this key, by column name.
    public func lookup(_ key: String) -> [(String, ScalarValue)]? {
        guard let keyField else { return nil }
        let hash = KeyIndex.hash(key)
        return state.withLock { s in
            guard let row = s.index.row(hash) else { return nil }
            for part in [s.sealed, s.active] {
                for segment in part.segments where row >= segment.firstRow && row < segment.firstRow + segment.batch.rowCount {
                    let values = segment.batch.columns.map { $0.value(at: row - segment.firstRow) }
                    // Another key with the same hash (or a row already dropped) is a miss.
                    guard Self.keyText(values[keyField]) == key else { return nil }
                    return zip(s.fields, values).map { ($0.name, $1) }
                }
            }
            return nil
        }
    }

    /// A key value's text, as the decoder hashed it.
    static func keyText(_ value: ScalarValue) -> String? {
        switch value {
        case .string(let s): s
        case .int64(let v): String(v)
        case .float64(let v): String(v)
        case .bool(let v): String(v)
        case .binary(let b): String(decoding: b, as: UTF8.self)
        default: nil
        }
    }

    /// Every buffered row (sealed and active), as batches; the buffer keeps going.
    public func snapshot() -> [ColumnBatch] {
        state.withLock { s in (s.sealed.segments + s.active.segments).map(\.batch) }
    }

    /// Moves the active rows onto the sealed ones (which a failed commit may have left) and
    /// returns everything sealed, for a commit. Rows appended later stay active.
    public func seal() -> SealedRows {
        state.withLock { s in
            s.sealed.absorb(s.active)
            s.active = Part()
            return SealedRows(batches: s.sealed.segments.map(\.batch), rowCount: s.sealed.rows, offsets: s.sealed.offsets)
        }
    }

    /// Forgets the sealed rows once a commit made them durable.
    public func dropSealed() {
        state.withLock { s in
            for (tp, range) in s.sealed.offsets { s.committed[tp] = max(s.committed[tp] ?? 0, range.next) }
            let firstLive = s.active.segments.first?.firstRow ?? s.nextRow
            if !s.sealed.segments.isEmpty { s.index = s.index.keeping(rowsFrom: firstLive) }
            s.sealed = Part()
        }
    }

    /// Empties the buffer (sealed and active rows): another writer committed its offsets.
    public func drain() {
        state.withLock { s in
            s.sealed = Part()
            s.active = Part()
            s.index = KeyIndex()
        }
    }

    public func isEmpty() -> Bool { state.withLock { $0.sealed.isEmpty && $0.active.isEmpty } }
}
