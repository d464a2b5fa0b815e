// KymaParquet: Apache Parquet files written and read by Kyma's own code (Thrift compact footer,
// PLAIN and RLE_DICTIONARY encodings, definition levels, statistics, zstd), for Iceberg data files
// and as a peer format. pyarrow and DuckDB are the judges of what it writes.
//
// This file: the writer. One data page (v1) per column chunk, preceded by a dictionary page when
// the column's distinct values fit the dictionary limit; row groups by row count.

import KymaCompression
import KymaCore

public enum ParquetError: Error, Sendable, Hashable, CustomStringConvertible {
    case corrupt(String)
    case unsupported(String)
    case schemaMismatch(String)

    public var description: String {
        switch self {
        case .corrupt(let reason): "corrupt Parquet file: \(reason)"
        case .unsupported(let what): "unsupported Parquet feature: \(what)"
        case .schemaMismatch(let reason): "Parquet schema mismatch: \(reason)"
        }
    }
}

/// A flat Parquet column: Kyma type, nullability and the Iceberg field id (written as the
/// schema element's `field_id`).
public struct ParquetField: Sendable, Hashable {
    public var name: String
    public var type: DataType
    public var optional: Bool
    public var fieldID: Int32?

    public init(name: String, type: DataType, optional: Bool = true, fieldID: Int32? = nil) {
        self.name = name
        self.type = type
        self.optional = optional
        self.fieldID = fieldID
    }
}

public enum ParquetCodec: Int32, Sendable, Hashable {
    case uncompressed = 0
    case zstd = 6
}

public struct ParquetWriteOptions: Sendable, Hashable {
    public var codec: ParquetCodec = .zstd
    public var rowGroupRows = 1 << 20
    public var dictionary = true
    /// Past this many bytes of distinct values a column chunk falls back to PLAIN.
    public var dictionaryLimitBytes = 1 << 20

    public init() {}
}

/// Parquet's enums (parquet.thrift); numbers are on disk.
enum ParquetType: Int32 { case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7 }
enum ParquetEncoding: Int32 { case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5, rleDictionary = 8 }
enum ParquetPageType: Int32 { case data = 0, index = 1, dictionary = 2, dataV2 = 3 }

public final class ParquetWriter {
    let fields: [ParquetField]
    let options: ParquetWriteOptions
    private var columns: [[ScalarValue]]
    private var output: [UInt8] = Array("PAR1".utf8)
    private var rowGroups: [ThriftValue] = []
    private var totalRows = 0

    public init(fields: [ParquetField], options: ParquetWriteOptions = ParquetWriteOptions()) throws(ParquetError) {
        for field in fields where ![.bool, .int64, .float64, .string, .timestamp, .binary].contains(field.type) {
            throw .unsupported("column '\(field.name)' of type \(field.type.rawValue)")
        }
        guard Set(fields.map(\.name)).count == fields.count else { throw .schemaMismatch("duplicate column names") }
        self.fields = fields
        self.options = options
        columns = fields.map { _ in [] }
    }

    /// Appends rows; columns the batch lacks are null (an error for a required column).
    public func append(_ batch: ColumnBatch) throws(ParquetError) {
        for name in batch.names where !fields.contains(where: { $0.name == name }) {
            throw .schemaMismatch("column '\(name)' is not in the file's schema")
        }
        for (index, field) in fields.enumerated() {
            let column = batch.column(named: field.name)
            for row in batch.selectedRows {
                let value = column?.value(at: row) ?? .null
                if value == .null, !field.optional { throw .schemaMismatch("required column '\(field.name)' has a null") }
                if value != .null, value.dataType != field.type { throw .schemaMismatch("column '\(field.name)' is \(field.type.rawValue), got \(value)") }
                columns[index].append(value)
            }
        }
        while columns.first?.count ?? 0 >= options.rowGroupRows { try flushRowGroup(rows: options.rowGroupRows) }
    }

