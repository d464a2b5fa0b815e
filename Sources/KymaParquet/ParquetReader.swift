// The Parquet reader: footer, schema (flat columns with their field ids), row groups with column
// statistics, and the pages of a column chunk (dictionary, data v1 and v2; PLAIN and
// RLE_DICTIONARY / PLAIN_DICTIONARY; definition levels; uncompressed and zstd). Anything else is
// a typed `.unsupported` error; damaged bytes are `.corrupt`, never a crash.
//
// A file opens from its whole bytes, or from its footer alone (`init(tail:fileSize:)`) with column
// chunks and Bloom filters fetched by byte range (`chunkRange`, `bloomRange`) and handed to
// `read(rowGroup:columns:chunks:)`: the segment-format reader fetches only what a query needs.

import KymaCompression
import KymaCore
import KymaIndex

public struct ParquetColumnStatistics: Sendable, Hashable {
    public var min: ScalarValue?
    public var max: ScalarValue?
    public var nullCount: Int?
}

public struct ParquetRowGroupInfo: Sendable, Hashable {
    public var rowCount: Int
    /// Per column, in schema order.
    public var statistics: [ParquetColumnStatistics]
}

public struct ParquetFile: Sendable {
    public let fields: [ParquetField]
    public let rowCount: Int
    public let rowGroups: [ParquetRowGroupInfo]
    public let keyValueMetadata: [String: String]
    /// The whole file, when opened from its bytes.
    let bytes: [UInt8]
    public let fileSize: Int
    let metadata: ThriftValue
    /// FIXED_LEN_BYTE_ARRAY widths per field (0 otherwise).
    let typeLength: [Int]
    /// Per field: whether the file stores timestamps in millis, micros or nanos (multiplier to ns).
    let timeScale: [Int64]
    let physical: [ParquetType]

    /// Values in one page beyond which a file is taken as damaged (writers use ~1 MB pages).
    static let maxPageValues = 1 << 26

    /// Parses the footer of a whole file held in memory.
    public init(bytes: [UInt8]) throws(ParquetError) {
        guard bytes.count >= 12, Array(bytes.prefix(4)) == Array("PAR1".utf8) else { throw .corrupt("missing PAR1 magic") }
        try self.init(tail: bytes, fileSize: bytes.count, whole: true)
    }

    static let footerChecksumKey = "kyma.footer_crc"
    /// Kyma's writer records the CRC-32 of each Bloom filter (header and bitset) as
    /// "rowgroup.column=hex" words; the footer checksum covers this list.
    static let bloomChecksumKey = "kyma.bloom_crc"

    /// Whether a Bloom filter's bytes (from `bloomRange`) match the CRC-32 Kyma's writer recorded.
    /// True for files without the list (other writers); false when the list lacks the filter.
    public func bloomChecksumMatches(rowGroup: Int, column: Int, _ bytes: [UInt8]) -> Bool {
        guard let list = keyValueMetadata[Self.bloomChecksumKey] else { return true }
        let prefix = "\(rowGroup).\(column)="
        guard let word = list.split(separator: " ").first(where: { $0.hasPrefix(prefix) }) else { return false }
        return UInt32(word.dropFirst(prefix.count), radix: 16) == CRC32.checksum(bytes)
    }
    static let footerChecksumPlaceholder = "00000000"

    /// Where the eight hex digits of `kyma.footer_crc` sit in serialized footer bytes.
    static func footerChecksumValueOffset(_ footer: [UInt8]) -> Int? {
        let key = Array(footerChecksumKey.utf8)
        guard footer.count > key.count + 10 else { return nil }
        for start in 0...(footer.count - key.count - 10) where footer[start] == key[0] && Array(footer[start..<start + key.count]) == key {
            // The key, then the value field's header byte (id delta 1, binary) and length 8.
            let at = start + key.count
            if footer[at] == 0x18, footer[at + 1] == 8 { return at + 2 }
        }
        return nil
    }

