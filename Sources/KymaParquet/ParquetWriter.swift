// KymaParquet: Apache Parquet files written and read by Kyma's own code (Thrift compact footer,
// PLAIN and RLE_DICTIONARY encodings, definition levels, statistics, zstd), for Iceberg data files
// and as a peer format. pyarrow and DuckDB are the judges of what it writes.
//
// This file: the writer. Batches are gathered column by column into typed buffers (no per-value
// boxing); each row group's column chunk is a dictionary page when the distinct values fit the
// dictionary limit, then data pages (v1 or v2) of `pageRows` rows with their own statistics, then
// optionally a split-block Bloom filter (the Parquet spec's SBBF with xxHash64 of the PLAIN bytes).

#if canImport(Glibc)
import Glibc
#endif
import KymaCompression
import KymaCore
import KymaIndex

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
    /// Dimension of a `float32Vector` column, stored as FIXED_LEN_BYTE_ARRAY(4 x dimension) with
    /// the dimension in the file's key-value metadata (`kyma.vector_dimension.<name>`).
    public var vectorDimension: Int?
    /// A timestamp column stored as DATE (INT32 days; the time of day is floored away).
    public var date: Bool

    public init(name: String, type: DataType, optional: Bool = true, fieldID: Int32? = nil, vectorDimension: Int? = nil, date: Bool = false) {
        self.name = name
        self.type = type
        self.optional = optional
        self.fieldID = fieldID
        self.vectorDimension = vectorDimension
        self.date = date && type == .timestamp
    }
}

/// The page codecs this writer produces (raw values are Parquet's `CompressionCodec`). LZ4 is
/// LZ4_RAW (7), the block format; the deprecated Hadoop-framed LZ4 (5) is read, never written.
public enum ParquetCodec: Int32, Sendable, Hashable, CaseIterable {
    case uncompressed = 0
    case snappy = 1
    case gzip = 2
    case zstd = 6
    case lz4Raw = 7

    /// Parquet's and pyarrow's names: none, snappy, gzip, zstd, lz4.
    public init?(name: String) {
        switch name.lowercased() {
        case "none", "uncompressed": self = .uncompressed
        case "snappy": self = .snappy
        case "gzip": self = .gzip
        case "zstd": self = .zstd
        case "lz4", "lz4_raw": self = .lz4Raw
        default: return nil
        }
    }

    /// Compresses one page body.
    func compress(_ raw: [UInt8], zstdLevel: Int) throws(CompressionError) -> [UInt8] {
        switch self {
        case .uncompressed: raw
        case .snappy: Snappy.compress(raw)
        case .gzip: try Deflate.gzip(raw)
        case .zstd: try Codec.zstd.compress(raw, level: zstdLevel)
        case .lz4Raw: try Codec.lz4.compress(raw, level: 1)
        }
    }
}

public struct ParquetWriteOptions: Sendable, Hashable {
    public var codec: ParquetCodec = .zstd
    public var zstdLevel = 3
    public var rowGroupRows = 1 << 20
    /// Rows per data page (each page carries its own statistics).
    public var pageRows = 65_536
    /// 1: DATA_PAGE (levels and values compressed together); 2: DATA_PAGE_V2 (levels uncompressed).
    public var dataPageVersion = 1
    public var dictionary = true
    /// Past this many bytes of distinct values a column chunk falls back to PLAIN.
    public var dictionaryLimitBytes = 1 << 20
    /// Columns that get a split-block Bloom filter per row group.
    public var bloomFilterColumns: Set<String> = []
    public var bloomFilterFPP = 0.01
    public var keyValueMetadata: [String: String] = [:]
    /// Adds `kyma.footer_crc`: the CRC-32 of the footer bytes with that value's eight hex digits
    /// read as "00000000", so damage anywhere in the footer is detected (Parquet has no footer
    /// checksum of its own). Pages always carry the spec's CRC-32.
    public var footerChecksum = false
    /// Timestamps as TIMESTAMP(UTC, MICROS) (Iceberg's unit; nanoseconds are floored) or NANOS.
    public var timestampNanos = false

    public init() {}
}

/// Parquet's enums (parquet.thrift); numbers are on disk.
enum ParquetType: Int32 { case boolean = 0, int32 = 1, int64 = 2, int96 = 3, float = 4, double = 5, byteArray = 6, fixedLenByteArray = 7 }
enum ParquetEncoding: Int32 { case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5, rleDictionary = 8 }
enum ParquetPageType: Int32 { case data = 0, index = 1, dictionary = 2, dataV2 = 3 }

/// One column's buffered rows: validity per row and the present values, typed.
struct ColumnBuffer {
    var valid: [UInt8] = []
    var ints: [Int64] = []        // int64; timestamps as microseconds
    var doubles: [Double] = []
    var bools: [Bool] = []
    var offsets: [Int] = [0]      // string, binary, vector bytes
    var bytes: [UInt8] = []

    var rows: Int { valid.count }
    var presentCount: Int {
        if !ints.isEmpty { return ints.count }
        if !doubles.isEmpty { return doubles.count }
        if !bools.isEmpty { return bools.count }
        return offsets.count - 1
    }