    public func finish() throws(ParquetError) -> [UInt8] {
        if columns.first?.isEmpty == false || rowGroups.isEmpty { try flushRowGroup(rows: columns.first?.count ?? 0) }
        var schema: [ThriftValue] = [.fields([(4, .string("schema")), (5, .i32(Int32(fields.count)))])]
        for field in fields { schema.append(Self.schemaElement(field)) }
        let metadata = ThriftValue.fields([
            (1, .i32(1)),
            (2, .list(elementType: ThriftValue.typeStruct, schema)),
            (3, .i64(Int64(totalRows))),
            (4, .list(elementType: ThriftValue.typeStruct, rowGroups)),
            (6, .string("kyma version 0.1.0")),
            // TypeDefinedOrder for every column: min/max follow the logical type's order.
            (7, .list(elementType: ThriftValue.typeStruct, fields.map { _ in .fields([(1, .fields([]))]) })),
        ])
        let footer = ThriftCompact.encode(metadata)
        output.append(contentsOf: footer)
        withUnsafeBytes(of: UInt32(footer.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: Array("PAR1".utf8))
        return output
    }

    static func physicalType(_ type: DataType) -> ParquetType {
        switch type {
        case .bool: .boolean
        case .int64, .timestamp: .int64
        case .float64: .double
        default: .byteArray
        }
    }

    static func schemaElement(_ field: ParquetField) -> ThriftValue {
        var pairs: [(Int, ThriftValue?)] = [
            (1, .i32(physicalType(field.type).rawValue)),
            (3, .i32(field.optional ? 1 : 0)),
            (4, .string(field.name)),
            (9, field.fieldID.map { .i32($0) }),
        ]
        switch field.type {
        case .string:
            pairs.append((6, .i32(0)))  // converted type UTF8
            pairs.append((10, .fields([(1, .fields([]))])))  // logical type STRING
        case .timestamp:
            pairs.append((6, .i32(10)))  // converted type TIMESTAMP_MICROS
            pairs.append((10, .fields([(8, .fields([(1, .bool(true)), (2, .fields([(2, .fields([]))]))]))])))  // TIMESTAMP(UTC, MICROS)
        default: break
        }
        return .fields(pairs)
    }

    // MARK: - Row groups and column chunks

    /// Writes the first `rows` buffered rows as a row group.
    private func flushRowGroup(rows: Int) throws(ParquetError) {
        let groupStart = output.count
        var chunks: [ThriftValue] = []
        var totalUncompressed = 0
        for (index, field) in fields.enumerated() {
            let (chunk, uncompressed) = try writeColumnChunk(field, Array(columns[index].prefix(rows)))
            chunks.append(chunk)
            totalUncompressed += uncompressed
        }
        rowGroups.append(.fields([
            (1, .list(elementType: ThriftValue.typeStruct, chunks)),
            (2, .i64(Int64(totalUncompressed))),
            (3, .i64(Int64(rows))),
            (5, .i64(Int64(groupStart))),
            (6, .i64(Int64(output.count - groupStart))),
        ]))
        totalRows += rows
        columns = columns.map { Array($0.dropFirst(rows)) }
    }

    private func writeColumnChunk(_ field: ParquetField, _ values: [ScalarValue]) throws(ParquetError) -> (ThriftValue, Int) {
        let present = values.filter { $0 != .null }
        let nullCount = values.count - present.count
        let chunkStart = output.count
        var uncompressedTotal = 0
        var encodings: [ParquetEncoding] = [.rle]
        var dictionaryOffset: Int? = nil

        // Dictionary when the distinct values fit (never for booleans).
        var dictionary: [ScalarValue] = []
        var indices: [UInt32] = []
        var useDictionary = options.dictionary && field.type != .bool
        if useDictionary {
            var positions: [ScalarValue: UInt32] = [:]
            var bytes = 0
            for value in present {
                if let position = positions[value] { indices.append(position); continue }
                let position = UInt32(dictionary.count)
                positions[value] = position
                dictionary.append(value)
                indices.append(position)
                bytes += Self.plainSize(value)
                if bytes > options.dictionaryLimitBytes { useDictionary = false; break }
            }
        }
        if useDictionary && !dictionary.isEmpty {
            dictionaryOffset = output.count
            let raw = Self.plain(dictionary)
            let header = ThriftValue.fields([(1, .i32(ParquetPageType.dictionary.rawValue)),
                                             (7, .fields([(1, .i32(Int32(dictionary.count))), (2, .i32(ParquetEncoding.plain.rawValue))]))])
            uncompressedTotal += try writePage(header, raw)
            encodings.append(.plain)
            encodings.append(.rleDictionary)
        } else {
            useDictionary = false
            encodings.append(.plain)
        }

        // Data page v1: [definition levels, length-prefixed] then the values.
        let dataOffset = output.count
        var payload: [UInt8] = []
        if field.optional {
            let levels = Hybrid.encodeBitPacked(values.map { $0 == .null ? 0 : 1 }, width: 1)
            withUnsafeBytes(of: UInt32(levels.count).littleEndian) { payload.append(contentsOf: $0) }
            payload.append(contentsOf: levels)
        }
        if useDictionary {
            let width = max(1, Hybrid.width(UInt32(max(1, dictionary.count) - 1)))
            payload.append(UInt8(width))
            payload.append(contentsOf: Hybrid.encodeBitPacked(indices, width: width))
        } else {
            payload.append(contentsOf: Self.plain(present))
        }
        let statistics = Self.statistics(field.type, present, nullCount: nullCount)
        let header = ThriftValue.fields([
            (1, .i32(ParquetPageType.data.rawValue)),
            (5, .fields([(1, .i32(Int32(values.count))), (2, .i32((useDictionary ? ParquetEncoding.rleDictionary : .plain).rawValue)),
                         (3, .i32(ParquetEncoding.rle.rawValue)), (4, .i32(ParquetEncoding.rle.rawValue)), (5, statistics)])),
        ])
        uncompressedTotal += try writePage(header, payload)
        let metadata = ThriftValue.fields([
            (1, .i32(Self.physicalType(field.type).rawValue)),
            (2, .list(elementType: ThriftValue.typeI32, encodings.map { .i32($0.rawValue) })),
            (3, .list(elementType: ThriftValue.typeBinary, [.string(field.name)])),
            (4, .i32(options.codec.rawValue)),
            (5, .i64(Int64(values.count))),
            (6, .i64(Int64(uncompressedTotal))),
            (7, .i64(Int64(output.count - chunkStart))),
            (9, .i64(Int64(dataOffset))),
            (11, dictionaryOffset.map { .i64(Int64($0)) }),
            (12, statistics),
        ])
        return (.fields([(2, .i64(Int64(chunkStart))), (3, metadata)]), uncompressedTotal)
    }

    /// Writes a page header and its (compressed) payload; returns the uncompressed size with header.
    private func writePage(_ header: ThriftValue, _ raw: [UInt8]) throws(ParquetError) -> Int {
        let stored: [UInt8]
        switch options.codec {
        case .uncompressed: stored = raw
        case .zstd:
            do { stored = try Codec.zstd.compress(raw) } catch { throw .corrupt("zstd: \(error)") }
        }
        guard case .structure(var fields) = header else { return 0 }
        fields[2] = .i32(Int32(raw.count))
        fields[3] = .i32(Int32(stored.count))
        let headerBytes = ThriftCompact.encode(.structure(fields))
        output.append(contentsOf: headerBytes)
        output.append(contentsOf: stored)
        return headerBytes.count + raw.count
    }

    // MARK: - Values

    static func plainSize(_ value: ScalarValue) -> Int {
        switch value {
        case .string(let s): 4 + s.utf8.count
        case .binary(let b): 4 + b.count
        default: 8
        }
    }

    /// PLAIN encoding: little-endian numbers (timestamps as microseconds), length-prefixed byte
    /// arrays, booleans bit-packed LSB first.
    static func plain(_ values: [ScalarValue]) -> [UInt8] {
        var out: [UInt8] = []
        var bits: [UInt32] = []
        for value in values {
            switch value {
            case .int64(let v): withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
            case .timestamp(let v): withUnsafeBytes(of: Self.micros(v).littleEndian) { out.append(contentsOf: $0) }
            case .float64(let v): withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            case .string(let s):
                withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: s.utf8)
            case .binary(let b):
                withUnsafeBytes(of: UInt32(b.count).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: b)
            case .bool(let b): bits.append(b ? 1 : 0)
            case .null: break
            }
        }
        if !bits.isEmpty { out.append(contentsOf: Hybrid.packBits(bits, width: 1)) }
        return out
    }