    /// Whether the footer's `kyma.footer_crc` matches its bytes: nil when the footer has none.
    public static func footerChecksumMatches(tail: [UInt8], fileSize: Int) throws(ParquetError) -> Bool? {
        let needed = try footerLength(tail: tail, fileSize: fileSize)
        guard needed <= tail.count else { throw .corrupt("the footer needs the last \(needed) bytes, got \(tail.count)") }
        var footer = Array(tail[(tail.count - needed)..<(tail.count - 8)])
        guard let at = footerChecksumValueOffset(footer) else { return nil }
        let stored = UInt32(String(decoding: footer[at..<at + 8], as: UTF8.self), radix: 16)
        footer.replaceSubrange(at..<at + 8, with: Array(footerChecksumPlaceholder.utf8))
        return stored == CRC32.checksum(footer)
    }

    /// The bytes at the end of a file needed to parse its footer (metadata + length + magic).
    public static func footerLength(tail: [UInt8], fileSize: Int) throws(ParquetError) -> Int {
        guard tail.count >= 8, fileSize >= 12, Array(tail.suffix(4)) == Array("PAR1".utf8) else { throw .corrupt("missing PAR1 magic") }
        let n = tail.count
        let length = Int(UInt32(tail[n - 8]) | UInt32(tail[n - 7]) << 8 | UInt32(tail[n - 6]) << 16 | UInt32(tail[n - 5]) << 24)
        guard length > 0, length <= fileSize - 12 else { throw .corrupt("footer length \(length) does not fit a file of \(fileSize) bytes") }
        return length + 8
    }

    /// Parses the footer from the last `tail.count` bytes of a file of `fileSize` bytes (the
    /// tail must hold `footerLength` bytes). Column data is then read with `read(rowGroup:columns:chunks:)`.
    public init(tail: [UInt8], fileSize: Int) throws(ParquetError) {
        try self.init(tail: tail, fileSize: fileSize, whole: false)
    }

    init(tail bytes: [UInt8], fileSize: Int, whole: Bool) throws(ParquetError) {
        let needed = try Self.footerLength(tail: bytes, fileSize: fileSize)
        guard needed <= bytes.count else { throw .corrupt("the footer needs the last \(needed) bytes, got \(bytes.count)") }
        let n = bytes.count
        var position = n - needed
        let metadata = try ThriftCompact.readStruct(bytes, &position)
        var keyValues: [String: String] = [:]
        for pair in metadata[5]?.items ?? [] {
            if let key = pair[1]?.text { keyValues[key] = pair[2]?.text ?? "" }
        }
        let elements = metadata[2]?.items ?? []
        guard let root = elements.first, let children = root[5]?.int, Int(children) == elements.count - 1 else {
            throw .unsupported("nested schemas (only flat columns are read)")
        }
        var fields: [ParquetField] = [], scales: [Int64] = [], physical: [ParquetType] = [], lengths: [Int] = []
        for element in elements.dropFirst() {
            guard element[5] == nil else { throw .unsupported("nested column '\(element[4]?.text ?? "")'") }
            guard let name = element[4]?.text, let typeCode = element[1]?.int, let code = Int32(exactly: typeCode), let type = ParquetType(rawValue: code) else {
                throw .corrupt("schema element without a name or type")
            }
            let repetition = element[3]?.int ?? 0
            guard repetition != 2 else { throw .unsupported("repeated column '\(name)'") }
            let logical = element[10]
            let converted = element[6]?.int
            var kymaType: DataType
            var scale: Int64 = 1
            switch type {
            case .boolean: kymaType = .bool
            case .int32, .int64: kymaType = .int64
            case .float, .double: kymaType = .float64
            case .byteArray: kymaType = (logical?[1] != nil || converted == 0) ? .string : .binary
            case .fixedLenByteArray: kymaType = .binary
            default: throw .unsupported("column '\(name)' of physical type \(type)")
            }
            let width = Int(element[2]?.int ?? 0)
            var dimension: Int? = nil
            if type == .fixedLenByteArray {
                guard width > 0, width <= 1 << 20 else { throw .corrupt("column '\(name)' has a fixed width of \(width)") }
                if let d = keyValues["kyma.vector_dimension.\(name)"].flatMap({ Int($0) }), d > 0, 4 * d == width {
                    kymaType = .float32Vector
                    dimension = d
                }
            }
            if type == .int64, let timestamp = logical?[8] {
                kymaType = .timestamp
                let unit = timestamp[2]
                scale = unit?[1] != nil ? 1_000_000 : unit?[2] != nil ? 1000 : 1
            } else if type == .int64, converted == 9 || converted == 10 {
                kymaType = .timestamp
                scale = converted == 9 ? 1_000_000 : 1000
            }
            // DATE (days since the epoch in an INT32) reads as a timestamp at midnight UTC.
            let isDate = type == .int32 && (logical?[6] != nil || converted == 6)
            if isDate {
                kymaType = .timestamp
                scale = 86_400_000_000_000
            }
            // A field id is an i32 in the spec; a damaged footer may hold any i64.
            var fieldID: Int32? = nil
            if let raw = element[9]?.int {
                guard let id = Int32(exactly: raw) else { throw .corrupt("field id \(raw) of '\(name)' is not a 32-bit integer") }
                fieldID = id
            }
            fields.append(ParquetField(name: name, type: kymaType, optional: repetition == 1, fieldID: fieldID,
                                       vectorDimension: dimension, date: isDate))
            scales.append(scale)
            physical.append(type)
            lengths.append(type == .fixedLenByteArray ? width : 0)
        }
        var groups: [ParquetRowGroupInfo] = []
        for group in metadata[4]?.items ?? [] {
            let chunks = group[1]?.items ?? []
            guard chunks.count == fields.count else { throw .corrupt("row group with \(chunks.count) columns for \(fields.count) fields") }
            var stats: [ParquetColumnStatistics] = []
            for (k, chunk) in chunks.enumerated() {
                let s = chunk[3]?[12]
                func decode(_ v: ThriftValue?) -> ScalarValue? {
                    guard let raw = v?.bytes, fields[k].type != .float32Vector else { return nil }
                    return try? Self.plainValues(raw[...], physical[k], fields[k].type, count: 1, scale: scales[k], statistic: true).first
                }
                stats.append(ParquetColumnStatistics(min: decode(s?[6] ?? s?[2]), max: decode(s?[5] ?? s?[1]), nullCount: s?[3]?.int.map(Int.init)))
            }
            groups.append(ParquetRowGroupInfo(rowCount: Int(group[3]?.int ?? 0), statistics: stats))
        }
        self.fields = fields
        self.rowCount = Int(metadata[3]?.int ?? 0)
        self.rowGroups = groups
        self.bytes = whole ? bytes : []
        self.fileSize = fileSize
        self.keyValueMetadata = keyValues
        self.typeLength = lengths
        self.metadata = metadata
        self.timeScale = scales
        self.physical = physical
    }