    mutating func removeAll() { self = ColumnBuffer() }
}

public final class ParquetWriter {
    let fields: [ParquetField]
    let options: ParquetWriteOptions
    private var buffers: [ColumnBuffer]
    private var output: [UInt8] = Array("PAR1".utf8)
    private var rowGroups: [ThriftValue] = []
    /// "rowgroup.column=crc" of each Bloom filter written, for `kyma.bloom_crc` (the spec's
    /// Bloom filter header has no checksum, and a flipped bit there would drop a matching row group).
    private var bloomChecksums: [String] = []
    private var totalRows = 0

    public init(fields: [ParquetField], options: ParquetWriteOptions = ParquetWriteOptions()) throws(ParquetError) {
        for field in fields where ![.bool, .int64, .float64, .string, .timestamp, .binary, .float32Vector].contains(field.type) {
            throw .unsupported("column '\(field.name)' of type \(field.type.rawValue)")
        }
        for field in fields where field.type == .float32Vector && (field.vectorDimension ?? 0) <= 0 {
            throw .schemaMismatch("vector column '\(field.name)' needs a positive dimension")
        }
        guard Set(fields.map(\.name)).count == fields.count else { throw .schemaMismatch("duplicate column names") }
        guard options.rowGroupRows > 0, options.pageRows > 0, [1, 2].contains(options.dataPageVersion) else {
            throw .unsupported("row group rows and page rows must be positive, the data page version 1 or 2")
        }
        guard options.bloomFilterFPP > 0, options.bloomFilterFPP < 1 else { throw .unsupported("Bloom filter false-positive rate must be in (0, 1)") }
        self.fields = fields
        self.options = options
        buffers = fields.map { _ in ColumnBuffer() }
    }

    /// Appends the selected rows; columns the batch lacks are null (an error for a required column).
    public func append(_ batch: ColumnBatch) throws(ParquetError) {
        for name in batch.names where !fields.contains(where: { $0.name == name }) {
            throw .schemaMismatch("column '\(name)' is not in the file's schema")
        }
        let columns = fields.map { batch.column(named: $0.name) }
        for (index, field) in fields.enumerated() {
            guard let column = columns[index] else {
                if !field.optional, !batch.selectedRows.isEmpty { throw .schemaMismatch("required column '\(field.name)' has a null") }
                continue
            }
            guard column.dataType == field.type else { throw .schemaMismatch("column '\(field.name)' is \(field.type.rawValue), got \(column.dataType.rawValue)") }
            if case .float32Vector(let dimension, _) = column.values, dimension != field.vectorDimension {
                throw .schemaMismatch("vector column '\(field.name)' has dimension \(dimension), the file \(field.vectorDimension ?? 0)")
            }
            if !field.optional, column.nullCount > 0, batch.selectedRows.contains(where: { column.isNull($0) }) {
                throw .schemaMismatch("required column '\(field.name)' has a null")
            }
        }
        let rows = batch.selection.map { $0.map(Int.init) }
        var start = 0
        let total = rows?.count ?? batch.rowCount
        while start < total {
            let take = min(total - start, options.rowGroupRows - (buffers.first?.rows ?? 0))
            for index in fields.indices {
                let divisor: Int64 = fields[index].date ? 86_400_000_000_000 : (options.timestampNanos ? 1 : 1000)
                Self.gather(columns[index], rows: rows, range: start..<start + take, timeDivisor: divisor, into: &buffers[index])
            }
            start += take
            if buffers.first?.rows ?? 0 >= options.rowGroupRows { try flushRowGroup() }
        }
    }

    /// Appends several batches, sizing the column buffers for all of them first (one
    /// allocation per column instead of a doubling series of copies and fresh pages).
    public func append(contentsOf batches: [ColumnBatch]) throws(ParquetError) {
        let rows = batches.reduce(0) { $0 + ($1.selection?.count ?? $1.rowCount) }
        let share = rows > options.rowGroupRows ? Double(options.rowGroupRows) / Double(rows) : 1
        for (index, field) in fields.enumerated() {
            let expected = Int(Double(rows) * share)
            buffers[index].valid.reserveCapacity(buffers[index].valid.count + expected)
            switch field.type {
            case .int64, .timestamp: buffers[index].ints.reserveCapacity(buffers[index].ints.count + expected)
            case .float64: buffers[index].doubles.reserveCapacity(buffers[index].doubles.count + expected)
            case .bool: buffers[index].bools.reserveCapacity(buffers[index].bools.count + expected)
            default:
                var bytes = 0
                for batch in batches {
                    guard let column = batch.column(named: field.name) else { continue }
                    switch column.values {
                    case .string(let offsets, _), .binary(let offsets, _):
                        if let selection = batch.selection {
                            for row in selection { bytes += Int(offsets[Int(row) + 1] - offsets[Int(row)]) }
                        } else {
                            bytes += Int(offsets[batch.rowCount] - offsets[0])
                        }
                    default: break
                    }
                }
                buffers[index].offsets.reserveCapacity(buffers[index].offsets.count + expected)
                buffers[index].bytes.reserveCapacity(buffers[index].bytes.count + Int(Double(bytes) * share))
            }
        }
        for batch in batches { try append(batch) }
    }

