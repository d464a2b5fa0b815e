// What scanning one unit gives the node that merges: its partial aggregate state, or its rows
// after the scan's filter and the streaming operators. The stable encoding below is what a leaf
// sends a coordinator (KymaTransport carries the bytes); decoding checks every length against
// what is left, so damaged bytes are a `corruptData` error, never a crash.
//
//   output := "KUNT" version:u8(=1) kind:u8 (0 rows, 1 partial state)
//             blocksRead:u32 rowsDecoded:u64 rowsMatched:u64 nanos:u64
//             kind 1: state:u32-length-prefixed (HashAggregator.encodedState)
//             kind 0: batches:u32 batch*
//   batch  := rows:u32 columns:u16 column*        (only selected rows are sent)
//   column := name:u32-length-prefixed type:u8 hasValidity:u8 [validity words:u64 * ceil(rows/64)]
//             values (by type: 1 byte per bool; 8 bytes per int64, float64 or timestamp;
//             offsets:i32 * (rows+1) + bytes:u32-length-prefixed for string and binary;
//             dimension:u32 + f32 * rows*dimension for vectors)

import KymaCore
import KymaPlan

/// One unit's output, as a leaf sends it.
public struct UnitOutput: Sendable {
    public enum Payload: Sendable {
        case rows([ColumnBatch])
        /// `HashAggregator.encodedState()` of the unit's rows.
        case partialState([UInt8])
    }

    public var payload: Payload
    public var blocksRead: Int
    public var rowsDecoded: Int
    public var rowsMatched: Int
    public var nanos: UInt64
    /// The size of the encoding it was decoded from (0 when built in memory): what it holds
    /// while it waits to be merged.
    public private(set) var wireBytes = 0

    public init(payload: Payload, blocksRead: Int, rowsDecoded: Int, rowsMatched: Int, nanos: UInt64) {
        self.payload = payload
        self.blocksRead = blocksRead
        self.rowsDecoded = rowsDecoded
        self.rowsMatched = rowsMatched
        self.nanos = nanos
    }

    /// Rows sent (0 for a partial state).
    public var rowCount: Int {
        if case .rows(let batches) = payload { return batches.reduce(0) { $0 + ($1.selection?.count ?? $1.rowCount) } }
        return 0
    }

    static let magic: [UInt8] = Array("KUNT".utf8)
    static let version: UInt8 = 1

