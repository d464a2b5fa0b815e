// The TLM footer: schema, block index, per-block per-column statistics and Bloom filters,
// path-presence bitmaps and inverted indexes. Written and read with bounds-checked coding.
//
//   footer:
//     u32 column count, then per column: string name | u8 type | u8 nullable | u32 vector dimension
//     u32 block rows (the writer's setting)
//     u32 block count, then per block:
//       u64 first row | u32 row count
//       per column: u64 chunk offset | u32 chunk length (0: no chunk, all null) | u32 null count
//                   | u8 has min/max | [min | max as typed scalars] | u32 bloom words | [u32 words]
//       u32 path words | u64 words (bit c: column c has a non-null value in the block)
//       u32 section length, then the inverted-index section:
//         u32 indexed columns, then per: u32 column | u32 terms | per term: string term
//            | u32 postings | u32 first row | packed gaps (u8 width + bits)
//   typed scalar: int64/timestamp i64 | float64 f64 | bool u8 | string/binary u32 length + bytes

import Synchronization
import KymaCore
import KymaFormat
import KymaIndex

struct ChunkInfo: Hashable {
    var offset: UInt64
    var length: UInt32
    var nullCount: UInt32
    var min: ScalarValue?
    var max: ScalarValue?
    var bloom: SplitBlockBloomFilter?
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
    var invertedIndexes: InvertedIndexes

    func hasValues(column: Int) -> Bool {
        column / 64 < pathWords.count && pathWords[column / 64] >> UInt64(column % 64) & 1 == 1
    }
}

/// A block's inverted indexes: built by the writer, or the footer bytes that hold them, decoded
/// on the first `has` lookup (most reads never need them, and they are the footer's bulk).
enum InvertedIndexes {
    case built([Int: InvertedIndex])
    case encoded(LazyInvertedIndexes)

    /// The index of `column`, if the block has one. Damaged index bytes (only possible past the
    /// footer CRC with crafted input) yield nil, which keeps the block: pruning stays safe.
    func index(column: Int) -> InvertedIndex? {
        switch self {
        case .built(let indexes): indexes[column]
        case .encoded(let lazy): lazy.decoded()[column]
        }
    }
}

final class LazyInvertedIndexes: Sendable {
    let bytes: [UInt8]
    let baseOffset: Int
    let key: String
    let rowCount: UInt32
    let columnCount: Int
    private let cache = Mutex<[Int: InvertedIndex]?>(nil)

    init(bytes: [UInt8], baseOffset: Int, key: String, rowCount: UInt32, columnCount: Int) {
        self.bytes = bytes
        self.baseOffset = baseOffset
        self.key = key
        self.rowCount = rowCount
        self.columnCount = columnCount
    }

    func decoded() -> [Int: InvertedIndex] {
        if let cached = cache.withLock({ $0 }) { return cached }
        var reader = BinaryReader(bytes, baseOffset: baseOffset, key: key)
        let indexes = (try? TLMFooter.decodeInvertedIndexes(&reader, rowCount: rowCount, columnCount: columnCount)) ?? [:]
        cache.withLock { $0 = indexes }
        return indexes
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
                let words = chunk.bloom?.words ?? []
                w.u32(UInt32(words.count))
                for word in words { w.u32(word) }
            }
            w.u32(UInt32(block.pathWords.count))
            for word in block.pathWords { w.u64(word) }
            var section = BinaryWriter()
            let indexes: [Int: InvertedIndex]
            switch block.invertedIndexes {
            case .built(let built): indexes = built
            case .encoded(let lazy): indexes = lazy.decoded()
            }
            section.u32(UInt32(indexes.count))
            for (column, index) in indexes.sorted(by: { $0.key < $1.key }) {
                section.u32(UInt32(column))
                section.u32(UInt32(index.terms.count))
                for (term, rows) in zip(index.terms, index.postings) {
                    section.blob(term)
                    section.u32(UInt32(rows.count))
                    section.u32(rows.first ?? 0)
                    IntegerEncoding.pack(zip(rows.dropFirst(), rows).map { UInt64($0 - $1) }, into: &section)
                }
            }
            w.blob(section.bytes)  // length-prefixed, so readers can skip it and decode it lazily
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], key: String, baseOffset: Int, dataEnd: Int) throws(FormatError) -> TLMFooter {
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
                let bloomWords = try r.count("bloom words", limit: r.remaining / 4)
                var bloom: SplitBlockBloomFilter? = nil
                if bloomWords > 0 {
                    let words = try r.array(of: UInt32.self, bloomWords, "bloom words")
                    guard let filter = SplitBlockBloomFilter(words: words) else { throw r.corrupt("bloom filter of \(bloomWords) words") }
                    bloom = filter
                }
                chunks.append(ChunkInfo(offset: offset, length: length, nullCount: nullCount, min: minimum, max: maximum, bloom: bloom))
            }
            let pathWordCount = try r.count("path words", limit: (fields.count + 63) / 64)
            var pathWords: [UInt64] = []
            for _ in 0..<pathWordCount { pathWords.append(try r.u64("path word")) }
            let sectionOffset = r.baseOffset + r.position + 4
            let section = try r.blob("inverted index section")
            let indexes = InvertedIndexes.encoded(LazyInvertedIndexes(bytes: section, baseOffset: sectionOffset, key: key,
                                                                      rowCount: rowCount, columnCount: fields.count))
            blocks.append(BlockInfo(firstRow: firstRow, rowCount: rowCount, chunks: chunks, pathWords: pathWords, invertedIndexes: indexes))
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the footer") }
        return TLMFooter(schema: schema, blockRows: blockRows, blocks: blocks)
    }

    /// The inverted-index section of one block (see the layout above).
    static func decodeInvertedIndexes(_ r: inout BinaryReader, rowCount: UInt32, columnCount: Int) throws(FormatError) -> [Int: InvertedIndex] {
        let indexCount = try r.count("inverted indexes", limit: columnCount)
        var indexes: [Int: InvertedIndex] = [:]
        for _ in 0..<indexCount {
            let column = try r.count("indexed column", limit: columnCount - 1)
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
            indexes[column] = InvertedIndex(terms: terms, postings: postings)
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes in the inverted index section") }
        return indexes
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
