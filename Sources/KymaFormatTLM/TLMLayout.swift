// KymaFormatTLM: the native TLM columnar format behind `SegmentFormat`. Blocks of rows, one
// checksummed chunk per column per block (encoding chosen by measured size, then lz4/zstd), and
// a footer with per-block statistics, split-block Bloom filters, path-presence bitmaps and an
// inverted index for text, found from a fixed-size tail. docs/format-tlm.md is the spec.
//
// Byte layout (all integers little-endian):
//
//   +--------------------------------------------------------------+
//   | header: "KTLM" | u16 version (4) | u16 reserved (0)           |  8 bytes
//   +--------------------------------------------------------------+
//   | block 0: chunk(col 0) chunk(col 1) ... (absent columns skip)  |
//   | block 1: ...                                                 |
//   +--------------------------------------------------------------+
//   | index region: Bloom filters, term Bloom filters, posting     |
//   |   pages and their directories (version 4, PostingPages)       |
//   |   (grouped by column; located by the footer)                  |
//   +--------------------------------------------------------------+
//   | footer (see TLMFooter)                                       |
//   +--------------------------------------------------------------+
//   | tail: u32 footer CRC-32C | u32 footer length | u16 version | "KTLM" |  14 bytes
//   +--------------------------------------------------------------+
//
//   chunk:
//   +-------------+----------+---------+----------+--------------+--------------+---------+-----------+
//   | u8 encoding | u8 codec | u8 flags | u8 zero | u32 rows     | u32 raw size | u32 size | payload | u32 CRC-32C (header + payload)
//   +-------------+----------+---------+----------+--------------+--------------+---------+-----------+
//   flags bit 0: the raw payload starts with a validity bitmap ((rows + 63) / 64 u64 words).

import KymaCore
import KymaFormat

enum TLM {
    static let magic: [UInt8] = Array("KTLM".utf8)
    /// Version 3: terms longer than `Tokenizer.maxIndexedTermBytes` are left out of the
    /// inverted index and term Blooms (readers of version 2 would take their absence as proof of
    /// a miss, so they must refuse these files). Version 2 files read the same as before.
    /// Version 4: a block's inverted index is stored as pages of terms with a directory
    /// (`PostingPages`), so `has` fetches one page, not the block's whole index.
    static let version: UInt16 = 4
    static let readableVersions: ClosedRange<UInt16> = 2...4
    static let headerSize = 8
    static let tailSize = 14
    static let chunkHeaderSize = 16
    /// Sanity limits that keep a damaged count from causing a huge allocation.
    static let maxColumns = 100_000
    static let maxBlocks = 10_000_000
    static let maxBlockRows = 1 << 24

    /// Checks the 8-byte header: the magic, a readable version equal to the tail's, and the
    /// reserved zero. Every reader path that sees offset 0 calls this.
    static func checkHeader(_ header: ArraySlice<UInt8>, tailVersion: UInt16, key: String) throws(FormatError) {
        var r = BinaryReader(Array(header), baseOffset: 0, key: key)
        guard try r.raw(4, "header magic") == magic else { throw .corrupt(key: key, offset: 0, reason: "header does not start with KTLM") }
        let version = try r.u16("header version")
        guard readableVersions.contains(version) else { throw .unsupportedVersion(key: key, offset: 4, format: "tlm", version: Int(version)) }
        guard version == tailVersion else {
            throw .corrupt(key: key, offset: 4, reason: "header says version \(version), the tail \(tailVersion)")
        }
        guard try r.u16("header reserved") == 0 else { throw .corrupt(key: key, offset: 6, reason: "header reserved bytes are not zero") }
    }
}

/// Value encodings. On-disk numbers: never renumber.
enum EncodingTag: UInt8, CaseIterable {
    case plain = 0
    case dictionary = 1
    case bitPacked = 2
    case frameOfReference = 3
    case delta = 4
    case deltaOfDelta = 5
    case runLength = 6
    // next: 7

    init?(name: String) {
        switch name {
        case "plain": self = .plain
        case "dictionary": self = .dictionary
        case "bit_packed", "bitpacked": self = .bitPacked
        case "frame_of_reference", "for": self = .frameOfReference
        case "delta": self = .delta
        case "delta_of_delta": self = .deltaOfDelta
        case "run_length", "rle": self = .runLength
        default: return nil
        }
    }
}

/// Column types on disk. Never renumber.
enum TypeTag: UInt8 {
    case bool = 0, int64 = 1, float64 = 2, timestamp = 3, string = 4, binary = 5, float32Vector = 6

    init(_ type: DataType) {
        switch type {
        case .bool: self = .bool
        case .int64: self = .int64
        case .float64: self = .float64
        case .timestamp: self = .timestamp
        case .string: self = .string
        case .binary: self = .binary
        case .float32Vector: self = .float32Vector
        }
    }

    var dataType: DataType {
        switch self {
        case .bool: .bool
        case .int64: .int64
        case .float64: .float64
        case .timestamp: .timestamp
        case .string: .string
        case .binary: .binary
        case .float32Vector: .float32Vector
        }
    }
}