    /// Every row of row group `index` as a batch (all columns), from a file opened with its bytes.
    public func read(rowGroup index: Int) throws(ParquetError) -> ColumnBatch {
        guard !bytes.isEmpty else { throw .unsupported("the file was opened from its footer: pass the column chunks") }
        return try read(rowGroup: index, columns: nil, chunks: nil)
    }

    /// The byte range of a column chunk (dictionary and data pages).
    public func chunkRange(rowGroup: Int, column: Int) throws(ParquetError) -> Range<Int> {
        let groups = metadata[4]?.items ?? []
        guard rowGroup >= 0, rowGroup < groups.count, column >= 0, column < fields.count,
              let meta = (groups[rowGroup][1]?.items ?? []).dropFirst(column).first?[3] else { throw .corrupt("no column chunk \(rowGroup)/\(column)") }
        let start = Int(meta[11]?.int ?? meta[9]?.int ?? 0)
        let length = Int(meta[7]?.int ?? 0)
        guard start >= 4, length >= 0, start <= fileSize - 8, length <= fileSize - 8 - start else { throw .corrupt("column chunk outside the file") }
        return start..<start + length
    }

    /// The byte range of a column chunk's Bloom filter (header and bitset), when it has one.
    public func bloomRange(rowGroup: Int, column: Int) -> Range<Int>? {
        let groups = metadata[4]?.items ?? []
        guard rowGroup >= 0, rowGroup < groups.count, let meta = (groups[rowGroup][1]?.items ?? []).dropFirst(column).first?[3],
              let offset = meta[14]?.int else { return nil }
        let length = Int(meta[15]?.int ?? Int64(min(fileSize - Int(offset), 64 + SplitBlockBloomFilter.maximumBytes)))
        guard offset >= 4, length > 0, Int(offset) + length <= fileSize - 8 else { return nil }
        return Int(offset)..<Int(offset) + length
    }