    /// Copies rows `range` (positions in `rows`, or row numbers when nil) of `column` into `buffer`.
    static func gather(_ column: Column?, rows: [Int]?, range: Range<Int>, timeDivisor: Int64, into buffer: inout ColumnBuffer) {
        guard let column else {
            buffer.valid.append(contentsOf: repeatElement(0, count: range.count))
            return
        }
        let hasNulls = column.nullCount > 0
        @inline(__always) func row(_ i: Int) -> Int { rows?[i] ?? i }
        buffer.valid.reserveCapacity(buffer.valid.count + range.count)
        switch column.values {
        case .int64(let v):
            for i in range { let r = row(i); if hasNulls && column.isNull(r) { buffer.valid.append(0) } else { buffer.valid.append(1); buffer.ints.append(v[r]) } }
        case .timestamp(let v):
            for i in range { let r = row(i); if hasNulls && column.isNull(r) { buffer.valid.append(0) } else { buffer.valid.append(1); buffer.ints.append(floorDivide(v[r], timeDivisor)) } }
        case .float64(let v):
            for i in range { let r = row(i); if hasNulls && column.isNull(r) { buffer.valid.append(0) } else { buffer.valid.append(1); buffer.doubles.append(v[r]) } }
        case .bool(let v):
            for i in range { let r = row(i); if hasNulls && column.isNull(r) { buffer.valid.append(0) } else { buffer.valid.append(1); buffer.bools.append(v[r]) } }
        case .string(let offsets, let bytes), .binary(let offsets, let bytes):
            if rows == nil, !hasNulls, !range.isEmpty {
                // Whole rows in order, no nulls: one copy of the bytes, offsets rebased.
                let first = Int(offsets[range.lowerBound]), last = Int(offsets[range.upperBound])
                let shift = buffer.bytes.count - first
                buffer.bytes.append(contentsOf: bytes[first..<last])
                buffer.offsets.reserveCapacity(buffer.offsets.count + range.count)
                for r in range { buffer.offsets.append(Int(offsets[r + 1]) + shift) }
                buffer.valid.append(contentsOf: repeatElement(1, count: range.count))
                return
            }
            bytes.withUnsafeBufferPointer { source in
                for i in range {
                    let r = row(i)
                    if hasNulls && column.isNull(r) { buffer.valid.append(0); continue }
                    buffer.valid.append(1)
                    buffer.bytes.append(contentsOf: source[Int(offsets[r])..<Int(offsets[r + 1])])
                    buffer.offsets.append(buffer.bytes.count)
                }
            }
        case .float32Vector(let dimension, let values):
            for i in range {
                let r = row(i)
                if hasNulls && column.isNull(r) { buffer.valid.append(0); continue }
                buffer.valid.append(1)
                values[r * dimension..<(r + 1) * dimension].withUnsafeBytes { buffer.bytes.append(contentsOf: $0) }
                buffer.offsets.append(buffer.bytes.count)
            }
        }
    }