    public func encoded() -> [UInt8] {
        var writer = StateWriter()
        writer.bytes.append(contentsOf: Self.magic)
        writer.byte(Self.version)
        switch payload {
        case .rows: writer.byte(0)
        case .partialState: writer.byte(1)
        }
        writer.uint32(UInt32(clamping: blocksRead))
        writer.uint64(UInt64(rowsDecoded))
        writer.uint64(UInt64(rowsMatched))
        writer.uint64(nanos)
        switch payload {
        case .partialState(let state):
            writer.bytes(state)
        case .rows(let batches):
            writer.uint32(UInt32(batches.count))
            for batch in batches { BatchCoding.write(batch, into: &writer) }
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(QueryError) {
        var reader = StateReader(bytes)
        guard Array(try reader.take(4)) == Self.magic else { throw reader.corrupt("not a unit output") }
        guard try reader.byte() == Self.version else { throw reader.corrupt("unknown unit output version") }
        let kind = try reader.byte()
        blocksRead = Int(try reader.uint32())
        rowsDecoded = Int(truncatingIfNeeded: try reader.uint64())
        rowsMatched = Int(truncatingIfNeeded: try reader.uint64())
        nanos = try reader.uint64()
        switch kind {
        case 0:
            let count = try reader.count(elementBytes: 6)
            var batches: [ColumnBatch] = []
            for _ in 0..<count { batches.append(try BatchCoding.read(&reader)) }
            payload = .rows(batches)
        case 1:
            payload = .partialState(try reader.bytes())
        default:
            throw reader.corrupt("unknown unit output kind \(kind)")
        }
        guard reader.position == bytes.count else { throw reader.corrupt("trailing bytes") }
        wireBytes = bytes.count
    }
}

/// The column-wise encoding of a batch's selected rows.
enum BatchCoding {
    static func write(_ batch: ColumnBatch, into writer: inout StateWriter) {
        let rows = batch.selection?.count ?? batch.rowCount
        writer.uint32(UInt32(rows))
        writer.uint16(UInt16(batch.columns.count))
        for (name, full) in zip(batch.names, batch.columns) {
            let column = batch.selection.map { full.gathered($0) } ?? full
            writer.bytes(Array(name.utf8))
            writer.byte(tag(column.values))
            if let validity = column.validity {
                writer.byte(1)
                for word in validity.words.prefix((rows + 63) / 64) { writer.uint64(word) }
            } else {
                writer.byte(0)
            }
            switch column.values {
            case .bool(let v): writer.bytes.append(contentsOf: v.map { $0 ? 1 : 0 })
            case .int64(let v), .timestamp(let v): appendRaw(v, to: &writer)
            case .float64(let v): appendRaw(v, to: &writer)
            case .string(let offsets, let bytes), .binary(let offsets, let bytes):
                appendRaw(offsets, to: &writer)
                writer.bytes(bytes)
            case .float32Vector(let dimension, let values):
                writer.uint32(UInt32(dimension))
                appendRaw(values, to: &writer)
            }
        }
    }

    static func read(_ reader: inout StateReader) throws(QueryError) -> ColumnBatch {
        let rows = Int(try reader.uint32())
        let columnCount = Int(try reader.uint16())
        var columns: [(String, Column)] = []
        for _ in 0..<columnCount {
            let name = String(decoding: try reader.bytes(), as: UTF8.self)
            let type = try reader.byte()
            var validity: ValidityBitmap?
            if try reader.byte() == 1 {
                let wordCount = (rows + 63) / 64
                guard wordCount <= (reader.data.count - reader.position) / 8 else { throw reader.corrupt("validity past the end") }
                var words: [UInt64] = []
                words.reserveCapacity(wordCount)
                for _ in 0..<wordCount { words.append(try reader.uint64()) }
                validity = ValidityBitmap(words: words, count: rows)
            }
            let values: ColumnValues
            switch type {
            case 0: values = .bool(try reader.take(rows).map { $0 != 0 })
            case 1: values = .int64(try readRaw(Int64.self, rows, &reader))
            case 2: values = .float64(try readRaw(Double.self, rows, &reader))
            case 3: values = .timestamp(try readRaw(Int64.self, rows, &reader))
            case 4, 5:
                let offsets = try readRaw(Int32.self, rows + 1, &reader)
                let bytes = try reader.bytes()
                guard offsets.first == 0, offsets.last.map(Int.init) == bytes.count,
                      zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw reader.corrupt("string offsets out of order") }
                values = type == 4 ? .string(offsets: offsets, bytes: bytes) : .binary(offsets: offsets, bytes: bytes)
            case 6:
                let dimension = Int(try reader.uint32())
                guard dimension > 0, rows <= Int.max / dimension else { throw reader.corrupt("vector dimension \(dimension)") }
                values = .float32Vector(dimension: dimension, values: try readRaw(Float.self, rows * dimension, &reader))
            default:
                throw reader.corrupt("unknown column type \(type)")
            }
            columns.append((name, Column(values, validity: validity)))
        }
        do {
            return try ColumnBatch(rowCount: rows, columns: columns)
        } catch {
            throw reader.corrupt("batch: \(error)")
        }
    }

    static func tag(_ values: ColumnValues) -> UInt8 {
        switch values {
        case .bool: 0
        case .int64: 1
        case .float64: 2
        case .timestamp: 3
        case .string: 4
        case .binary: 5
        case .float32Vector: 6
        }
    }

    /// Little-endian machines only (x86-64 and arm64, what Kyma builds for): raw bytes are the
    /// little-endian encoding.
    static func appendRaw<T: BitwiseCopyable>(_ values: [T], to writer: inout StateWriter) {
        values.withUnsafeBytes { writer.bytes.append(contentsOf: $0) }
    }

    static func readRaw<T: BitwiseCopyable>(_: T.Type, _ count: Int, _ reader: inout StateReader) throws(QueryError) -> [T] {
        let size = MemoryLayout<T>.size
        guard count >= 0, count <= (reader.data.count - reader.position) / size else { throw reader.corrupt("values past the end") }
        let slice = try reader.take(count * size)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            slice.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source)
            }
            initialized = count
        }
    }
}