    /// Parses a Bloom filter (BloomFilterHeader + bitset): split-block, xxHash64, uncompressed.
    public static func bloomFilter(_ bytes: [UInt8]) throws(ParquetError) -> SplitBlockBloomFilter {
        var position = 0
        let header = try ThriftCompact.readStruct(bytes, &position)
        let count = Int(header[1]?.int ?? -1)
        guard header[2]?[1] != nil, header[3]?[1] != nil, header[4]?[1] != nil else { throw .unsupported("Bloom filter other than split-block / xxHash / uncompressed") }
        guard count >= SplitBlockBloomFilter.minimumBytes, count <= SplitBlockBloomFilter.maximumBytes, count % 32 == 0, count <= bytes.count - position else {
            throw .corrupt("Bloom filter of \(count) bytes")
        }
        var words = [UInt32](repeating: 0, count: count / 4)
        for i in words.indices {
            let p = position + 4 * i
            words[i] = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
        }
        guard let filter = SplitBlockBloomFilter(words: words) else { throw .corrupt("Bloom filter bitset") }
        return filter
    }

    /// The hash a Bloom filter of this file holds for `value` (PLAIN bytes, timestamps in the
    /// column's unit); nil when the value cannot be in the column.
    public func bloomHash(_ value: ScalarValue, column: Int) -> UInt64? {
        switch (physical[column], value) {
        case (.int64, .int64(let v)): return withUnsafeBytes(of: v.littleEndian) { XXHash64.hash($0) }
        case (.int64, .timestamp(let v)):
            guard timeScale[column] > 0, v % timeScale[column] == 0 else { return nil }
            return withUnsafeBytes(of: (v / timeScale[column]).littleEndian) { XXHash64.hash($0) }
        case (.int32, .timestamp(let v)):
            guard timeScale[column] > 1, v % timeScale[column] == 0, let days = Int32(exactly: v / timeScale[column]) else { return nil }
            return withUnsafeBytes(of: days.littleEndian) { XXHash64.hash($0) }
        case (.int32, .int64(let v)):
            guard let narrow = Int32(exactly: v) else { return nil }
            return withUnsafeBytes(of: narrow.littleEndian) { XXHash64.hash($0) }
        // Zero is left out: 0.0 and -0.0 are equal but hash differently.
        case (.double, .float64(let v)) where v != 0 && !v.isNaN: return withUnsafeBytes(of: v.bitPattern.littleEndian) { XXHash64.hash($0) }
        case (.double, .int64(let v)) where v != 0: return withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { XXHash64.hash($0) }
        case (.int64, .float64(let v)):
            guard let exact = Int64(exactly: v) else { return nil }
            return withUnsafeBytes(of: exact.littleEndian) { XXHash64.hash($0) }
        case (.byteArray, .string(let s)): return XXHash64.hash(Array(s.utf8))
        case (.byteArray, .binary(let b)): return XXHash64.hash(b)
        default: return nil
        }
    }

    /// Rows of row group `index`: the chosen columns (nil: all), each decoded from `chunks`
    /// (column index -> the bytes of `chunkRange`), or from the whole file when nil.
    public func read(rowGroup index: Int, columns: [Int]?, chunks: [Int: [UInt8]]?) throws(ParquetError) -> ColumnBatch {
        let groups = metadata[4]?.items ?? []
        guard index >= 0, index < groups.count else { throw .corrupt("no row group \(index)") }
        let group = groups[index]
        let rows = Int(group[3]?.int ?? 0)
        guard rows >= 0, rows <= Self.maxPageValues * 64 else { throw .corrupt("row group of \(rows) rows") }
        let chunkList = group[1]?.items ?? []
        var out: [(String, Column)] = []
        for k in columns ?? Array(fields.indices) {
            guard k >= 0, k < chunkList.count else { throw .corrupt("no column \(k) in row group \(index)") }
            let decoded: TypedValues
            if let chunks {
                guard let data = chunks[k] else { throw .corrupt("column chunk \(k) was not supplied") }
                let range = try chunkRange(rowGroup: index, column: k)
                decoded = try readChunk(chunkList[k], field: k, rows: rows, data: data, base: range.lowerBound)
            } else {
                decoded = try readChunk(chunkList[k], field: k, rows: rows, data: bytes, base: 0)
            }
            out.append((fields[k].name, try decoded.column(fields[k], rows: rows)))
        }
        do {
            return try ColumnBatch(rowCount: rows, columns: out)
        } catch {
            throw .corrupt("\(error)")
        }
    }