    public func finish() throws(ParquetError) -> [UInt8] {
        if (buffers.first?.rows ?? 0) > 0 || rowGroups.isEmpty { try flushRowGroup() }
        var schema: [ThriftValue] = [.fields([(4, .string("schema")), (5, .i32(Int32(fields.count)))])]
        for field in fields { schema.append(Self.schemaElement(field, nanos: options.timestampNanos)) }
        var keyValues = options.keyValueMetadata
        for field in fields where field.type == .float32Vector { keyValues["kyma.vector_dimension.\(field.name)"] = String(field.vectorDimension ?? 0) }
        if options.footerChecksum { keyValues[ParquetFile.footerChecksumKey] = ParquetFile.footerChecksumPlaceholder }
        if options.footerChecksum, !bloomChecksums.isEmpty { keyValues[ParquetFile.bloomChecksumKey] = bloomChecksums.joined(separator: " ") }
        let metadata = ThriftValue.fields([
            (1, .i32(1)),
            (2, .list(elementType: ThriftValue.typeStruct, schema)),
            (3, .i64(Int64(totalRows))),
            (4, .list(elementType: ThriftValue.typeStruct, rowGroups)),
            (5, keyValues.isEmpty ? nil : .list(elementType: ThriftValue.typeStruct, keyValues.sorted { $0.key < $1.key }.map { .fields([(1, .string($0.key)), (2, .string($0.value))]) })),
            (6, .string("kyma version 0.1.0")),
            // TypeDefinedOrder for every column: min/max follow the logical type's order.
            (7, .list(elementType: ThriftValue.typeStruct, fields.map { _ in .fields([(1, .fields([]))]) })),
        ])
        var footer = ThriftCompact.encode(metadata)
        if options.footerChecksum, let at = ParquetFile.footerChecksumValueOffset(footer) {
            let hex = Array(String(CRC32.checksum(footer), radix: 16).utf8)
            let digits = [UInt8](repeating: UInt8(ascii: "0"), count: 8 - hex.count) + hex
            footer.replaceSubrange(at..<at + 8, with: digits)
        }
        output.append(contentsOf: footer)
        withUnsafeBytes(of: UInt32(footer.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(contentsOf: Array("PAR1".utf8))
        return output
    }

    static func physicalType(_ field: ParquetField) -> ParquetType { field.date ? .int32 : physicalType(field.type) }

    static func physicalType(_ type: DataType) -> ParquetType {
        switch type {
        case .bool: .boolean
        case .int64, .timestamp: .int64
        case .float64: .double
        case .float32Vector: .fixedLenByteArray
        default: .byteArray
        }
    }

    static func schemaElement(_ field: ParquetField, nanos: Bool) -> ThriftValue {
        var pairs: [(Int, ThriftValue?)] = [
            (1, .i32(physicalType(field).rawValue)),
            (2, field.type == .float32Vector ? .i32(Int32(4 * (field.vectorDimension ?? 0))) : nil),
            (3, .i32(field.optional ? 1 : 0)),
            (4, .string(field.name)),
            (9, field.fieldID.map { .i32($0) }),
        ]
        switch field.type {
        case .string:
            pairs.append((6, .i32(0)))  // converted type UTF8
            pairs.append((10, .fields([(1, .fields([]))])))  // logical type STRING
        case .timestamp where field.date:
            pairs.append((6, .i32(6)))  // converted type DATE
            pairs.append((10, .fields([(6, .fields([]))])))  // logical type DATE
        case .timestamp where nanos:
            pairs.append((10, .fields([(8, .fields([(1, .bool(true)), (2, .fields([(3, .fields([]))]))]))])))  // TIMESTAMP(UTC, NANOS)
        case .timestamp:
            pairs.append((6, .i32(10)))  // converted type TIMESTAMP_MICROS
            pairs.append((10, .fields([(8, .fields([(1, .bool(true)), (2, .fields([(2, .fields([]))]))]))])))  // TIMESTAMP(UTC, MICROS)
        default: break
        }
        return .fields(pairs)
    }

    // MARK: - Row groups and column chunks

    /// Writes the buffered rows as a row group.
    private func flushRowGroup() throws(ParquetError) {
        let rows = buffers.first?.rows ?? 0
        // Room for the row group uncompressed (an upper bound; pages the codec shrinks leave the
        // rest untouched, so never resident).
        output.reserveCapacity(output.count + buffers.reduce(4096) { $0 + $1.rows + 8 * $1.presentCount + $1.bytes.count + 4 * ($1.offsets.count - 1) })
        let groupStart = output.count
        var chunks: [ThriftValue] = []
        var totalUncompressed = 0
        for (index, field) in fields.enumerated() {
            let (chunk, uncompressed) = try writeColumnChunk(field, buffers[index], column: index)
            chunks.append(chunk)
            totalUncompressed += uncompressed
            buffers[index].removeAll()
        }
        rowGroups.append(.fields([
            (1, .list(elementType: ThriftValue.typeStruct, chunks)),
            (2, .i64(Int64(totalUncompressed))),
            (3, .i64(Int64(rows))),
            (5, .i64(Int64(groupStart))),
            (6, .i64(Int64(output.count - groupStart))),
        ]))
        totalRows += rows
    }

    private func writeColumnChunk(_ field: ParquetField, _ buffer: ColumnBuffer, column: Int) throws(ParquetError) -> (ThriftValue, Int) {
        let rows = buffer.rows
        let present = buffer.presentCount
        let chunkStart = output.count
        var uncompressedTotal = 0
        var encodings: [ParquetEncoding] = [.rle]
        var dictionaryOffset: Int? = nil
        let values = ChunkValues(buffer: buffer, type: field.type, int32: field.date)

        // Dictionary when the distinct values fit (never for booleans or vectors).
        var dictionary: ChunkDictionary? = nil
        if options.dictionary, field.type != .bool, field.type != .float32Vector, present > 0 {
            dictionary = ChunkDictionary(values, limitBytes: options.dictionaryLimitBytes)
        }
        if let dictionary {
            dictionaryOffset = output.count
            let raw = values.plain(indices: dictionary.entries)
            let header = ThriftValue.fields([(1, .i32(ParquetPageType.dictionary.rawValue)),
                                             (7, .fields([(1, .i32(Int32(dictionary.entries.count))), (2, .i32(ParquetEncoding.plain.rawValue))]))])
            uncompressedTotal += try writePage(header, levels: [], raw)
            encodings.append(.plain)
            encodings.append(.rleDictionary)
        } else {
            encodings.append(.plain)
        }

        // Data pages of `pageRows` rows.
        let dataOffset = output.count
        var rowStart = 0, valueStart = 0
        var onlyPageStatistics: ThriftValue? = nil
        repeat {
            let rowEnd = min(rows, rowStart + options.pageRows)
            var valueEnd = valueStart
            for r in rowStart..<rowEnd where buffer.valid[r] == 1 { valueEnd += 1 }
            let pageRows = rowEnd - rowStart, pageValues = valueEnd - valueStart
            var levels: [UInt8] = []
            if field.optional { levels = Hybrid.encodeLevels(buffer.valid[rowStart..<rowEnd]) }
            var payload: [UInt8] = []
            let encoding: ParquetEncoding
            if let dictionary {
                let width = max(1, Hybrid.width(UInt32(max(1, dictionary.entries.count) - 1)))
                payload.append(UInt8(width))
                payload.append(contentsOf: Hybrid.encodeBitPacked(dictionary.indices[valueStart..<valueEnd], width: width))
                encoding = .rleDictionary
            } else {
                payload = values.plain(range: valueStart..<valueEnd)
                encoding = .plain
            }
            let statistics = values.statistics(valueStart..<valueEnd, nullCount: pageRows - pageValues)
            if rowStart == 0, rowEnd == rows { onlyPageStatistics = statistics }
            let header: ThriftValue
            if options.dataPageVersion == 2 {
                header = .fields([
                    (1, .i32(ParquetPageType.dataV2.rawValue)),
                    (8, .fields([(1, .i32(Int32(pageRows))), (2, .i32(Int32(pageRows - pageValues))), (3, .i32(Int32(pageRows))),
                                 (4, .i32(encoding.rawValue)), (5, .i32(Int32(levels.count))), (6, .i32(0)),
                                 (7, .bool(options.codec != .uncompressed)), (8, statistics)])),
                ])
                uncompressedTotal += try writePage(header, levels: levels, payload)
            } else {
                var raw: [UInt8] = []
                if field.optional {
                    withUnsafeBytes(of: UInt32(levels.count).littleEndian) { raw.append(contentsOf: $0) }
                    raw.append(contentsOf: levels)
                }
                raw.append(contentsOf: payload)
                header = .fields([
                    (1, .i32(ParquetPageType.data.rawValue)),
                    (5, .fields([(1, .i32(Int32(pageRows))), (2, .i32(encoding.rawValue)),
                                 (3, .i32(ParquetEncoding.rle.rawValue)), (4, .i32(ParquetEncoding.rle.rawValue)), (5, statistics)])),
                ])
                uncompressedTotal += try writePage(header, levels: [], raw)
            }
            rowStart = rowEnd
            valueStart = valueEnd
        } while rowStart < rows
        let chunkBytes = output.count - chunkStart

        // The Bloom filter after the chunk's pages (not counted in the chunk's size).
        var bloom: (offset: Int, length: Int)? = nil
        if options.bloomFilterColumns.contains(field.name), field.type != .bool, field.type != .float32Vector {
            let distinct = dictionary?.entries.count ?? present
            var filter = SplitBlockBloomFilter(byteCount: SplitBlockBloomFilter.optimalByteCount(distinctValues: max(1, distinct), falsePositiveRate: options.bloomFilterFPP))
            for i in 0..<present { filter.insert(hash: values.bloomHash(i)) }
            let header = ThriftCompact.encode(.fields([(1, .i32(Int32(filter.byteCount))), (2, .fields([(1, .fields([]))])),
                                                       (3, .fields([(1, .fields([]))])), (4, .fields([(1, .fields([]))]))]))
            bloom = (output.count, header.count + filter.byteCount)
            output.append(contentsOf: header)
            for word in filter.words { withUnsafeBytes(of: word.littleEndian) { output.append(contentsOf: $0) } }
            if options.footerChecksum {
                let crc = CRC32.checksum(Array(output[(output.count - bloom!.length)...]))
                bloomChecksums.append("\(rowGroups.count).\(column)=\(String(crc, radix: 16))")
            }
        }
        let metadata = ThriftValue.fields([
            (1, .i32(Self.physicalType(field).rawValue)),
            (2, .list(elementType: ThriftValue.typeI32, encodings.map { .i32($0.rawValue) })),
            (3, .list(elementType: ThriftValue.typeBinary, [.string(field.name)])),
            (4, .i32(options.codec.rawValue)),
            (5, .i64(Int64(rows))),
            (6, .i64(Int64(uncompressedTotal))),
            (7, .i64(Int64(chunkBytes))),
            (9, .i64(Int64(dataOffset))),
            (11, dictionaryOffset.map { .i64(Int64($0)) }),
            (12, onlyPageStatistics ?? values.statistics(0..<present, nullCount: rows - present)),
            (14, bloom.map { .i64(Int64($0.offset)) }),
            (15, bloom.map { .i32(Int32($0.length)) }),
        ])
        return (.fields([(2, .i64(Int64(chunkStart))), (3, metadata)]), uncompressedTotal)
    }

    /// Writes a page header, `levels` as they are (v2) and `raw` compressed; returns the
    /// uncompressed size with the header.
    private func writePage(_ header: ThriftValue, levels: [UInt8], _ raw: [UInt8]) throws(ParquetError) -> Int {
        let stored: [UInt8]
        do { stored = try options.codec.compress(raw, zstdLevel: options.zstdLevel) } catch { throw .corrupt("\(options.codec): \(error)") }
        guard case .structure(var fields) = header else { return 0 }
        fields[2] = .i32(Int32(levels.count + raw.count))
        fields[3] = .i32(Int32(levels.count + stored.count))
        fields[4] = .i32(Int32(bitPattern: CRC32.checksum(stored, seed: CRC32.checksum(levels))))
        let headerBytes = ThriftCompact.encode(.structure(fields))
        output.append(contentsOf: headerBytes)
        output.append(contentsOf: levels)
        output.append(contentsOf: stored)
        return headerBytes.count + levels.count + raw.count
    }

    /// Nanoseconds to microseconds, rounding toward negative infinity.
    static func micros(_ nanos: Int64) -> Int64 { floorDivide(nanos, 1000) }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        if b == 1 { return a }
        return a >= 0 ? a / b : (a - (b - 1)) / b
    }
}

/// A column chunk's present values with the operations the writer needs: PLAIN bytes of a
/// range or of chosen values, statistics, Bloom hashes.
struct ChunkValues {
    let buffer: ColumnBuffer
    let type: DataType
    /// Integers stored as INT32 (DATE columns).
    let int32: Bool

