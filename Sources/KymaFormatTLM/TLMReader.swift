// Reads a TLM extent: block pruning from the footer's indexes, then ranged reads and decoding
// of only the requested columns of the kept blocks.

import KymaCompression
import KymaCore
import KymaFormat
import KymaIndex
import KymaKernels
import KymaObjectStore
import Synchronization

struct TLMReader: ExtentReader {
    let store: any ObjectStore
    let key: ObjectKey
    let footer: TLMFooter
    /// The version in the tail; the header must say the same.
    let version: UInt16
    /// Where the footer starts: the index region ends here.
    let footerStart: Int
    let footerBytesFetched: Int
    /// Bloom filters parsed by earlier pruning calls: the reader lives in the process's footer
    /// cache, so a warm node fetches and parses an extent's filters once.
    let parsedFilters = ParsedFilters()

    var schema: Schema { footer.schema }
    var rowCount: Int { footer.blocks.reduce(0) { $0 + Int($1.rowCount) } }
    var blockCount: Int { footer.blocks.count }
    /// The index region: from the end of the last chunk to the footer.
    var indexBytes: Int {
        let dataEnd = footer.blocks.lazy.flatMap(\.chunks).map { Int($0.offset) + Int($0.length) }.max() ?? TLM.headerSize
        return footerStart - max(dataEnd, TLM.headerSize)
    }

    // MARK: - Pruning

    /// Which indexes an evaluation may use; pruning runs the predicate once per level so the
    /// stats say what each level added.
    struct Levels: OptionSet {
        let rawValue: Int
        static let stats = Levels(rawValue: 1)
        static let bloom = Levels(rawValue: 2)
        static let paths = Levels(rawValue: 4)
        static let invertedIndex = Levels(rawValue: 8)
    }

    /// A block verdict: whether it may match, and optionally the only rows that may.
    struct Verdict {
        var mayMatch: Bool
        var rows: [UInt32]?

        static let keep = Verdict(mayMatch: true, rows: nil)
        static let drop = Verdict(mayMatch: false, rows: nil)
    }

    /// Indexes fetched from the index region for one pruning call, by (block, column).
    struct LoadedIndexes {
        var blooms: [BlockColumn: SplitBlockBloomFilter] = [:]
        var termBlooms: [BlockColumn: SplitBlockBloomFilter] = [:]
        var postings: [BlockColumn: InvertedIndex] = [:]
    }

    struct BlockColumn: Hashable {
        var block: Int
        var column: Int
    }