    public func readAll() throws(ParquetError) -> [ColumnBatch] {
        var out: [ColumnBatch] = []
        for index in rowGroups.indices { out.append(try read(rowGroup: index)) }
        return out
    }

    /// Decodes a column chunk into typed present values plus one validity flag per row.
    func readChunk(_ chunk: ThriftValue, field k: Int, rows: Int, data bytes: [UInt8], base: Int) throws(ParquetError) -> TypedValues {
        guard let meta = chunk[3] else { throw .unsupported("column chunk in another file") }
        let codec = meta[4]?.int ?? 0
        let start = Int(meta[11]?.int ?? meta[9]?.int ?? 0) - base
        let length = Int(meta[7]?.int ?? 0)
        guard start >= 0, length >= 0, start <= bytes.count, length <= bytes.count - start else { throw .corrupt("column chunk outside the file") }
        var position = start
        let end = start + length
        var dictionary: TypedValues? = nil
        var values = TypedValues(kind: TypedValues.kind(physical[k]))
        values.valid.reserveCapacity(rows)
        let optional = fields[k].optional
        while values.valid.count < rows && position < end {
            let header = try ThriftCompact.readStruct(bytes, &position)
            let pageType = header[1]?.int ?? -1
            let uncompressedSize = Int(header[2]?.int ?? -1)
            let compressedSize = Int(header[3]?.int ?? -1)
            guard compressedSize >= 0, uncompressedSize >= 0, compressedSize <= end - position else { throw .corrupt("page of \(compressedSize) bytes past the chunk") }
            let stored = Array(bytes[position..<position + compressedSize])
            position += compressedSize
            if let crc = header[4]?.int, UInt32(truncatingIfNeeded: crc) != CRC32.checksum(stored) {
                throw .corrupt("page checksum mismatch in column '\(fields[k].name)'")
            }
            let remaining = rows - values.valid.count
            switch pageType {
            case Int64(ParquetPageType.dictionary.rawValue):
                let raw = try Self.decompress(stored, codec: codec, size: uncompressedSize)
                let count = Int(header[7]?[1]?.int ?? 0)
                guard count >= 0, count <= Self.maxPageValues else { throw .corrupt("dictionary of \(count) values") }
                var dict = TypedValues(kind: TypedValues.kind(physical[k]))
                try dict.appendPlain(raw[...], count: count, physical: physical[k], width: typeLength[k], scale: timeScale[k])
                dictionary = dict
            case Int64(ParquetPageType.data.rawValue):
                let raw = try Self.decompress(stored, codec: codec, size: uncompressedSize)
                guard let page = header[5] else { throw .corrupt("data page without its header") }
                let count = Int(page[1]?.int ?? 0)
                guard count >= 0, count <= min(remaining, Self.maxPageValues) else { throw .corrupt("data page of \(count) values for \(remaining) remaining rows") }
                var offset = 0
                var present = count
                if optional {
                    guard raw.count >= 4 else { throw .corrupt("truncated definition levels") }
                    let levelBytes = Int(UInt32(raw[0]) | UInt32(raw[1]) << 8 | UInt32(raw[2]) << 16 | UInt32(raw[3]) << 24)
                    guard levelBytes <= raw.count - 4 else { throw .corrupt("definition levels past the page") }
                    present = try values.appendLevels(raw[4..<4 + levelBytes], count: count)
                    offset = 4 + levelBytes
                } else {
                    values.valid.append(contentsOf: repeatElement(1, count: count))
                }
                try decodeValues(raw[offset...], encoding: page[2]?.int ?? 0, present: present, dictionary: dictionary, field: k, into: &values)
            case Int64(ParquetPageType.dataV2.rawValue):
                guard let page = header[8] else { throw .corrupt("data page v2 without its header") }
                let count = Int(page[1]?.int ?? 0)
                guard count >= 0, count <= min(remaining, Self.maxPageValues) else { throw .corrupt("data page of \(count) values for \(remaining) remaining rows") }
                let definitionLength = Int(page[5]?.int ?? 0), repetitionLength = Int(page[6]?.int ?? 0)
                guard definitionLength >= 0, repetitionLength >= 0, definitionLength + repetitionLength <= stored.count else { throw .corrupt("v2 levels past the page") }
                let levelsEnd = repetitionLength + definitionLength
                var present = count
                if optional {
                    present = try values.appendLevels(stored[repetitionLength..<levelsEnd], count: count)
                } else {
                    values.valid.append(contentsOf: repeatElement(1, count: count))
                }
                let compressed = page[7]?.boolValue ?? true
                let body = compressed ? try Self.decompress(Array(stored[levelsEnd...]), codec: codec, size: uncompressedSize - levelsEnd) : Array(stored[levelsEnd...])
                try decodeValues(body[...], encoding: page[4]?.int ?? 0, present: present, dictionary: dictionary, field: k, into: &values)
            default:
                continue  // index pages and unknown pages carry no values
            }
        }
        guard values.valid.count == rows else { throw .corrupt("column '\(fields[k].name)' has \(values.valid.count) values for \(rows) rows") }
        return values
    }