    init(buffer: ColumnBuffer, type: DataType, int32: Bool = false) {
        self.buffer = buffer
        self.type = type
        self.int32 = int32
    }

    var isBytes: Bool { type == .string || type == .binary || type == .float32Vector }
    var lengthPrefixed: Bool { type == .string || type == .binary }

    func bytes(_ i: Int) -> ArraySlice<UInt8> { buffer.bytes[buffer.offsets[i]..<buffer.offsets[i + 1]] }

    func sameBytes(_ x: Int, _ y: Int) -> Bool {
        let xl = buffer.offsets[x + 1] - buffer.offsets[x]
        guard xl == buffer.offsets[y + 1] - buffer.offsets[y] else { return false }
        return buffer.bytes.withUnsafeBufferPointer { Self.compare($0.baseAddress, buffer.offsets[x], buffer.offsets[y], xl) == 0 }
    }

    /// memcmp of `count` bytes at two offsets of one buffer (0 when there is nothing to compare).
    static func compare(_ base: UnsafePointer<UInt8>?, _ x: Int, _ y: Int, _ count: Int) -> Int32 {
        guard count > 0, let base else { return 0 }
        return memcmp(base + x, base + y, count)
    }

    func plain(range: Range<Int>) -> [UInt8] {
        switch type {
        case .int64, .timestamp:
            if int32 { return buffer.ints[range].map { Int32(truncatingIfNeeded: $0).littleEndian }.withUnsafeBytes { Array($0) } }
            return buffer.ints[range].withUnsafeBytes { Array($0) }
        case .float64: return buffer.doubles[range].withUnsafeBytes { Array($0) }
        case .bool: return Hybrid.packBools(buffer.bools[range])
        default:
            let from = buffer.offsets[range.lowerBound], to = buffer.offsets[range.upperBound]
            if !lengthPrefixed { return Array(buffer.bytes[from..<to]) }
            // Length-prefixed values written straight into the output buffer.
            let size = to - from + 4 * range.count
            return [UInt8](unsafeUninitializedCapacity: size) { typedOut, initialized in
                let out = UnsafeMutableRawBufferPointer(typedOut)
                buffer.bytes.withUnsafeBytes { source in
                    var p = 0
                    for i in range {
                        let a = buffer.offsets[i], n = buffer.offsets[i + 1] - a
                        let length = UInt32(n).littleEndian
                        withUnsafeBytes(of: length) { UnsafeMutableRawBufferPointer(rebasing: out[p..<p + 4]).copyMemory(from: $0) }
                        p += 4
                        if n > 0 { UnsafeMutableRawBufferPointer(rebasing: out[p..<p + n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: source[a..<(a + n)])) }
                        p += n
                    }
                }
                initialized = size
            }
        }
    }

