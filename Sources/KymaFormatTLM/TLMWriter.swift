// Builds a TLM extent: buffers rows per column, cuts blocks of `block_rows`, encodes each
// column chunk with the smallest encoding, compresses it, and collects the footer's indexes.

import KymaCompression
import KymaCore
import KymaFormat
import KymaIndex
import KymaKernels

/// Rows of one column waiting to be written, in the form the encoders take.
struct ColumnAccumulator {
    let field: Field
    var ints: [Int64] = []          // int64, timestamp, float64 bit patterns, bools as 0/1
    var offsets: [Int32] = [0]      // string, binary
    var bytes: [UInt8] = []
    var floats: [Float] = []        // vectors
    var valid: [Bool] = []

    var count: Int { valid.count }

    mutating func append(_ column: Column?, rows: Int) throws(FormatError) {
        guard let column else {
            appendNulls(rows)
            return
        }
        guard column.dataType == field.type else {
            throw .schemaMismatch("column '\(field.name)' is \(field.type.rawValue), the batch has \(column.dataType.rawValue)")
        }
        for row in 0..<rows { valid.append(!column.isNull(row)) }
        switch column.values {
        case .bool(let v): ints.append(contentsOf: v.map { $0 ? 1 : 0 })
        case .int64(let v), .timestamp(let v): ints.append(contentsOf: v)
        case .float64(let v): ints.append(contentsOf: v.map { Int64(bitPattern: $0.bitPattern) })
        case .string(let o, let b), .binary(let o, let b):
            let base = Int32(bytes.count) - o[0]
            bytes.append(contentsOf: b[Int(o[0])..<Int(o[rows])])
            for i in 1...max(rows, 1) where i <= rows { offsets.append(o[i] + base) }
        case .float32Vector(let dimension, let values):
            guard dimension == field.vectorDimension else {
                throw .schemaMismatch("vector column '\(field.name)' has dimension \(dimension), the schema says \(field.vectorDimension ?? 0)")
            }
            floats.append(contentsOf: values)
        }
    }

    mutating func appendNulls(_ rows: Int) {
        valid.append(contentsOf: repeatElement(false, count: rows))
        switch field.type {
        case .bool, .int64, .timestamp, .float64: ints.append(contentsOf: repeatElement(0, count: rows))
        case .string, .binary: offsets.append(contentsOf: repeatElement(Int32(bytes.count), count: rows))
        case .float32Vector: floats.append(contentsOf: repeatElement(0, count: rows * (field.vectorDimension ?? 0)))
        }
    }

    /// Removes and returns the first `rows` rows.
    mutating func take(_ rows: Int) -> ColumnAccumulator {
        var head = ColumnAccumulator(field: field)
        head.valid = Array(valid.prefix(rows))
        valid.removeFirst(rows)
        switch field.type {
        case .bool, .int64, .timestamp, .float64:
            head.ints = Array(ints.prefix(rows))
            ints.removeFirst(rows)
        case .string, .binary:
            let cut = Int(offsets[rows])
            head.offsets = Array(offsets.prefix(rows + 1))
            head.bytes = Array(bytes.prefix(cut))
            bytes.removeFirst(cut)
            offsets = offsets.dropFirst(rows).map { $0 - Int32(cut) }
        case .float32Vector:
            let n = rows * (field.vectorDimension ?? 0)
            head.floats = Array(floats.prefix(n))
            floats.removeFirst(n)
        }
        return head
    }

    func scalar(_ row: Int) -> ScalarValue {
        guard valid[row] else { return .null }
        switch field.type {
        case .bool: return .bool(ints[row] != 0)
        case .int64: return .int64(ints[row])
        case .timestamp: return .timestamp(ints[row])
        case .float64: return .float64(Double(bitPattern: UInt64(bitPattern: ints[row])))
        case .string: return .string(String(decoding: bytes[Int(offsets[row])..<Int(offsets[row + 1])], as: UTF8.self))
        case .binary: return .binary(Array(bytes[Int(offsets[row])..<Int(offsets[row + 1])]))
        case .float32Vector: return .null
        }
    }
}