    func decodeValues(_ raw: ArraySlice<UInt8>, encoding: Int64, present: Int, dictionary: TypedValues?, field k: Int,
                      into values: inout TypedValues) throws(ParquetError) {
        switch encoding {
        case Int64(ParquetEncoding.plain.rawValue):
            try values.appendPlain(raw, count: present, physical: physical[k], width: typeLength[k], scale: timeScale[k])
        case Int64(ParquetEncoding.rleDictionary.rawValue), Int64(ParquetEncoding.plainDictionary.rawValue):
            guard let dictionary else { throw .corrupt("dictionary-encoded page without a dictionary in column '\(fields[k].name)'") }
            guard let width = raw.first, width <= 32 else { throw .corrupt("dictionary index width") }
            let indices = try Hybrid.decode(raw.dropFirst(), width: Int(width), count: present)
            try values.appendGathered(from: dictionary, indices)
        case Int64(ParquetEncoding.rle.rawValue) where physical[k] == .boolean:
            // Booleans as an RLE / bit-packed hybrid of width 1, length-prefixed (data page v2 default).
            guard raw.count >= 4 else { throw .corrupt("truncated RLE booleans") }
            let b = raw.startIndex
            let length = Int(UInt32(raw[b]) | UInt32(raw[b + 1]) << 8 | UInt32(raw[b + 2]) << 16 | UInt32(raw[b + 3]) << 24)
            guard length <= raw.count - 4 else { throw .corrupt("RLE booleans past the page") }
            values.bools.append(contentsOf: try Hybrid.decode(raw[(b + 4)..<(b + 4 + length)], width: 1, count: present).map { $0 == 1 })
        default:
            throw .unsupported("encoding \(encoding) in column '\(fields[k].name)'")
        }
    }

    static func decompress(_ stored: [UInt8], codec: Int64, size: Int) throws(ParquetError) -> [UInt8] {
        do {
            switch codec {
            case 0: return stored
            case 1: return try Snappy.decompress(stored, expectedSize: size)
            case 2:
                let raw = try Deflate.gunzip(stored, limit: size)
                guard raw.count == size else { throw ParquetError.corrupt("gzip page expanded to \(raw.count) bytes, expected \(size)") }
                return raw
            case 6: return try Codec.zstd.decompress(stored, uncompressedSize: size)
            case 7: return try Codec.lz4.decompress(stored, uncompressedSize: size)
            default:
                throw ParquetError.unsupported("compression codec \(codec) (this build reads uncompressed, snappy, gzip, zstd and lz4_raw)")
            }
        } catch let error as ParquetError {
            throw error
        } catch {
            throw .corrupt("page of codec \(codec): \(error)")
        }
    }