    func plain(indices: [Int]) -> [UInt8] {
        switch type {
        case .int64, .timestamp:
            if int32 { return indices.map { Int32(truncatingIfNeeded: buffer.ints[$0]).littleEndian }.withUnsafeBytes { Array($0) } }
            return indices.map { buffer.ints[$0] }.withUnsafeBytes { Array($0) }
        case .float64: return indices.map { buffer.doubles[$0] }.withUnsafeBytes { Array($0) }
        default:
            var out: [UInt8] = []
            for i in indices {
                if lengthPrefixed { withUnsafeBytes(of: UInt32(buffer.offsets[i + 1] - buffer.offsets[i]).littleEndian) { out.append(contentsOf: $0) } }
                out.append(contentsOf: bytes(i))
            }
            return out
        }
    }

    /// xxHash64 of the value's PLAIN bytes (without a length prefix), as the Parquet spec says.
    func bloomHash(_ i: Int) -> UInt64 {
        switch type {
        case .int64, .timestamp:
            if int32 { return withUnsafeBytes(of: Int32(truncatingIfNeeded: buffer.ints[i]).littleEndian) { XXHash64.hash($0) } }
            return withUnsafeBytes(of: buffer.ints[i].littleEndian) { XXHash64.hash($0) }
        case .float64: return withUnsafeBytes(of: buffer.doubles[i].bitPattern.littleEndian) { XXHash64.hash($0) }
        default: return bytes(i).withUnsafeBytes { XXHash64.hash($0) }
        }
    }