final class TLMWriter: ExtentWriter {
    let schema: Schema
    let options: TLMOptions
    private var accumulators: [ColumnAccumulator]
    private var output: [UInt8]
    private var blocks: [BlockInfo] = []
    /// Per block, per column: the indexes written to the index region at `finish`.
    private var pendingIndexes: [[PendingIndexes]] = []
    private var rowsWritten: UInt64 = 0
    private var finished = false

    init(schema: Schema, options: TLMOptions) {
        self.schema = schema
        self.options = options
        accumulators = schema.fields.map { ColumnAccumulator(field: $0) }
        var header = BinaryWriter()
        header.raw(TLM.magic)
        header.u16(TLM.version)
        header.u16(0)
        output = header.bytes
    }

    func append(_ batch: ColumnBatch) throws(FormatError) {
        guard !finished else { throw .writerFinished }
        for name in batch.names where schema.index(of: name) == nil {
            throw .schemaMismatch("column '\(name)' is not in the extent's schema")
        }
        for index in accumulators.indices {
            try accumulators[index].append(batch.column(named: schema.fields[index].name), rows: batch.rowCount)
        }
        while (accumulators.first?.count ?? 0) >= options.blockRows {
            try flushBlock(rows: options.blockRows)
        }
    }

    func finish() throws(FormatError) -> FinishedExtent {
        guard !finished else { throw .writerFinished }
        finished = true
        if let remaining = accumulators.first?.count, remaining > 0 { try flushBlock(rows: remaining) }
        writeIndexRegion()
        let footer = TLMFooter(schema: schema, blockRows: UInt32(options.blockRows), blocks: blocks).encode()
        output.append(contentsOf: footer)
        var tail = BinaryWriter()
        tail.u32(CRC32C.checksum(footer))
        tail.u32(UInt32(footer.count))
        tail.u16(TLM.version)
        tail.raw(TLM.magic)
        output.append(contentsOf: tail.bytes)
        return FinishedExtent(bytes: output, manifest: manifest())
    }

    // MARK: - Blocks

    private func flushBlock(rows: Int) throws(FormatError) {
        var chunks: [ChunkInfo] = []
        var pathWords = [UInt64](repeating: 0, count: (schema.fields.count + 63) / 64)
        var pending = [PendingIndexes](repeating: PendingIndexes(), count: accumulators.count)
        for index in accumulators.indices {
            let column = accumulators[index].take(rows)
            let nullCount = column.valid.reduce(0) { $0 + ($1 ? 0 : 1) }
            guard nullCount < rows else {
                chunks.append(ChunkInfo(offset: 0, length: 0, nullCount: UInt32(rows), min: nil, max: nil))
                continue
            }
            pathWords[index / 64] |= 1 << UInt64(index % 64)
            let offset = output.count
            let chunk = try encodeChunk(column, rows: rows)
            output.append(contentsOf: chunk)
            let (minimum, maximum) = Self.minMax(column)
            chunks.append(ChunkInfo(offset: UInt64(offset), length: UInt32(chunk.count), nullCount: UInt32(nullCount),
                                    min: minimum, max: maximum))
            if options.bloom, options.bloomColumns?.contains(column.field.name) ?? true { pending[index].bloom = bloomFilter(column)?.words }
            if options.invertedIndex, column.field.type == .string, options.invertedIndexColumns?.contains(column.field.name) ?? true,
               let index2 = Self.invertedIndex(column) {
                // Terms hashed into their own Bloom filter: a query for a rare term reads these
                // small filters for every block and posting lists only for the blocks that pass.
                var termBloom = SplitBlockBloomFilter(byteCount: SplitBlockBloomFilter.optimalByteCount(
                    distinctValues: index2.terms.count, falsePositiveRate: options.bloomFalsePositiveRate), powerOfTwo: false)
                for term in index2.terms { termBloom.insert(hash: TermBloomKey.hash(term)) }
                pending[index].termBloom = termBloom.words
                pending[index].postingPages = PostingPages.pages(index2)
            }
        }
        blocks.append(BlockInfo(firstRow: rowsWritten, rowCount: UInt32(rows), chunks: chunks, pathWords: pathWords))
        pendingIndexes.append(pending)
        rowsWritten += UInt64(rows)
    }