    /// Nanoseconds to microseconds, rounding toward negative infinity.
    static func micros(_ nanos: Int64) -> Int64 { nanos >= 0 ? nanos / 1000 : (nanos - 999) / 1000 }

    static func statistics(_ type: DataType, _ present: [ScalarValue], nullCount: Int) -> ThriftValue {
        var lo: ScalarValue? = nil, hi: ScalarValue? = nil
        for value in present {
            if case .float64(let v) = value, v.isNaN { continue }
            if lo.map({ Self.less(value, $0) }) ?? true { lo = value }
            if hi.map({ Self.less($0, value) }) ?? true { hi = value }
        }
        func encoded(_ v: ScalarValue?) -> ThriftValue? {
            guard let v else { return nil }
            switch v {
            case .string(let s): return .binary(Array(s.utf8))
            case .binary(let b): return .binary(b)
            case .bool(let b): return .binary([b ? 1 : 0])
            default:
                // PLAIN bytes of the value without a length prefix.
                return .binary(plain([v]))
            }
        }
        return .fields([(3, .i64(Int64(nullCount))), (5, encoded(hi)), (6, encoded(lo))])
    }

    static func less(_ a: ScalarValue, _ b: ScalarValue) -> Bool {
        switch (a, b) {
        case (.int64(let x), .int64(let y)), (.timestamp(let x), .timestamp(let y)): x < y
        case (.float64(let x), .float64(let y)): x < y
        case (.string(let x), .string(let y)): x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.binary(let x), .binary(let y)): x.lexicographicallyPrecedes(y)
        case (.bool(let x), .bool(let y)): !x && y
        default: false
        }
    }
}