    /// Statistics of present values `range`: null count, min and max (PLAIN bytes without length).
    func statistics(_ range: Range<Int>, nullCount: Int) -> ThriftValue {
        var lo: [UInt8]? = nil, hi: [UInt8]? = nil
        var exact = (min: true, max: true)
        if !range.isEmpty {
            switch type {
            case .int64, .timestamp:
                var a = buffer.ints[range.lowerBound], b = a
                for v in buffer.ints[range] { a = min(a, v); b = max(b, v) }
                lo = int32 ? withUnsafeBytes(of: Int32(truncatingIfNeeded: a).littleEndian) { Array($0) } : withUnsafeBytes(of: a.littleEndian) { Array($0) }
                hi = int32 ? withUnsafeBytes(of: Int32(truncatingIfNeeded: b).littleEndian) { Array($0) } : withUnsafeBytes(of: b.littleEndian) { Array($0) }
            case .float64:
                var a = Double.nan, b = Double.nan
                for v in buffer.doubles[range] where !v.isNaN {
                    if a.isNaN || v < a { a = v }
                    if b.isNaN || v > b { b = v }
                }
                if !a.isNaN {
                    lo = withUnsafeBytes(of: a.bitPattern.littleEndian) { Array($0) }
                    hi = withUnsafeBytes(of: b.bitPattern.littleEndian) { Array($0) }
                }
            case .bool:
                lo = [buffer.bools[range].contains(false) ? 0 : 1]
                hi = [buffer.bools[range].contains(true) ? 1 : 0]
            case .float32Vector:
                break
            default:
                var a = range.lowerBound, b = a
                buffer.bytes.withUnsafeBufferPointer { data in
                    buffer.offsets.withUnsafeBufferPointer { offsets in
                        let base = data.baseAddress
                        /// memcmp order, shorter first on a common prefix (unsigned bytes).
                        func less(_ x: Int, _ y: Int) -> Bool {
                            let xl = offsets[x + 1] - offsets[x], yl = offsets[y + 1] - offsets[y]
                            let c = ChunkValues.compare(base, offsets[x], offsets[y], min(xl, yl))
                            return c < 0 || (c == 0 && xl < yl)
                        }
                        for i in range {
                            if less(i, a) { a = i }
                            if less(b, i) { b = i }
                        }
                    }
                }
                // Long values are kept as bounds (a prefix; a prefix incremented), flagged inexact.
                func scalar(_ i: Int) -> ScalarValue {
                    type == .string ? .string(String(decoding: bytes(i), as: UTF8.self)) : .binary(Array(bytes(i)))
                }
                func raw(_ value: ScalarValue) -> [UInt8] {
                    switch value {
                    case .string(let text): Array(text.utf8)
                    case .binary(let bytes): bytes
                    default: []
                    }
                }
                let low = StatisticBounds.lower(scalar(a))
                if let high = StatisticBounds.upper(scalar(b)) {
                    lo = raw(low)
                    hi = raw(high)
                    exact = (low == scalar(a), high == scalar(b))
                }
            }
        }
        return .fields([(3, .i64(Int64(nullCount))), (5, hi.map { .binary($0) }), (6, lo.map { .binary($0) }),
                        (7, hi == nil || exact.max ? nil : .bool(false)), (8, lo == nil || exact.min ? nil : .bool(false))])
    }
}

/// Distinct values of a chunk in first-seen order and each present value's index; nil when the
/// distinct values pass the byte limit. Open addressing (Fibonacci hashing for 8-byte values,
/// xxHash64 for byte strings) rather than Swift's Dictionary: this is the writer's hot loop.
struct ChunkDictionary {
    /// Dictionary of 8-byte values (by bit pattern).
    static func words<S: Sequence>(_ values: S, count: Int, limitBytes: Int) -> (entries: [Int], indices: [UInt32])? where S.Element == UInt64 {
        var entries: [Int] = [], keys: [UInt64] = [], indices: [UInt32] = []
        indices.reserveCapacity(count)
        var bits = 10
        var slots = [Int32](repeating: 0, count: 1 << bits)
        @inline(__always) func slot(_ key: UInt64, _ bits: Int) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits)) }
        for (i, key) in values.enumerated() {
            let mask = (1 << bits) - 1
            var s = slot(key, bits)
            var found = -1
            while slots[s] != 0 {
                let e = Int(slots[s]) - 1
                if keys[e] == key { found = e; break }
                s = (s + 1) & mask
            }
            if found >= 0 { indices.append(UInt32(found)); continue }
            let e = entries.count
            entries.append(i)
            keys.append(key)
            indices.append(UInt32(e))
            slots[s] = Int32(e + 1)
            if 8 * entries.count > limitBytes { return nil }
            if entries.count * 2 > (1 << bits) {
                bits += 1
                slots = [Int32](repeating: 0, count: 1 << bits)
                let grown = (1 << bits) - 1
                for (k, key) in keys.enumerated() {
                    var t = slot(key, bits)
                    while slots[t] != 0 { t = (t + 1) & grown }
                    slots[t] = Int32(k + 1)
                }
            }
        }
        return (entries, indices)
    }

    /// Value positions (in the chunk) of the distinct values.
    var entries: [Int] = []
    var indices: [UInt32] = []

    init?(_ values: ChunkValues, limitBytes: Int) {
        let present = values.buffer.presentCount
        indices.reserveCapacity(present)
        var size = 0
        switch values.type {
        case .int64, .timestamp:
            guard let built = Self.words(values.buffer.ints.lazy.map { UInt64(bitPattern: $0) }, count: present, limitBytes: limitBytes) else { return nil }
            (entries, indices) = built
        case .float64:
            guard let built = Self.words(values.buffer.doubles.lazy.map(\.bitPattern), count: present, limitBytes: limitBytes) else { return nil }
            (entries, indices) = built
        default:
            // Open addressing over (hash, entry); slots hold entry + 1 (0: empty).
            var capacity = 64
            var slots = [Int32](repeating: 0, count: capacity)
            var hashes: [UInt64] = []
            for i in 0..<present {
                let hash = values.bloomHash(i)
                var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
                var found: Int? = nil
                while slots[slot] != 0 {
                    let e = Int(slots[slot]) - 1
                    if hashes[e] == hash, values.sameBytes(entries[e], i) { found = e; break }
                    slot = (slot + 1) & (capacity - 1)
                }
                if let found { indices.append(UInt32(found)); continue }
                let e = entries.count
                entries.append(i)
                hashes.append(hash)
                indices.append(UInt32(e))
                slots[slot] = Int32(e + 1)
                size += values.bytes(i).count + 4
                if size > limitBytes { return nil }
                if entries.count * 2 > capacity {
                    capacity *= 2
                    slots = [Int32](repeating: 0, count: capacity)
                    for (k, h) in hashes.enumerated() {
                        var s = Int(truncatingIfNeeded: h) & (capacity - 1)
                        while slots[s] != 0 { s = (s + 1) & (capacity - 1) }
                        slots[s] = Int32(k + 1)
                    }
                }
            }
        }
    }
}