    static func plainValues(_ raw: ArraySlice<UInt8>, _ physical: ParquetType, _ type: DataType, count: Int, scale: Int64,
                            statistic: Bool = false, width: Int = 0) throws(ParquetError) -> [ScalarValue] {
        guard count >= 0, count <= ParquetFile.maxPageValues else { throw .corrupt("page of \(count) values") }
        let data = Array(raw)
        var out: [ScalarValue] = []
        out.reserveCapacity(min(count, data.count * 8 + 1))
        var p = 0
        func word(_ size: Int) throws(ParquetError) -> UInt64 {
            guard size <= data.count - p else { throw .corrupt("PLAIN values end early") }
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(data[p + k]) << UInt64(8 * k) }
            p += size
            return v
        }
        for i in 0..<count {
            switch physical {
            case .boolean:
                guard i / 8 < data.count else { throw .corrupt("PLAIN booleans end early") }
                out.append(.bool(data[i / 8] >> UInt8(i % 8) & 1 == 1))
            case .int32:
                let v = Int64(Int32(bitPattern: UInt32(try word(4))))
                out.append(type == .timestamp ? .timestamp(v &* scale) : .int64(v))
            case .int64:
                let v = Int64(bitPattern: try word(8))
                out.append(type == .timestamp ? .timestamp(v &* scale) : .int64(v))
            case .float:
                out.append(.float64(Double(Float(bitPattern: UInt32(try word(4))))))
            case .double:
                out.append(.float64(Double(bitPattern: try word(8))))
            case .byteArray:
                let length: Int
                if statistic { length = data.count } else { length = Int(try word(4)) }
                guard length >= 0, length <= data.count - p else { throw .corrupt("byte array past the page") }
                let b = Array(data[p..<p + length])
                p += length
                out.append(type == .string ? .string(String(decoding: b, as: UTF8.self)) : .binary(b))
            case .fixedLenByteArray:
                let length = statistic ? data.count : width
                guard length > 0, length <= data.count - p else { throw .corrupt("fixed-length value past the page") }
                out.append(.binary(Array(data[p..<p + length])))
                p += length
            default:
                throw .unsupported("physical type \(physical)")
            }
        }
        return out
    }
}

/// A column chunk's decoded values: present values typed by physical kind, one validity flag
/// per row. Built page by page, then turned into a `Column` without boxing values.
struct TypedValues {
    enum Kind { case ints, doubles, bools, bytes }
    let kind: Kind
    var valid: [UInt8] = []
    var ints: [Int64] = []
    var doubles: [Double] = []
    var bools: [Bool] = []
    var offsets: [Int32] = [0]
    var bytes: [UInt8] = []

    init(kind: Kind) { self.kind = kind }

    static func kind(_ physical: ParquetType) -> Kind {
        switch physical {
        case .boolean: .bools
        case .int32, .int64: .ints
        case .float, .double: .doubles
        default: .bytes
        }
    }

    var count: Int {
        switch kind {
        case .ints: ints.count
        case .doubles: doubles.count
        case .bools: bools.count
        case .bytes: offsets.count - 1
        }
    }

    /// Appends `count` definition levels (width 1); returns how many are defined.
    mutating func appendLevels(_ raw: ArraySlice<UInt8>, count: Int) throws(ParquetError) -> Int {
        let levels = try Hybrid.decode(raw, width: 1, count: count)
        var present = 0
        for level in levels {
            valid.append(UInt8(truncatingIfNeeded: level))
            present += Int(level & 1)
        }
        return present
    }