/// The RLE / bit-packed hybrid encoding of levels and dictionary indices (Encodings.md).
enum Hybrid {
    static func width(_ maximum: UInt32) -> Int { maximum == 0 ? 0 : 32 - maximum.leadingZeroBitCount }

    /// Values packed LSB first at `width` bits each, padded to whole bytes.
    static func packBits(_ values: [UInt32], width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (values.count * width + 7) / 8)
        var bit = 0
        for value in values {
            for b in 0..<width where value >> UInt32(b) & 1 == 1 {
                out[(bit + b) >> 3] |= 1 << UInt8((bit + b) & 7)
            }
            bit += width
        }
        return out
    }

    /// One bit-packed run (groups of 8, the last padded with zeros).
    static func encodeBitPacked(_ values: [UInt32], width: Int) -> [UInt8] {
        guard !values.isEmpty else { return [] }
        let groups = (values.count + 7) / 8
        var out: [UInt8] = []
        ThriftCompact.varint(UInt64(groups << 1 | 1), &out)
        out.append(contentsOf: packBits(values + [UInt32](repeating: 0, count: groups * 8 - values.count), width: width))
        return out
    }

    /// Decodes `count` values of a hybrid stream.
    static func decode(_ bytes: ArraySlice<UInt8>, width: Int, count: Int) throws(ParquetError) -> [UInt32] {
        guard count >= 0, width >= 0, width <= 32 else { throw .corrupt("hybrid run of \(count) values at width \(width)") }
        var out: [UInt32] = []
        out.reserveCapacity(count)
        let data = Array(bytes)
        var p = 0
        while out.count < count {
            guard p < data.count else { throw .corrupt("levels or indices end after \(out.count) of \(count) values") }
            var header: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard p < data.count, shift < 64 else { throw .corrupt("bad hybrid run header") }
                let b = data[p]
                p += 1
                header |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { break }
                shift += 7
            }
            if header & 1 == 1 {
                let values = Int(header >> 1) * 8
                let byteCount = (values * width + 7) / 8
                guard values >= 0, byteCount <= data.count - p else { throw .corrupt("bit-packed run past the end") }
                var bit = 0
                for _ in 0..<values {
                    var v: UInt32 = 0
                    for b in 0..<width where data[p + ((bit + b) >> 3)] >> UInt8((bit + b) & 7) & 1 == 1 { v |= 1 << UInt32(b) }
                    bit += width
                    if out.count < count { out.append(v) }
                }
                p += byteCount
            } else {
                let run = Int(header >> 1)
                let byteCount = (width + 7) / 8
                guard byteCount <= data.count - p else { throw .corrupt("RLE run past the end") }
                var v: UInt32 = 0
                for k in 0..<byteCount { v |= UInt32(data[p + k]) << UInt32(8 * k) }
                p += byteCount
                for _ in 0..<min(run, count - out.count) { out.append(v) }
            }
        }
        return out
    }
}
