// The TLM footer: schema, block index, per-block per-column statistics and the locations of
// the per-block indexes (Bloom filters, term Bloom filters, posting lists), which live in the
// index region between the data and the footer and are fetched only by queries that use them.
// Written and read with bounds-checked coding.
//
//   footer (version 2):
//     u32 column count, then per column: string name | u8 type | u8 nullable | u32 vector dimension
//     u32 block rows (the writer's setting)
//     u32 block count, then per block:
//       u64 first row | u32 row count
//       per column: u64 chunk offset | u32 chunk length (0: no chunk, all null) | u32 null count
//                   | u8 has min/max | [min | max as typed scalars]
//                   | span value Bloom | span term Bloom | span postings      (span: u64 offset | u32 length | u32 CRC-32C; length 0: none)
//       u32 path words | u64 words (bit c: column c has a non-null value in the block)
//   index region, grouped by column so one ranged GET fetches a column's indexes for many blocks:
//     Bloom filter: u32 words, little-endian (split-block, as Parquet)
//     postings of one block's column: u32 terms | per term: string term | u32 postings
//                   | u32 first row | packed gaps (u8 width + bits)
//   typed scalar: int64/timestamp i64 | float64 f64 | bool u8 | string/binary u32 length + bytes

import Synchronization
import KymaCore
import KymaFormat
import KymaIndex

/// A byte range of the extent; length 0 means absent.
struct ByteSpan: Hashable {
    var offset: UInt64
    var length: UInt32
    /// CRC-32C of the span's bytes (the index region is outside the footer's checksum).
    var checksum: UInt32 = 0

    static let none = ByteSpan(offset: 0, length: 0)
    var isPresent: Bool { length > 0 }
}

struct ChunkInfo: Hashable {
    var offset: UInt64
    var length: UInt32
    var nullCount: UInt32
    var min: ScalarValue?
    var max: ScalarValue?
    /// Split-block Bloom filter of the chunk's values.
    var bloom: ByteSpan = .none
    /// Split-block Bloom filter of the terms of a string chunk (for `has`).
    var termBloom: ByteSpan = .none
    /// The block's inverted index of a string chunk.
    var postings: ByteSpan = .none
}

/// Sorted terms and, for each, the ascending block-local rows whose text has it.
struct InvertedIndex: Hashable {
    var terms: [[UInt8]]
    var postings: [[UInt32]]

    func rows(for term: [UInt8]) -> [UInt32]? {
        var low = 0, high = terms.count
        while low < high {
            let mid = (low + high) / 2
            if terms[mid].lexicographicallyPrecedes(term) { low = mid + 1 } else { high = mid }
        }
        return low < terms.count && terms[low] == term ? postings[low] : nil
    }
}

struct BlockInfo {
    var firstRow: UInt64
    var rowCount: UInt32
    var chunks: [ChunkInfo]
    var pathWords: [UInt64]

    func hasValues(column: Int) -> Bool {
        column / 64 < pathWords.count && pathWords[column / 64] >> UInt64(column % 64) & 1 == 1
    }
}

struct TLMFooter {
    var schema: Schema
    var blockRows: UInt32
    var blocks: [BlockInfo]

    func encode() -> [UInt8] {
        var w = BinaryWriter()
        w.u32(UInt32(schema.fields.count))
        for field in schema.fields {
            w.string(field.name)
            w.u8(TypeTag(field.type).rawValue)
            w.u8(field.nullable ? 1 : 0)
            w.u32(UInt32(field.vectorDimension ?? 0))
        }
        w.u32(blockRows)
        w.u32(UInt32(blocks.count))
        for block in blocks {
            w.u64(block.firstRow)
            w.u32(block.rowCount)
            for (index, chunk) in block.chunks.enumerated() {
                w.u64(chunk.offset)
                w.u32(chunk.length)
                w.u32(chunk.nullCount)
                if let min = chunk.min, let max = chunk.max {
                    w.u8(1)
                    Self.writeScalar(min, type: schema.fields[index].type, &w)
                    Self.writeScalar(max, type: schema.fields[index].type, &w)
                } else {
                    w.u8(0)
                }
                for span in [chunk.bloom, chunk.termBloom, chunk.postings] {
                    w.u64(span.offset)
                    w.u32(span.length)
                    w.u32(span.checksum)
                }
            }
            w.u32(UInt32(block.pathWords.count))
            for word in block.pathWords { w.u64(word) }
        }
        return w.bytes
    }

    /// One block's inverted index of one column, as stored in the index region.
    static func encodePostings(_ index: InvertedIndex) -> [UInt8] {
        var section = BinaryWriter()
        section.u32(UInt32(index.terms.count))
        for (term, rows) in zip(index.terms, index.postings) {
            section.blob(term)
            section.u32(UInt32(rows.count))
            section.u32(rows.first ?? 0)
            IntegerEncoding.pack(zip(rows.dropFirst(), rows).map { UInt64($0 - $1) }, into: &section)
        }
        return section.bytes
    }

