// Value Bloom filters probed by page (version 4, PagedBloom): an equality on a few constants
// fetches, per block, only the filter pages their hashes fall in.

import KymaCore
import KymaFormat
import KymaIndex
import KymaKernels

extension TLMReader {
    /// What a value Bloom filter can say about a constant compared with column `index`.
    enum BloomProbe {
        case hash(UInt64)
        /// The constant cannot equal any value of the column (NaN, a fraction against integers).
        case never
        /// The filter cannot answer (other types, integers beyond exact float range).
        case always
    }

    func bloomProbe(_ constant: ScalarValue, _ index: Int) -> BloomProbe {
        let key: ScalarValue
        switch (schema.fields[index].type, constant) {
        case (.int64, .int64(let v)), (.int64, .timestamp(let v)), (.timestamp, .timestamp(let v)), (.timestamp, .int64(let v)): key = .int64(v)
        case (.int64, .float64(let v)):
            guard v.rounded() == v else { return .never }
            guard abs(v) < 9.2e18 else { return .always }
            key = .int64(Int64(v))
        case (.float64, .float64(let v)): key = .float64(v)
        case (.float64, .int64(let v)): key = .float64(Double(v))
        case (.string, .string(let v)): key = .string(v)
        case (.binary, .binary(let v)): key = .binary(v)
        default: return .always
        }
        if case .float64(let v) = key, v.isNaN { return .never }
        return .hash(BloomKey.hash(key))
    }

    /// Constants compared for equality per column index (`==` and `in`), outside `not`.
    func equalityConstants(_ predicate: BlockPredicate) -> [Int: [ScalarValue]] {
        var result: [Int: [ScalarValue]] = [:]
        func walk(_ p: BlockPredicate) {
            switch p {
            case .and(let parts), .or(let parts): parts.forEach(walk)
            case .compare(let column, .equal, let value):
                if let index = schema.index(of: column) { result[index, default: []].append(value) }
            case .inSet(let column, let values):
                if let index = schema.index(of: column) { result[index, default: []].append(contentsOf: values) }
            default: break
            }
        }
        walk(predicate)
        return result
    }

    /// For each of `blocks`, a filter that answers exactly for `constants`: the pages their
    /// hashes fall in are fetched and checked; every other filter block is all ones (may
    /// contain anything), so the filter never drops a block it cannot judge. Whole filters the
    /// reader already parsed are used as they are. Partial filters are not cached.
    func probedFilters(column: Int, blocks: [Int], constants: [ScalarValue]) async throws(FormatError) -> [BlockColumn: SplitBlockBloomFilter] {
        var result: [BlockColumn: SplitBlockBloomFilter] = [:]
        let hashes = constants.compactMap { constant -> UInt64? in
            if case .hash(let hash) = bloomProbe(constant, column) { return hash }
            return nil
        }
        var wanted: [(block: Int, page: Int, blocks: Int, span: ByteSpan)] = []
        var cachedPages: [(block: Int, page: Int, blocks: Int, words: [UInt32])] = []
        parsedFilters.state.withLock { cached in
            for block in blocks {
                if let whole = cached[ParsedFilters.Key(block: block, column: column, terms: false)] {
                    result[BlockColumn(block: block, column: column)] = whole
                    continue
                }
                let span = footer.blocks[block].chunks[column].bloom
                guard span.isPresent, let layout = PagedBloom.layout(length: Int(span.length)) else { continue }
                for page in Set(hashes.map { PagedBloom.block(of: $0, blocks: layout.blocks) / PagedBloom.blocksPerPage }).sorted() {
                    let (offset, length) = PagedBloom.pageRange(page, blocks: layout.blocks)
                    wanted.append((block, page, layout.blocks, ByteSpan(offset: span.offset + UInt64(offset), length: UInt32(length), checksum: 0)))
                }
            }
        }
        // Pages an earlier probe fetched are not fetched again (a warm node reads them once).
        parsedFilters.pages.withLock { pages in
            wanted.removeAll { w in
                guard let words = pages[ParsedFilters.PageKey(block: w.block, column: column, page: w.page)] else { return false }
                cachedPages.append((w.block, w.page, w.blocks, words))
                return true
            }
        }
        var partial: [Int: [UInt32]] = [:]
        func place(_ block: Int, _ page: Int, _ filterBlocks: Int, _ pageWords: [UInt32]) {
            var words = partial[block] ?? [UInt32](repeating: ~0, count: filterBlocks * 8)
            let first = page * PagedBloom.blocksPerPage * 8
            for (i, word) in pageWords.enumerated() { words[first + i] = word }
            partial[block] = words
        }
        for (block, page, filterBlocks, words) in cachedPages { place(block, page, filterBlocks, words) }
        // Page CRCs are inside the pages: fetch without a span checksum, then check each.
        var fetched: [ParsedFilters.PageKey: [UInt32]] = [:]
        for (tag, bytes) in try await fetch(spans: wanted.enumerated().map { ($0.offset, $0.element.span) }, column: column, verify: false) {
            let (block, page, filterBlocks, span) = wanted[tag]
            let body = bytes.count - 4
            let stored = bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: body, as: UInt32.self)) }
            guard bytes.withUnsafeBytes({ CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[..<body])) }) == stored else {
                throw .corrupt(key: key.rawValue, offset: Int(span.offset), reason: "Bloom filter page checksum mismatch (column \(column))")
            }
            let words = bytes.withUnsafeBytes { raw in (0..<body / 4).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
            fetched[ParsedFilters.PageKey(block: block, column: column, page: page)] = words
            place(block, page, filterBlocks, words)
        }
        parsedFilters.pages.withLock { $0.merge(fetched) { a, _ in a } }
        for (block, words) in partial {
            guard let filter = SplitBlockBloomFilter(words: words) else {
                throw .corrupt(key: key.rawValue, offset: Int(footer.blocks[block].chunks[column].bloom.offset), reason: "Bloom filter of \(words.count) words")
            }
            result[BlockColumn(block: block, column: column)] = filter
        }
        return result
    }
}
