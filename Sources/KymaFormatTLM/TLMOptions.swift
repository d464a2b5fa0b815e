// The TLM writer's options, parsed from `FormatOptions` with typed errors.

import KymaCompression
import KymaFormat

/// Every choice that matters for comparing format variants is an option.
///
/// | option | values | default |
/// |---|---|---|
/// | `block_rows` | 1 ... 16,777,216 | 65536 |
/// | `codec` | none, lz4, zstd | zstd |
/// | `zstd_level` / `level` | 1 ... 22 | 3 |
/// | `encoding` | auto, plain, dictionary, bit_packed, frame_of_reference, delta, delta_of_delta, run_length | auto (smallest) |
/// | `bloom` | true, false | true |
/// | `bloom_columns` | comma-separated column names: only these get value Bloom filters | every column |
/// | `bloom_fpp` | (0, 0.5] | 0.01 |
/// | `inverted_index` | true, false | true |
/// | `inverted_index_columns` | comma-separated string columns: only these get an inverted index | every string column |
/// | `time_column` | a timestamp column | `_time` |
struct TLMOptions {
    var blockRows = 65_536
    var codec = Codec.zstd
    var level = 3
    var forcedEncoding: EncodingTag?
    var bloom = true
    /// nil: every column (but booleans and vectors) gets value Bloom filters.
    var bloomColumns: Set<String>?
    var bloomFalsePositiveRate = 0.01
    var invertedIndex = true
    /// nil: every string column gets an inverted index (when `invertedIndex`).
    var invertedIndexColumns: Set<String>?
    var timeColumn = "_time"

    init(_ options: FormatOptions) throws(FormatError) {
        for (name, value) in options.values {
            switch name {
            case "block_rows":
                guard let rows = Int(value), rows >= 1, rows <= TLM.maxBlockRows else {
                    throw .invalidOption(name: name, reason: "'\(value)' is not a row count in 1...\(TLM.maxBlockRows)")
                }
                blockRows = rows
            case "codec", "compression":
                guard let codec = Codec(name: value) else { throw .invalidOption(name: name, reason: "'\(value)' is not none, lz4 or zstd") }
                self.codec = codec
            case "zstd_level", "level":
                guard let level = Int(value), level >= 1, level <= 22 else { throw .invalidOption(name: name, reason: "'\(value)' is not in 1...22") }
                self.level = level
            case "encoding":
                if value == "auto" { forcedEncoding = nil; continue }
                guard let tag = EncodingTag(name: value) else { throw .invalidOption(name: name, reason: "unknown encoding '\(value)'") }
                forcedEncoding = tag
            case "bloom":
                bloom = try Self.flag(name, value)
            case "bloom_columns":
                bloomColumns = try Self.columnList(name, value)
            case "inverted_index_columns":
                invertedIndexColumns = try Self.columnList(name, value)
            case "bloom_fpp":
                guard let rate = Double(value), rate > 0, rate <= 0.5 else { throw .invalidOption(name: name, reason: "'\(value)' is not in (0, 0.5]") }
                bloomFalsePositiveRate = rate
            case "inverted_index":
                invertedIndex = try Self.flag(name, value)
            case "time_column":
                timeColumn = value
            default:
                throw .invalidOption(name: name, reason: "unknown TLM option")
            }
        }
    }

    /// "a, b": column names, none empty.
    static func columnList(_ name: String, _ value: String) throws(FormatError) -> Set<String> {
        let names = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0.filter { $0 != " " }) }
        guard !names.contains(where: \.isEmpty) else { throw .invalidOption(name: name, reason: "'\(value)' is not a comma-separated list of column names") }
        return Set(names)
    }

    static func flag(_ name: String, _ value: String) throws(FormatError) -> Bool {
        switch value {
        case "true", "1", "on": return true
        case "false", "0", "off": return false
        default: throw .invalidOption(name: name, reason: "'\(value)' is not true or false")
        }
    }
}