    mutating func appendPlain(_ raw: ArraySlice<UInt8>, count: Int, physical: ParquetType, width: Int, scale: Int64) throws(ParquetError) {
        guard count >= 0, count <= ParquetFile.maxPageValues else { throw .corrupt("page of \(count) values") }
        let failure: ParquetError? = raw.withUnsafeBytes { (data: UnsafeRawBufferPointer) -> ParquetError? in
          do throws(ParquetError) {
            switch physical {
            case .boolean:
                guard (count + 7) / 8 <= data.count else { throw .corrupt("PLAIN booleans end early") }
                for i in 0..<count { bools.append(data[i >> 3] >> UInt8(i & 7) & 1 == 1) }
            case .int32:
                guard 4 * count <= data.count else { throw .corrupt("PLAIN values end early") }
                for i in 0..<count { ints.append(Int64(Int32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) &* scale) }
            case .int64:
                guard 8 * count <= data.count else { throw .corrupt("PLAIN values end early") }
                if scale == 1 {
                    for i in 0..<count { ints.append(Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                } else {
                    for i in 0..<count { ints.append(Int64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) &* scale) }
                }
            case .float:
                guard 4 * count <= data.count else { throw .corrupt("PLAIN values end early") }
                for i in 0..<count { doubles.append(Double(Float(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))))) }
            case .double:
                guard 8 * count <= data.count else { throw .corrupt("PLAIN values end early") }
                for i in 0..<count { doubles.append(Double(bitPattern: UInt64(littleEndian: data.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .byteArray:
                var p = 0
                for _ in 0..<count {
                    guard p + 4 <= data.count else { throw .corrupt("byte array past the page") }
                    let length = Int(UInt32(littleEndian: data.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
                    p += 4
                    guard length <= data.count - p else { throw .corrupt("byte array past the page") }
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[p..<p + length]))
                    guard bytes.count <= Int(Int32.max) else { throw .unsupported("more than 2 GiB of bytes in one column chunk") }
                    offsets.append(Int32(bytes.count))
                    p += length
                }
            case .fixedLenByteArray:
                guard width > 0, width * count <= data.count else { throw .corrupt("fixed-length values past the page") }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: data[0..<width * count]))
                for _ in 0..<count { offsets.append(Int32(truncatingIfNeeded: Int(offsets[offsets.count - 1]) + width)) }
            default:
                throw .unsupported("physical type \(physical)")
            }
            return nil
          } catch {
            return error
          }
        }
        if let failure { throw failure }
    }

    mutating func appendGathered(from dictionary: TypedValues, _ indices: [UInt32]) throws(ParquetError) {
        let size = dictionary.count
        for index in indices where Int(index) >= size { throw .corrupt("dictionary index \(index) of \(size)") }
        switch kind {
        case .ints: for index in indices { ints.append(dictionary.ints[Int(index)]) }
        case .doubles: for index in indices { doubles.append(dictionary.doubles[Int(index)]) }
        case .bools: for index in indices { bools.append(dictionary.bools[Int(index)]) }
        case .bytes:
            for index in indices {
                let from = Int(dictionary.offsets[Int(index)]), to = Int(dictionary.offsets[Int(index) + 1])
                bytes.append(contentsOf: dictionary.bytes[from..<to])
                offsets.append(Int32(truncatingIfNeeded: bytes.count))
            }
        }
    }

    /// The values as a column of `field`'s type (nulls where a level says so).
    func column(_ field: ParquetField, rows: Int) throws(ParquetError) -> Column {
        guard valid.count == rows, count == valid.reduce(0, { $0 + Int($1) }) else { throw .corrupt("column '\(field.name)': values do not match its levels") }
        var validity = ValidityBitmap(allValid: rows)
        var hasNull = false
        for (row, flag) in valid.enumerated() where flag == 0 { validity.set(row, valid: false); hasNull = true }
        func spread<T>(_ present: [T], _ zero: T) -> [T] {
            if !hasNull { return present }
            var out = [T](repeating: zero, count: rows)
            var next = 0
            for row in 0..<rows where valid[row] == 1 { out[row] = present[next]; next += 1 }
            return out
        }
        func spreadBytes() -> [Int32] {
            if !hasNull { return offsets }
            var out = [Int32](repeating: 0, count: rows + 1)
            var next = 0
            for row in 0..<rows {
                if valid[row] == 1 { next += 1 }
                out[row + 1] = offsets[next]
            }
            return out
        }
        let v: ValidityBitmap? = hasNull ? validity : nil
        switch (field.type, kind) {
        case (.int64, .ints): return Column(.int64(spread(ints, 0)), validity: v)
        case (.timestamp, .ints): return Column(.timestamp(spread(ints, 0)), validity: v)
        case (.float64, .doubles): return Column(.float64(spread(doubles, 0)), validity: v)
        case (.bool, .bools): return Column(.bool(spread(bools, false)), validity: v)
        case (.string, .bytes): return Column(.string(offsets: spreadBytes(), bytes: bytes), validity: v)
        case (.binary, .bytes): return Column(.binary(offsets: spreadBytes(), bytes: bytes), validity: v)
        case (.float32Vector, .bytes):
            guard let dimension = field.vectorDimension, dimension > 0 else { throw .corrupt("vector column '\(field.name)' without a dimension") }
            var floats = [Float](repeating: 0, count: rows * dimension)
            var next = 0
            for row in 0..<rows where valid[row] == 1 {
                let from = Int(offsets[next]), to = Int(offsets[next + 1])
                guard to - from == 4 * dimension else { throw .corrupt("vector of \(to - from) bytes in '\(field.name)'") }
                bytes[from..<to].withUnsafeBytes { raw in
                    for d in 0..<dimension { floats[row * dimension + d] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * d, as: UInt32.self))) }
                }
                next += 1
            }
            return Column(.float32Vector(dimension: dimension, values: floats), validity: v)
        default:
            throw .corrupt("column '\(field.name)' of type \(field.type.rawValue) holds other values")
        }
    }
}
