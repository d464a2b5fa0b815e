// Value Bloom filters in pages (TLM version 4). A lookup of one value touches one 32-byte block of
// a split-block filter, so a needle need not fetch whole filters: the filter's blocks are stored
// in pages of 128 (4,096 bytes), each followed by its own CRC-32C, and a reader probing a few
// values fetches and checks only the pages their blocks fall in (4,100 bytes instead of ~78 KB
// for a 65,536-row block of distinct values). The span's checksum still covers the whole span,
// for readers that fetch it whole.
//
//   span: page 0 words (128 blocks x 8 u32) | u32 CRC of page 0 | page 1 ... | last page (1-128 blocks) | u32 CRC

import KymaFormat
import KymaKernels

enum PagedBloom {
    static let blocksPerPage = 128
    static let pageBytes = blocksPerPage * 32
    static let stride = pageBytes + 4

    /// Blocks and pages of a span of `length` bytes, or nil when no filter has that length.
    static func layout(length: Int) -> (blocks: Int, pages: Int)? {
        guard length > 4 else { return nil }
        let pages = (length + stride - 1) / stride
        let wordBytes = length - 4 * pages
        guard wordBytes > 0, wordBytes % 32 == 0 else { return nil }
        let blocks = wordBytes / 32
        guard (blocks + blocksPerPage - 1) / blocksPerPage == pages else { return nil }
        return (blocks, pages)
    }

    /// The span bytes of a filter's words.
    static func encode(_ words: [UInt32]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(words.count * 4 + 4 * (words.count / (8 * blocksPerPage) + 1))
        var start = 0
        while start < words.count {
            let end = min(start + 8 * blocksPerPage, words.count)
            let pageStart = out.count
            for word in words[start..<end] { withUnsafeBytes(of: word.littleEndian) { out.append(contentsOf: $0) } }
            let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[pageStart...])) }
            withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
            start = end
        }
        return out
    }

    /// The filter's words from whole span bytes (whose span CRC the caller checked).
    static func words(_ bytes: [UInt8], blocks: Int) -> [UInt32] {
        var words: [UInt32] = []
        words.reserveCapacity(blocks * 8)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            var left = blocks
            while left > 0 {
                let inPage = min(left, blocksPerPage)
                for i in 0..<inPage * 8 { words.append(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))) }
                offset += inPage * 32 + 4
                left -= inPage
            }
        }
        return words
    }

    /// Where page `page` (words and CRC) lies within the span of a filter of `blocks` blocks.
    static func pageRange(_ page: Int, blocks: Int) -> (offset: Int, length: Int) {
        (page * stride, min(blocksPerPage, blocks - page * blocksPerPage) * 32 + 4)
    }

    /// The filter block a hash falls in (the split-block rule, as `SplitBlockBloomFilter`).
    static func block(of hash: UInt64, blocks: Int) -> Int {
        Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(blocks)) >> 32)
    }
}