    private func encodeChunk(_ column: ColumnAccumulator, rows: Int) throws(FormatError) -> [UInt8] {
        var raw = BinaryWriter()
        let hasNulls = column.valid.contains(false)
        if hasNulls {
            var bitmap = ValidityBitmap(allValid: rows)
            for (row, valid) in column.valid.enumerated() where !valid { bitmap.set(row, valid: false) }
            for word in bitmap.words { raw.u64(word) }
        }
        let encoding: EncodingTag
        switch column.field.type {
        case .bool, .int64, .timestamp, .float64:
            let (tag, bytes) = IntegerEncoding.best(column.ints, forced: options.forcedEncoding)
            encoding = tag
            raw.raw(bytes)
        case .string, .binary:
            let (tag, bytes) = ByteArrayEncoding.best(offsets: column.offsets, bytes: column.bytes, forced: options.forcedEncoding)
            encoding = tag
            raw.raw(bytes)
        case .float32Vector:
            encoding = .plain
            for f in column.floats { raw.u32(f.bitPattern) }
        }
        var codec = options.codec
        var stored: [UInt8]
        do {
            stored = try codec.compress(raw.bytes, level: options.level)
        } catch {
            throw .schemaMismatch("compressing column '\(column.field.name)': \(error)")
        }
        if stored.count >= raw.bytes.count {
            codec = .none
            stored = raw.bytes
        }
        var chunk = BinaryWriter()
        chunk.u8(encoding.rawValue)
        chunk.u8(codec.rawValue)
        chunk.u8(hasNulls ? 1 : 0)
        chunk.u8(0)
        chunk.u32(UInt32(rows))
        chunk.u32(UInt32(raw.bytes.count))
        chunk.u32(UInt32(stored.count))
        chunk.raw(stored)
        chunk.u32(CRC32C.checksum(chunk.bytes))
        return chunk.bytes
    }

    // MARK: - Statistics and indexes

    static func minMax(_ column: ColumnAccumulator) -> (ScalarValue?, ScalarValue?) {
        switch column.field.type {
        case .bool, .int64, .timestamp:
            var lo = Int64.max, hi = Int64.min, any = false
            for (row, v) in column.ints.enumerated() where column.valid[row] {
                lo = min(lo, v); hi = max(hi, v); any = true
            }
            guard any else { return (nil, nil) }
            switch column.field.type {
            case .bool: return (.bool(lo != 0), .bool(hi != 0))
            case .timestamp: return (.timestamp(lo), .timestamp(hi))
            default: return (.int64(lo), .int64(hi))
            }
        case .float64:
            var lo = Double.infinity, hi = -Double.infinity, any = false
            for (row, bits) in column.ints.enumerated() where column.valid[row] {
                let v = Double(bitPattern: UInt64(bitPattern: bits))
                if v.isNaN { continue }  // NaN matches no comparison, so it needs no bound
                lo = min(lo, v); hi = max(hi, v); any = true
            }
            return any ? (.float64(lo), .float64(hi)) : (nil, nil)
        case .string, .binary:
            var lo: ArraySlice<UInt8>? = nil, hi: ArraySlice<UInt8>? = nil
            for row in 0..<column.count where column.valid[row] {
                let v = column.bytes[Int(column.offsets[row])..<Int(column.offsets[row + 1])]
                if lo.map({ v.lexicographicallyPrecedes($0) }) ?? true { lo = v }
                if hi.map({ $0.lexicographicallyPrecedes(v) }) ?? true { hi = v }
            }
            guard let lo, let hi else { return (nil, nil) }
            let (low, high): (ScalarValue, ScalarValue) = column.field.type == .binary
                ? (.binary(Array(lo)), .binary(Array(hi)))
                : (.string(String(decoding: lo, as: UTF8.self)), .string(String(decoding: hi, as: UTF8.self)))
            // Long values (or NULs) are kept as bounds; with no short upper bound the chunk
            // has no statistics (readers then keep it: unknown, not empty).
            guard let upper = StatisticBounds.upper(high) else { return (nil, nil) }
            return (StatisticBounds.lower(low), upper)
        case .float32Vector:
            return (nil, nil)
        }
    }