/// The RLE / bit-packed hybrid encoding of levels and dictionary indices (Encodings.md).
enum Hybrid {
    static func width(_ maximum: UInt32) -> Int { maximum == 0 ? 0 : 32 - maximum.leadingZeroBitCount }

    /// One bit-packed run (groups of 8, the last padded with zeros), packed through a 64-bit
    /// accumulator.
    static func encodeBitPacked<C: Collection>(_ values: C, width: Int) -> [UInt8] where C.Element == UInt32 {
        guard !values.isEmpty else { return [] }
        let groups = (values.count + 7) / 8
        var out: [UInt8] = []
        out.reserveCapacity(groups * width + 10)
        ThriftCompact.varint(UInt64(groups << 1 | 1), &out)
        var accumulator: UInt64 = 0, bits = 0
        for value in values {
            accumulator |= UInt64(value) << UInt64(bits)
            bits += width
            while bits >= 8 {
                out.append(UInt8(truncatingIfNeeded: accumulator))
                accumulator >>= 8
                bits -= 8
            }
        }
        let padded = groups * 8 * width
        var written = values.count * width - bits
        if bits > 0 { out.append(UInt8(truncatingIfNeeded: accumulator)); written += 8 }
        while written < padded { out.append(0); written += 8 }
        return out
    }

    /// Definition levels (0 or 1 per row) as hybrid runs: RLE for runs of 8+ equal levels,
    /// bit-packed otherwise.
    static func encodeLevels(_ levels: ArraySlice<UInt8>) -> [UInt8] {
        if !levels.contains(0) {  // all defined: one RLE run
            var out: [UInt8] = []
            ThriftCompact.varint(UInt64(levels.count << 1), &out)
            out.append(1)
            return out
        }
        return encodeBitPacked(levels.lazy.map { UInt32($0) }, width: 1)
    }

    /// PLAIN booleans: bit-packed LSB first.
    static func packBools(_ values: ArraySlice<Bool>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (values.count + 7) / 8)
        for (i, v) in values.enumerated() where v { out[i >> 3] |= 1 << UInt8(i & 7) }
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
                // Unpack through a 64-bit accumulator, a byte at a time.
                let take = min(values, count - out.count)
                let mask: UInt64 = width == 32 ? 0xFFFF_FFFF : (1 << UInt64(width)) - 1
                var accumulator: UInt64 = 0, bits = 0, q = p
                for _ in 0..<take {
                    while bits < width {
                        accumulator |= UInt64(data[q]) << UInt64(bits)
                        q += 1
                        bits += 8
                    }
                    out.append(UInt32(truncatingIfNeeded: accumulator & mask))
                    accumulator >>= UInt64(width)
                    bits -= width
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