    static func decode(_ bytes: [UInt8], key: String, baseOffset: Int, dataEnd: Int, version: UInt16) throws(FormatError) -> TLMFooter {
        var r = BinaryReader(bytes, baseOffset: baseOffset, key: key)
        let columnCount = try r.count("column count", limit: TLM.maxColumns)
        var fields: [Field] = []
        for _ in 0..<columnCount {
            let name = try r.string("column name")
            guard let type = TypeTag(rawValue: try r.u8("column type")) else { throw r.corrupt("unknown column type") }
            let nullable = try r.u8("nullable") != 0
            let dimension = Int(try r.u32("vector dimension"))
            guard type != .float32Vector || (dimension > 0 && dimension <= 65_536) else { throw r.corrupt("bad vector dimension \(dimension)") }
            fields.append(Field(name: name, type: type.dataType, nullable: nullable, vectorDimension: type == .float32Vector ? dimension : nil))
        }
        let schema: Schema
        do { schema = try Schema(fields) } catch { throw r.corrupt("invalid schema: \(error)") }
        let blockRows = try r.u32("block rows")
        let blockCount = try r.count("block count", limit: TLM.maxBlocks)
        var blocks: [BlockInfo] = []
        var expectedFirstRow: UInt64 = 0
        for _ in 0..<blockCount {
            let firstRow = try r.u64("first row")
            let rowCount = try r.u32("row count")
            guard firstRow == expectedFirstRow, rowCount > 0, Int(rowCount) <= TLM.maxBlockRows else {
                throw r.corrupt("block rows \(firstRow)+\(rowCount) do not follow \(expectedFirstRow)")
            }
            expectedFirstRow += UInt64(rowCount)
            var chunks: [ChunkInfo] = []
            for field in fields {
                let offset = try r.u64("chunk offset")
                let length = try r.u32("chunk length")
                if length > 0 {
                    // Compared without adding, so a huge offset cannot overflow.
                    guard offset >= UInt64(TLM.headerSize), offset <= UInt64(dataEnd), UInt64(length) <= UInt64(dataEnd) - offset,
                          Int(length) >= TLM.chunkHeaderSize + 4 else {
                        throw r.corrupt("chunk at \(offset)+\(length) lies outside the data section")
                    }
                }
                let nullCount = try r.u32("null count")
                guard nullCount <= rowCount else { throw r.corrupt("null count \(nullCount) > rows \(rowCount)") }
                var minimum: ScalarValue? = nil, maximum: ScalarValue? = nil
                if try r.u8("has stats") != 0 {
                    minimum = try readScalar(type: field.type, &r)
                    maximum = try readScalar(type: field.type, &r)
                }
                var spans: [ByteSpan] = []
                for what in ["bloom", "term bloom", "postings"] {
                    let spanOffset = try r.u64("\(what) offset")
                    let spanLength = try r.u32("\(what) length")
                    let spanChecksum = try r.u32("\(what) checksum")
                    if spanLength > 0 {
                        guard spanOffset >= UInt64(TLM.headerSize), spanOffset <= UInt64(dataEnd), UInt64(spanLength) <= UInt64(dataEnd) - spanOffset,
                              what == "postings" || (what == "bloom" && version >= 4 ? PagedBloom.layout(length: Int(spanLength)) != nil : spanLength % 32 == 0) else {
                            throw r.corrupt("\(what) at \(spanOffset)+\(spanLength) lies outside the index region")
                        }
                    }
                    spans.append(ByteSpan(offset: spanOffset, length: spanLength, checksum: spanChecksum))
                }
                chunks.append(ChunkInfo(offset: offset, length: length, nullCount: nullCount, min: minimum, max: maximum,
                                        bloom: spans[0], termBloom: spans[1], postings: spans[2]))
            }
            let pathWordCount = try r.count("path words", limit: (fields.count + 63) / 64)
            var pathWords: [UInt64] = []
            for _ in 0..<pathWordCount { pathWords.append(try r.u64("path word")) }
            blocks.append(BlockInfo(firstRow: firstRow, rowCount: rowCount, chunks: chunks, pathWords: pathWords))
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the footer") }
        return TLMFooter(schema: schema, blockRows: blockRows, blocks: blocks)
    }

    /// One block's inverted index of one column (see the layout above).
    static func decodePostings(_ r: inout BinaryReader, rowCount: UInt32) throws(FormatError) -> InvertedIndex {
        let termCount = try r.count("term count", limit: r.remaining)
        var terms: [[UInt8]] = [], postings: [[UInt32]] = []
        for _ in 0..<termCount {
            let term = try r.blob("term")
            if let previous = terms.last, !previous.lexicographicallyPrecedes(term) { throw r.corrupt("terms are not sorted") }
            let postingCount = try r.count("posting count", limit: Int(rowCount))
            guard postingCount > 0 else { throw r.corrupt("empty posting list") }
            let first = try r.u32("first posting")
            guard first < rowCount else { throw r.corrupt("posting out of range") }
            let gaps = try IntegerEncoding.unpack(&r, count: postingCount - 1)
            var rows = [first]
            for gap in gaps {
                let (next, overflow) = UInt64(rows[rows.count - 1]).addingReportingOverflow(gap)
                guard gap > 0, !overflow, next < UInt64(rowCount) else { throw r.corrupt("posting out of range") }
                rows.append(UInt32(next))
            }
            terms.append(term)
            postings.append(rows)
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the postings") }
        return InvertedIndex(terms: terms, postings: postings)
    }

    static func writeScalar(_ value: ScalarValue, type: DataType, _ w: inout BinaryWriter) {
        switch value {
        case .int64(let v), .timestamp(let v): w.i64(v)
        case .float64(let v): w.f64(v)
        case .bool(let v): w.u8(v ? 1 : 0)
        case .string(let v): w.string(v)
        case .binary(let v): w.blob(v)
        case .null: w.u8(0)
        }
    }

    static func readScalar(type: DataType, _ r: inout BinaryReader) throws(FormatError) -> ScalarValue {
        switch type {
        case .int64: .int64(try r.i64("int64 stat"))
        case .timestamp: .timestamp(try r.i64("timestamp stat"))
        case .float64: .float64(try r.f64("float64 stat"))
        case .bool: .bool(try r.u8("bool stat") != 0)
        case .string: .string(try r.string("string stat"))
        case .binary, .float32Vector: .binary(try r.blob("binary stat"))
        }
    }
}