    private func bloomFilter(_ column: ColumnAccumulator) -> SplitBlockBloomFilter? {
        // Distinct values first (one fast intern per row), then one XXH64 per distinct value.
        var distinct = ByteStringTable()
        var hashes: [UInt64] = []
        switch column.field.type {
        case .int64, .timestamp, .float64:
            let float = column.field.type == .float64
            for (row, v) in column.ints.enumerated() where column.valid[row] {
                let (_, inserted) = withUnsafeBytes(of: v) { distinct.intern($0.assumingMemoryBound(to: UInt8.self)) }
                if inserted { hashes.append(BloomKey.hash(float ? .float64(Double(bitPattern: UInt64(bitPattern: v))) : .int64(v))) }
            }
        case .string, .binary:
            column.bytes.withUnsafeBufferPointer { bytes in
                for row in 0..<column.count where column.valid[row] {
                    let value = UnsafeBufferPointer(rebasing: bytes[Int(column.offsets[row])..<Int(column.offsets[row + 1])])
                    if distinct.intern(value).inserted { hashes.append(XXHash64.hash(UnsafeRawBufferPointer(value))) }
                }
            }
        case .bool, .float32Vector:
            return nil
        }
        var filter = SplitBlockBloomFilter(byteCount: SplitBlockBloomFilter.optimalByteCount(
            distinctValues: hashes.count, falsePositiveRate: options.bloomFalsePositiveRate), powerOfTwo: false)
        for hash in hashes { filter.insert(hash: hash) }
        return filter
    }

    /// The index region: for each column, the value Bloom filters of every block, then the term
    /// Bloom filters, then the posting lists, each group contiguous so a reader fetches what one
    /// column needs for a run of blocks with one ranged GET.
    private func writeIndexRegion() {
        func words(_ words: [UInt32]) -> [UInt8] {
            var w = BinaryWriter()
            for word in words { w.u32(word) }
            return w.bytes
        }
        for column in accumulators.indices {
            for kind in 0..<2 {
                for block in blocks.indices {
                    let pending = pendingIndexes[block][column]
                    guard let filter = kind == 0 ? pending.bloom : pending.termBloom else { continue }
                    // Value filters in checksummed pages (a needle probes one page); term filters whole.
                    let bytes = kind == 0 ? PagedBloom.encode(filter) : words(filter)
                    let span = ByteSpan(offset: UInt64(output.count), length: UInt32(bytes.count), checksum: CRC32C.checksum(bytes))
                    output.append(contentsOf: bytes)
                    if kind == 0 { blocks[block].chunks[column].bloom = span } else { blocks[block].chunks[column].termBloom = span }
                }
            }
            // Every block's posting pages, then every block's directory: the directories of a
            // run of blocks are contiguous, so one ranged GET fetches them.
            var directories: [(block: Int, bytes: [UInt8])] = []
            for block in blocks.indices {
                guard let pages = pendingIndexes[block][column].postingPages else { continue }
                var located: [PostingPages.Page] = []
                for page in pages {
                    located.append(PostingPages.Page(firstTerm: page.firstTerm, span: ByteSpan(
                        offset: UInt64(output.count), length: UInt32(page.bytes.count), checksum: CRC32C.checksum(page.bytes))))
                    output.append(contentsOf: page.bytes)
                }
                directories.append((block, PostingPages.encodeDirectory(located)))
            }
            for (block, bytes) in directories {
                blocks[block].chunks[column].postings = ByteSpan(offset: UInt64(output.count), length: UInt32(bytes.count), checksum: CRC32C.checksum(bytes))
                output.append(contentsOf: bytes)
            }
        }
        pendingIndexes = []
    }