    func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats) {
        var stats = PruningStats(blocksTotal: footer.blocks.count)
        var loaded = LoadedIndexes()
        let afterStats = footer.blocks.indices.filter { evaluate(predicate, $0, [.stats], loaded).mayMatch }
        stats.keptByStats = afterStats.count
        // Only the filters the predicate can use, only for the blocks still in play.
        let (equalityColumns, termColumns) = indexColumns(predicate)
        let constants = equalityConstants(predicate)
        for column in equalityColumns {
            // A few values: probe only the filter pages they fall in (version 4); else whole filters.
            if version >= 4, let values = constants[column], values.count <= 4 {
                loaded.blooms.merge(try await probedFilters(column: column, blocks: afterStats, constants: values)) { a, _ in a }
            } else {
                loaded.blooms.merge(try await filters(column: column, blocks: afterStats, terms: false)) { a, _ in a }
            }
        }
        for column in termColumns {
            loaded.termBlooms.merge(try await filters(column: column, blocks: afterStats, terms: true)) { a, _ in a }
        }
        let afterBloom = afterStats.filter { evaluate(predicate, $0, [.stats, .bloom], loaded).mayMatch }
        stats.keptByBloom = afterBloom.count
        let afterPaths = afterBloom.filter { evaluate(predicate, $0, [.stats, .bloom, .paths], loaded).mayMatch }
        stats.keptByPathBitmap = afterPaths.count
        let terms = indexedTerms(predicate)
        for column in termColumns {
            try await loadPostings(column: column, blocks: afterPaths, terms: terms[column] ?? [], into: &loaded)
        }
        var selection = BlockSelection(blocks: [])
        for block in afterPaths {
            let verdict = evaluate(predicate, block, [.stats, .bloom, .paths, .invertedIndex], loaded)
            guard verdict.mayMatch else { continue }
            stats.keptByInvertedIndex += 1
            selection.blocks.append(block)
            if let rows = verdict.rows { selection.rowSelections[block] = rows }
        }
        return (selection, stats)
    }

    /// Columns whose value Bloom filters (equality) and term filters and postings (`has`) the
    /// predicate can use. Under `not` nothing can be used to drop a block.
    func indexColumns(_ predicate: BlockPredicate) -> (equality: [Int], terms: [Int]) {
        var equality = Set<Int>(), terms = Set<Int>()
        func walk(_ p: BlockPredicate) {
            switch p {
            case .and(let parts), .or(let parts): parts.forEach(walk)
            case .compare(let column, .equal, _), .inSet(let column, _):
                if let index = schema.index(of: column) { equality.insert(index) }
            case .hasTerm(let column, _):
                if let index = schema.index(of: column) { terms.insert(index) }
            default: break
            }
        }
        walk(predicate)
        return (equality.sorted(), terms.sorted())
    }

    /// Fetches the spans of `column` for `blocks`, coalescing neighbours (the region groups a
    /// column's spans by block) into one ranged GET per run.
    func fetch(column: Int, blocks: [Int], _ span: KeyPath<ChunkInfo, ByteSpan>) async throws(FormatError) -> [(Int, [UInt8])] {
        try await fetch(spans: blocks.map { ($0, footer.blocks[$0].chunks[column][keyPath: span]) }, column: column)
    }

    /// Fetches `(tag, span)` pairs (the tag is the caller's: a block, a page), spans no more than
    /// 16 KiB apart in one ranged GET, and checks each span's CRC unless `verify` is false (the
    /// caller checks pages that carry their own). Absent spans are skipped.
    func fetch(spans: [(Int, ByteSpan)], column: Int, verify: Bool = true) async throws(FormatError) -> [(Int, [UInt8])] {
        let wanted = spans.filter { $0.1.isPresent }.sorted { $0.1.offset < $1.1.offset }
        var result: [(Int, [UInt8])] = []
        var index = 0
        while index < wanted.count {
            var end = index
            while end + 1 < wanted.count,
                  wanted[end + 1].1.offset <= wanted[end].1.offset + UInt64(wanted[end].1.length) + 16_384 { end += 1 }
            let start = wanted[index].1.offset
            let stop = wanted[index...end].map { $0.1.offset + UInt64($0.1.length) }.max() ?? start
            let bytes: [UInt8]
            do {
                bytes = try await store.get(key, range: .bounded(offset: Int(start), length: Int(stop - start)))
            } catch {
                throw .store(error)
            }
            guard bytes.count == Int(stop - start) else {
                throw .corrupt(key: key.rawValue, offset: Int(start), reason: "index read returned \(bytes.count) of \(stop - start) bytes")
            }
            for (tag, s) in wanted[index...end] {
                let from = Int(s.offset - start)
                let piece = Array(bytes[from..<from + Int(s.length)])
                guard !verify || CRC32C.checksum(piece) == s.checksum else {
                    throw .corrupt(key: key.rawValue, offset: Int(s.offset), reason: "index checksum mismatch (column \(column))")
                }
                result.append((tag, piece))
            }
            index = end + 1
        }
        return result
    }

    /// The value (or term) Bloom filters of `column` for `blocks`: parsed ones from the cache,
    /// the rest fetched, checked, parsed and cached.
    func filters(column: Int, blocks: [Int], terms: Bool) async throws(FormatError) -> [BlockColumn: SplitBlockBloomFilter] {
        var result: [BlockColumn: SplitBlockBloomFilter] = [:]
        var missing: [Int] = []
        parsedFilters.state.withLock { cached in
            for block in blocks {
                if let filter = cached[ParsedFilters.Key(block: block, column: column, terms: terms)] {
                    result[BlockColumn(block: block, column: column)] = filter
                } else {
                    missing.append(block)
                }
            }
        }
        guard !missing.isEmpty else { return result }
        var parsed: [(Int, SplitBlockBloomFilter)] = []
        for (block, bytes) in try await fetch(column: column, blocks: missing, terms ? \.termBloom : \.bloom) {
            parsed.append((block, try bloom(bytes, block: block, column: column, terms: terms)))
        }
        parsedFilters.state.withLock { cached in
            for (block, filter) in parsed { cached[ParsedFilters.Key(block: block, column: column, terms: terms)] = filter }
        }
        for (block, filter) in parsed { result[BlockColumn(block: block, column: column)] = filter }
        return result
    }

    func bloom(_ bytes: [UInt8], block: Int, column: Int, terms: Bool) throws(FormatError) -> SplitBlockBloomFilter {
        let words: [UInt32]
        if !terms, version >= 4, let layout = PagedBloom.layout(length: bytes.count) {
            words = PagedBloom.words(bytes, blocks: layout.blocks)
        } else {
            words = bytes.withUnsafeBytes { raw in
                (0..<raw.count / 4).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            }
        }
        guard let filter = SplitBlockBloomFilter(words: words) else {
            throw .corrupt(key: key.rawValue, offset: Int(footer.blocks[block].chunks[column].bloom.offset), reason: "bloom filter of \(words.count) words")
        }
        return filter
    }

    func evaluate(_ predicate: BlockPredicate, _ b: Int, _ levels: Levels, _ loaded: LoadedIndexes) -> Verdict {
        let block = footer.blocks[b]
        switch predicate {
        case .alwaysTrue:
            return .keep
        case .and(let parts):
            var rows: [UInt32]? = nil
            for part in parts {
                let verdict = evaluate(part, b, levels, loaded)
                guard verdict.mayMatch else { return .drop }
                if let partRows = verdict.rows { rows = rows.map { Self.intersect($0, partRows) } ?? partRows }
            }
            if let rows, rows.isEmpty { return .drop }
            return Verdict(mayMatch: true, rows: rows)
        case .or(let parts):
            var rows: [UInt32]? = []
            var any = false
            for part in parts {
                let verdict = evaluate(part, b, levels, loaded)
                guard verdict.mayMatch else { continue }
                any = true
                if let partRows = verdict.rows, let current = rows { rows = Self.union(current, partRows) } else { rows = nil }
            }
            return any ? Verdict(mayMatch: true, rows: rows) : .drop
        case .not:
            return .keep  // a block where the inner predicate may be true may also hold rows where it is false
        case .timeRange(let column, let range):
            return compareRange(column, block, levels, lower: .timestamp(range.lowerNanos), upper: .timestamp(range.upperNanos))
        case .compare(let column, let op, let constant):
            guard let (index, chunk) = chunk(column, block) else { return .drop }
            if let verdict = presence(index, chunk, block, levels) { return verdict }
            if levels.contains(.stats), let lo = chunk.min, let hi = chunk.max,
               StatisticsBounds.mayMatch(op, lower: lo, upper: hi, constant: constant) == false { return .drop }
            if op == .equal, levels.contains(.bloom), let bloom = loaded.blooms[BlockColumn(block: b, column: index)],
               !bloomMayContain(constant, index, bloom) { return .drop }
            return .keep
        case .inSet(let column, let values):
            let verdicts = values.map { evaluate(.compare(column: column, .equal, $0), b, levels, loaded) }
            return verdicts.contains { $0.mayMatch } ? .keep : .drop
        case .hasTerm(let column, let term):
            guard let (index, chunk) = chunk(column, block), schema.fields[index].type == .string else { return .drop }
            if let verdict = presence(index, chunk, block, levels) { return verdict }
            // Terms are stored with ASCII letters lowercased (Tokenizer); other bytes as they are.
            let wanted = Array(term.utf8).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            if wanted.count > Tokenizer.maxIndexedTermBytes { return .keep }  // not indexed (version 3)
            let key = BlockColumn(block: b, column: index)
            if levels.contains(.bloom), let termBloom = loaded.termBlooms[key], !termBloom.mightContain(hash: TermBloomKey.hash(wanted)) { return .drop }
            guard levels.contains(.invertedIndex), let inverted = loaded.postings[key] else { return .keep }
            guard let rows = inverted.rows(for: wanted) else { return .drop }
            return Verdict(mayMatch: true, rows: rows)
        case .prefix(let column, let prefix):
            guard let (index, chunk) = chunk(column, block), schema.fields[index].type == .string else { return .drop }
            if let verdict = presence(index, chunk, block, levels) { return verdict }
            if levels.contains(.stats), case .string(let lo)? = chunk.min, case .string(let hi)? = chunk.max,
               !StatisticsBounds.prefixMayMatch(lower: lo, upper: hi, prefix: prefix) { return .drop }
            return .keep
        case .pathExists(let column):
            guard let (index, chunk) = chunk(column, block) else { return .drop }
            return presence(index, chunk, block, levels) ?? .keep
        }
    }

    private func chunk(_ column: String, _ block: BlockInfo) -> (Int, ChunkInfo)? {
        guard let index = schema.index(of: column) else { return nil }
        return (index, block.chunks[index])
    }

    /// Drops a block whose column holds no value: by the path bitmap, or by the null count.
    private func presence(_ index: Int, _ chunk: ChunkInfo, _ block: BlockInfo, _ levels: Levels) -> Verdict? {
        if levels.contains(.paths), !block.hasValues(column: index) { return .drop }
        if levels.contains(.stats), chunk.nullCount == block.rowCount { return .drop }
        return nil
    }

    private func compareRange(_ column: String, _ block: BlockInfo, _ levels: Levels, lower: ScalarValue, upper: ScalarValue) -> Verdict {
        guard let (index, chunk) = chunk(column, block), schema.fields[index].type == .timestamp else { return .drop }
        if let verdict = presence(index, chunk, block, levels) { return verdict }
        if levels.contains(.stats), let lo = chunk.min, let hi = chunk.max,
           let a = ScalarOrder.compare(hi, lower), let b = ScalarOrder.compare(lo, upper), a < 0 || b > 0 {
            return .drop
        }
        return .keep
    }

    /// The Bloom filter answers only for a constant exactly representable in the column's type.
    private func bloomMayContain(_ constant: ScalarValue, _ index: Int, _ bloom: SplitBlockBloomFilter) -> Bool {
        switch bloomProbe(constant, index) {
        case .never: false
        case .always: true
        case .hash(let hash): bloom.mightContain(hash: hash)
        }
    }

    static func intersect(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i] == b[j] { result.append(a[i]); i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
        }
        return result
    }

    static func union(_ a: [UInt32], _ b: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && a[i] < b[j]) { result.append(a[i]); i += 1 }
            else if i >= a.count || b[j] < a[i] { result.append(b[j]); j += 1 }
            else { result.append(a[i]); i += 1; j += 1 }
        }
        return result
    }

    // MARK: - Reading

    func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch] {
        let wanted = try (columns ?? schema.fields.map(\.name)).map { (name) throws(FormatError) -> Int in
            guard let index = schema.index(of: name) else { throw .schemaMismatch("column '\(name)' is not in extent '\(key)'") }
            return index
        }
        var batches: [ColumnBatch] = []
        for blockIndex in blocks.blocks {
            guard footer.blocks.indices.contains(blockIndex) else { throw .schemaMismatch("block \(blockIndex) does not exist in '\(key)'") }
            let block = footer.blocks[blockIndex]
            // One ranged GET covering the requested chunks of this block.
            let present = wanted.map { block.chunks[$0] }.filter { $0.length > 0 }
            var span: [UInt8] = []
            var spanStart = 0
            if let first = present.map(\.offset).min(), let end = present.map({ $0.offset + UInt64($0.length) }).max() {
                // The object's first chunk follows the header: fetch those 8 bytes with it and
                // check them (opening a large extent reads only its end).
                let withHeader = Int(first) == TLM.headerSize
                spanStart = withHeader ? 0 : Int(first)
                let length = Int(end) - spanStart
                do { span = try await store.get(key, range: .bounded(offset: spanStart, length: length)) } catch { throw .store(error) }
                guard span.count == length else { throw .corrupt(key: key.rawValue, offset: spanStart, reason: "short read") }
                if withHeader { try TLM.checkHeader(span.prefix(TLM.headerSize), tailVersion: version, key: key.rawValue) }
            }
            let rows = rowSelections?[blockIndex] ?? blocks.rowSelections[blockIndex]
            var batch = ColumnBatch(rowCount: rows?.count ?? Int(block.rowCount))
            for index in wanted {
                let chunk = block.chunks[index]
                var column: Column
                if chunk.length == 0 {
                    column = Self.nullColumn(schema.fields[index], rows: Int(block.rowCount))
                } else {
                    let start = Int(chunk.offset) - spanStart
                    column = try decodeChunk(Array(span[start..<start + Int(chunk.length)]), field: schema.fields[index],
                                             rows: Int(block.rowCount), offset: Int(chunk.offset))
                }
                if let rows { column = Self.select(column, rows: rows) }
                do { try batch.add(schema.fields[index].name, column) } catch { throw .schemaMismatch("\(error)") }
            }
            batches.append(batch)
        }
        return batches
    }

    func decodeChunk(_ bytes: [UInt8], field: Field, rows: Int, offset: Int) throws(FormatError) -> Column {
        var r = BinaryReader(bytes, baseOffset: offset, key: key.rawValue)
        guard bytes.count >= TLM.chunkHeaderSize + 4 else { throw r.corrupt("chunk too short") }
        let storedCRC = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8 | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0.dropLast(4))) }) == storedCRC else {
            throw r.corrupt("chunk checksum mismatch")
        }
        guard let encoding = EncodingTag(rawValue: try r.u8("encoding")) else { throw r.corrupt("unknown encoding") }
        guard let codec = Codec(rawValue: try r.u8("codec")) else { throw r.corrupt("unknown codec") }
        let flags = try r.u8("flags")
        _ = try r.u8("reserved")
        let chunkRows = Int(try r.u32("rows"))
        guard chunkRows == rows else { throw r.corrupt("chunk has \(chunkRows) rows, its block \(rows)") }
        let rawSize = try r.count("raw size", limit: 1 << 31)
        let storedSize = try r.count("stored size", limit: r.remaining - 4)
        let stored = try r.raw(storedSize, "payload")
        let raw: [UInt8]
        do { raw = try codec.decompress(stored, uncompressedSize: rawSize) } catch {
            throw .corrupt(key: key.rawValue, offset: offset + TLM.chunkHeaderSize, reason: "\(error)")
        }
        var body = BinaryReader(raw, baseOffset: offset + TLM.chunkHeaderSize, key: key.rawValue)
        var validity: ValidityBitmap? = nil
        if flags & 1 == 1 {
            var words: [UInt64] = []
            for _ in 0..<(rows + 63) / 64 { words.append(try body.u64("validity")) }
            validity = ValidityBitmap(words: words, count: rows)
        }
        let values: ColumnValues
        var dictionary: ColumnDictionary?
        switch field.type {
        case .bool, .int64, .timestamp, .float64:
            let ints = try IntegerEncoding.decode(&body, tag: encoding, count: rows)
            switch field.type {
            case .bool: values = .bool(ints.map { $0 != 0 })
            case .int64: values = .int64(ints)
            case .timestamp: values = .timestamp(ints)
            default:
                // The same bits: copied, not converted one by one.
                values = .float64([Double](unsafeUninitializedCapacity: ints.count) { out, initialized in
                    ints.withUnsafeBytes { source in UnsafeMutableRawBufferPointer(out).copyMemory(from: source) }
                    initialized = ints.count
                })
            }
        case .string, .binary:
            let (offsets, data, codes) = try ByteArrayEncoding.decode(&body, tag: encoding, count: rows)
            values = field.type == .string ? .string(offsets: offsets, bytes: data) : .binary(offsets: offsets, bytes: data)
            if field.type == .string, let codes { dictionary = codes }
        case .float32Vector:
            let dimension = field.vectorDimension ?? 0
            var floats: [Float] = []
            floats.reserveCapacity(rows * dimension)
            for _ in 0..<rows * dimension { floats.append(Float(bitPattern: try body.u32("vector value"))) }
            values = .float32Vector(dimension: dimension, values: floats)
        }
        guard body.isAtEnd else { throw body.corrupt("\(body.remaining) bytes left after the values") }
        return Column(values, validity: validity, dictionary: dictionary)
    }

    static func nullColumn(_ field: Field, rows: Int) -> Column {
        let values: ColumnValues
        switch field.type {
        case .bool: values = .bool(Array(repeating: false, count: rows))
        case .int64: values = .int64(Array(repeating: 0, count: rows))
        case .timestamp: values = .timestamp(Array(repeating: 0, count: rows))
        case .float64: values = .float64(Array(repeating: 0, count: rows))
        case .string: values = .string(offsets: Array(repeating: 0, count: rows + 1), bytes: [])
        case .binary: values = .binary(offsets: Array(repeating: 0, count: rows + 1), bytes: [])
        case .float32Vector: values = .float32Vector(dimension: field.vectorDimension ?? 0, values: Array(repeating: 0, count: rows * (field.vectorDimension ?? 0)))
        }
        return Column(values, validity: ValidityBitmap(words: Array(repeating: 0, count: (rows + 63) / 64), count: rows))
    }

    /// The rows `rows` (ascending, in range) of `column`.
    static func select(_ column: Column, rows: [UInt32]) -> Column {
        var validity: ValidityBitmap? = nil
        if let source = column.validity {
            var bitmap = ValidityBitmap(allValid: rows.count)
            for (i, row) in rows.enumerated() where !source.isValid(Int(row)) { bitmap.set(i, valid: false) }
            validity = bitmap
        }
        let values: ColumnValues
        switch column.values {
        case .bool(let v): values = .bool(rows.map { v[Int($0)] })
        case .int64(let v): values = .int64(rows.map { v[Int($0)] })
        case .timestamp(let v): values = .timestamp(rows.map { v[Int($0)] })
        case .float64(let v): values = .float64(rows.map { v[Int($0)] })
        case .string(let o, let b), .binary(let o, let b):
            var offsets: [Int32] = [0]
            var bytes: [UInt8] = []
            for row in rows {
                bytes.append(contentsOf: b[Int(o[Int(row)])..<Int(o[Int(row) + 1])])
                offsets.append(Int32(bytes.count))
            }
            if case .string = column.values { values = .string(offsets: offsets, bytes: bytes) } else { values = .binary(offsets: offsets, bytes: bytes) }
        case .float32Vector(let d, let v): values = .float32Vector(dimension: d, values: rows.flatMap { v[Int($0) * d..<(Int($0) + 1) * d] })
        }
        return Column(values, validity: validity, dictionary: column.dictionary?.gathered(rows))
    }
}

/// An extent's parsed Bloom filters by (block, column, kind). Bounded by the extent's own
/// filters; dropped with its reader.
final class ParsedFilters: Sendable {
    struct Key: Hashable, Sendable {
        var block: Int
        var column: Int
        var terms: Bool
    }

    let state = Mutex<[Key: SplitBlockBloomFilter]>([:])

    /// Value filter pages fetched by probes (version 4), by (block, column, page): their words.
    struct PageKey: Hashable, Sendable {
        var block: Int
        var column: Int
        var page: Int
    }

    let pages = Mutex<[PageKey: [UInt32]]>([:])
}
