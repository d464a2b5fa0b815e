// Loading the inverted index for `has`: version 2 and 3 extents keep a block's whole index in
// one span; version 4 keeps a directory of pages there, and only the pages that can hold the
// query's terms are fetched (PostingPages).

import KymaCore
import KymaFormat

extension TLMReader {
    /// The terms `has` looks up per column index, as stored (ASCII lowercased); terms too long to
    /// be indexed are left out (their blocks are kept without the index). Not under `not`.
    func indexedTerms(_ predicate: BlockPredicate) -> [Int: [[UInt8]]] {
        var result: [Int: [[UInt8]]] = [:]
        func walk(_ p: BlockPredicate) {
            switch p {
            case .and(let parts), .or(let parts): parts.forEach(walk)
            case .hasTerm(let column, let term):
                let stored = Array(term.utf8).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
                if let index = schema.index(of: column), stored.count <= Tokenizer.maxIndexedTermBytes { result[index, default: []].append(stored) }
            default: break
            }
        }
        walk(predicate)
        return result
    }

    /// Puts into `loaded` the inverted index of `column` for each of `blocks` that has one: whole
    /// for versions 2 and 3; for version 4, only the pages holding `terms` (an index missing a
    /// term then still proves the block lacks it, since the page that would hold it was read).
    func loadPostings(column: Int, blocks: [Int], terms: [[UInt8]], into loaded: inout LoadedIndexes) async throws(FormatError) {
        let spans = try await fetch(column: column, blocks: blocks, \.postings)
        guard version >= 4 else {
            for (block, bytes) in spans {
                var reader = BinaryReader(bytes, baseOffset: Int(footer.blocks[block].chunks[column].postings.offset), key: key.rawValue)
                loaded.postings[BlockColumn(block: block, column: column)] = try TLMFooter.decodePostings(&reader, rowCount: footer.blocks[block].rowCount)
            }
            return
        }
        // Which pages each block needs: one per looked-up term the block's directory can hold.
        var wanted: [(block: Int, entry: Int, page: PostingPages.Page, next: [UInt8]?)] = []
        for (block, bytes) in spans {
            let span = footer.blocks[block].chunks[column].postings
            var reader = BinaryReader(bytes, baseOffset: Int(span.offset), key: key.rawValue)
            let pages = try PostingPages.decodeDirectory(&reader, dataEnd: Int(span.offset))  // pages precede their directory
            for entry in Set(terms.compactMap { PostingPages.page(for: $0, in: pages) }).sorted() {
                wanted.append((block, entry, pages[entry], entry + 1 < pages.count ? pages[entry + 1].firstTerm : nil))
            }
            loaded.postings[BlockColumn(block: block, column: column)] = InvertedIndex(terms: [], postings: [])
        }
        for (tag, bytes) in try await fetch(spans: wanted.enumerated().map { ($0.offset, $0.element.page.span) }, column: column) {
            let (block, _, page, next) = wanted[tag]
            var reader = BinaryReader(bytes, baseOffset: Int(page.span.offset), key: key.rawValue)
            let index = try TLMFooter.decodePostings(&reader, rowCount: footer.blocks[block].rowCount)
            guard index.terms.first == page.firstTerm, next == nil || index.terms.last!.lexicographicallyPrecedes(next!) else {
                throw .corrupt(key: key.rawValue, offset: Int(page.span.offset), reason: "posting page does not hold the terms its directory says")
            }
            loaded.postings[BlockColumn(block: block, column: column), default: InvertedIndex(terms: [], postings: [])].merge(index)
        }
    }
}

extension InvertedIndex {
    /// Adds the terms of a page (disjoint from the ones held), keeping terms sorted.
    mutating func merge(_ page: InvertedIndex) {
        var merged = zip(terms, postings).map { ($0, $1) } + zip(page.terms, page.postings).map { ($0, $1) }
        merged.sort { $0.0.lexicographicallyPrecedes($1.0) }
        terms = merged.map(\.0)
        postings = merged.map(\.1)
    }
}