    /// The block's inverted index, or nil when terms are nearly as many as rows (identifiers:
    /// Bloom filters on the values serve them, and an index would be as large as the data).
    static func invertedIndex(_ column: ColumnAccumulator) -> InvertedIndex? {
        var terms = ByteStringTable()
        var postings: [[UInt32]] = []
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: Tokenizer.maxIndexedTermBytes)
        defer { scratch.deallocate() }
        column.bytes.withUnsafeBufferPointer { bytes in
            for row in 0..<column.count where column.valid[row] {
                let text = UnsafeBufferPointer(rebasing: bytes[Int(column.offsets[row])..<Int(column.offsets[row + 1])])
                Tokenizer.forEachIndexedTerm(text, scratch: scratch) { term in
                    let (id, inserted) = terms.intern(term)
                    if inserted { postings.append([]) }
                    if postings[Int(id)].last != UInt32(row) { postings[Int(id)].append(UInt32(row)) }
                }
            }
        }
        let rowsWithValues = column.valid.reduce(0) { $0 + ($1 ? 1 : 0) }
        if postings.isEmpty || (rowsWithValues >= 64 && postings.count * 2 > rowsWithValues) { return nil }
        let order = (0..<terms.count).sorted { terms.string($0).lexicographicallyPrecedes(terms.string($1)) }
        return InvertedIndex(terms: order.map { Array(terms.string($0)) }, postings: order.map { postings[$0] })
    }

    // MARK: - Manifest

    private func manifest() -> ExtentManifest {
        var summaries: [String: ColumnSummary] = [:]
        var present: [String] = []
        for (index, field) in schema.fields.enumerated() {
            var summary = ColumnSummary(type: field.type, min: nil, max: nil, nullCount: 0)
            var unbounded = false  // a chunk with values but no statistics leaves the extent's unknown
            for block in blocks {
                let chunk = block.chunks[index]
                summary.nullCount += Int(chunk.nullCount)
                if (field.type == .string || field.type == .binary) && chunk.nullCount < block.rowCount && chunk.max == nil {
                    unbounded = true
                }
                if let lo = chunk.min, summary.min.map({ ScalarOrder.compare(lo, $0) ?? 0 < 0 }) ?? true { summary.min = lo }
                if let hi = chunk.max, summary.max.map({ ScalarOrder.compare(hi, $0) ?? 0 > 0 }) ?? true { summary.max = hi }
            }
            if unbounded { summary.min = nil; summary.max = nil }
            summaries[field.name] = summary
            if blocks.contains(where: { $0.hasValues(column: index) }) { present.append(field.name) }
        }
        var timeRange: TimeRange? = nil
        if case .timestamp(let lo)? = summaries[options.timeColumn]?.min, case .timestamp(let hi)? = summaries[options.timeColumn]?.max {
            timeRange = TimeRange(lowerNanos: lo, upperNanos: hi)
        }
        return ExtentManifest(formatName: TLMFormat.name, formatVersion: Int(TLM.version), rowCount: Int(rowsWritten),
                              byteSize: output.count, timeRange: timeRange, columns: summaries, presentPaths: present)
    }
}

/// What a block's column keeps for the index region until the extent is finished.
struct PendingIndexes {
    var bloom: [UInt32]?
    var termBloom: [UInt32]?
    /// Encoded posting pages with their first terms (version 4: the span locates their directory).
    var postingPages: [(firstTerm: [UInt8], bytes: [UInt8])]?
}

/// Terms (lowercased) hash with their own seed, so term and value filters never share keys.
enum TermBloomKey {
    static func hash(_ term: [UInt8]) -> UInt64 { XXHash64.hash(term, seed: 0x7465_726D) }
}

/// The bytes Bloom filters hash for a value: its plain encoding, as Parquet does (int64 and
/// float64 as 8 little-endian bytes, -0.0 folded into 0.0 so equal floats hash equally).
enum BloomKey {
    static func hash(_ value: ScalarValue) -> UInt64 {
        var w = BinaryWriter()
        switch value {
        case .int64(let v), .timestamp(let v): w.i64(v)
        case .float64(let v): w.f64(v == 0 ? 0 : v)
        case .string(let v): w.raw(Array(v.utf8))
        case .binary(let v): w.raw(v)
        case .bool(let v): w.u8(v ? 1 : 0)
        case .null: break
        }
        return XXHash64.hash(w.bytes)
    }
}
