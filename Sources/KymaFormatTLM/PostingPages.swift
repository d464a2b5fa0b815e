// Paged posting lists (TLM version 4). A block's inverted index of one column is cut into pages
// of consecutive terms (about `targetPageBytes` each), and the footer's postings span locates a
// small directory of the pages instead of the whole index: a `has` query fetches the directory,
// then only the page that can hold its term. On 65,536 rows of generated log text the whole
// index was ~400 KB a block; a directory is ~3 KB and a page ~4 KB.
//
//   directory: u32 P | P x { u32 length, first term | u64 page offset | u32 page length | u32 page CRC-32C }
//   page:      u32 T | T x { u32 length, term | u32 postings N | u32 first row | packed(N-1) gaps }
//              (a page is laid out as a whole version-3 index of its terms)

import KymaFormat

enum PostingPages {
    /// A page is closed once its encoded terms reach this size (a single term's postings may exceed it).
    static let targetPageBytes = 4_096

    struct Page: Hashable {
        var firstTerm: [UInt8]
        var span: ByteSpan
    }

    /// Cuts `index` into encoded pages (each a version-3 index of its terms).
    static func pages(_ index: InvertedIndex) -> [(firstTerm: [UInt8], bytes: [UInt8])] {
        var result: [(firstTerm: [UInt8], bytes: [UInt8])] = []
        var start = 0
        var size = 0
        func close(_ end: Int) {
            guard end > start else { return }
            let part = InvertedIndex(terms: Array(index.terms[start..<end]), postings: Array(index.postings[start..<end]))
            result.append((index.terms[start], TLMFooter.encodePostings(part)))
            start = end
            size = 0
        }
        for (i, term) in index.terms.enumerated() {
            // Term bytes + counts + ~1 byte per posting: an estimate that only decides the cut.
            size += term.count + 13 + index.postings[i].count
            if size >= targetPageBytes { close(i + 1) }
        }
        close(index.terms.count)
        return result
    }

    static func encodeDirectory(_ pages: [Page]) -> [UInt8] {
        var w = BinaryWriter()
        w.u32(UInt32(pages.count))
        for page in pages {
            w.blob(page.firstTerm)
            w.u64(page.span.offset)
            w.u32(page.span.length)
            w.u32(page.span.checksum)
        }
        return w.bytes
    }

    /// Parses a directory; pages must have strictly ascending first terms and lie in
    /// `[headerSize, dataEnd)`.
    static func decodeDirectory(_ r: inout BinaryReader, dataEnd: Int) throws(FormatError) -> [Page] {
        let count = try r.count("posting page count", limit: r.remaining / 20)
        var pages: [Page] = []
        for _ in 0..<count {
            let first = try r.blob("page first term")
            if let previous = pages.last?.firstTerm, !previous.lexicographicallyPrecedes(first) { throw r.corrupt("posting pages are not sorted") }
            let offset = try r.u64("page offset")
            let length = try r.u32("page length")
            let checksum = try r.u32("page checksum")
            guard length > 0, offset >= UInt64(TLM.headerSize), offset <= UInt64(dataEnd), UInt64(length) <= UInt64(dataEnd) - offset else {
                throw r.corrupt("posting page at \(offset)+\(length) lies outside the index region")
            }
            pages.append(Page(firstTerm: first, span: ByteSpan(offset: offset, length: length, checksum: checksum)))
        }
        guard r.isAtEnd else { throw r.corrupt("\(r.remaining) unexpected bytes after the posting directory") }
        return pages
    }

    /// The page that holds `term` if the block has it: the last page whose first term is <= it.
    static func page(for term: [UInt8], in pages: [Page]) -> Int? {
        var low = 0, high = pages.count
        while low < high {
            let mid = (low + high) / 2
            if term.lexicographicallyPrecedes(pages[mid].firstTerm) { high = mid } else { low = mid + 1 }
        }
        return low == 0 ? nil : low - 1
    }
}
