// KymaFormatParquet: Apache Parquet as a `SegmentFormat`, the peer the harness compares TLM
// against. Blocks are row groups; pruning uses row-group statistics (min/max, null counts) and
// the split-block Bloom filters, fetched by ranged GET only for the row groups statistics kept.
// There is no inverted index and no path bitmap: `has` keeps every row group with values, and
// the path level of the cascade is the null count. Files are plain Parquet (pyarrow and DuckDB
// read them), with page CRCs and a footer checksum (`kyma.footer_crc`) so damage is detected.
//
// Options:
// | option | values | default |
// |---|---|---|
// | `block_rows` | rows per row group, 1 ... 16,777,216 | 65536 |
// | `page_rows` | rows per data page | 8192 |
// | `page_version` | 1, 2 | 1 |
// | `codec` | none, zstd | zstd |
// | `zstd_level` | 1 ... 22 | 3 |
// | `encoding` | auto (dictionary when it fits), plain, dictionary | auto |
// | `bloom` | true, false (every column but booleans and vectors) | true |
// | `bloom_fpp` | (0, 0.5] | 0.01 |
// | `time_column` | a timestamp column | `_time` |

import KymaCore
import KymaFormat
import KymaObjectStore
import KymaParquet

public struct ParquetFormat: SegmentFormat {
    public static let name = "parquet"

    public init() {}

    public var name: String { Self.name }
    public var version: Int { 1 }
    public var tailMagic: [UInt8] { Array("PAR1".utf8) }

    public func makeWriter(schema: Schema, options: FormatOptions) throws(FormatError) -> any ExtentWriter {
        var write = ParquetWriteOptions()
        write.rowGroupRows = 65_536
        write.pageRows = 8192
        write.footerChecksum = true
        write.timestampNanos = true  // Kyma's timestamps are nanoseconds
        var bloom = true
        var timeColumn = "_time"
        for (name, value) in options.values {
            switch name {
            case "block_rows":
                guard let rows = Int(value), rows >= 1, rows <= 1 << 24 else { throw .invalidOption(name: name, reason: "'\(value)' is not a row count in 1...16777216") }
                write.rowGroupRows = rows
            case "page_rows":
                guard let rows = Int(value), rows >= 1 else { throw .invalidOption(name: name, reason: "'\(value)' is not a positive row count") }
                write.pageRows = rows
            case "page_version":
                guard let version = Int(value), version == 1 || version == 2 else { throw .invalidOption(name: name, reason: "'\(value)' is not 1 or 2") }
                write.dataPageVersion = version
            case "codec", "compression":
                guard let codec = ParquetCodec(name: value) else {
                    throw .invalidOption(name: name, reason: "'\(value)' is not none, snappy, gzip, zstd or lz4 (Parquet here)")
                }
                write.codec = codec
            case "zstd_level", "level":
                guard let level = Int(value), level >= 1, level <= 22 else { throw .invalidOption(name: name, reason: "'\(value)' is not in 1...22") }
                write.zstdLevel = level
            case "encoding":
                switch value {
                case "auto", "dictionary": write.dictionary = true
                case "plain": write.dictionary = false
                default: throw .invalidOption(name: name, reason: "'\(value)' is not auto, plain or dictionary (Parquet here)")
                }
            case "bloom":
                switch value {
                case "true", "1", "on": bloom = true
                case "false", "0", "off": bloom = false
                default: throw .invalidOption(name: name, reason: "'\(value)' is not true or false")
                }
            case "bloom_fpp":
                guard let rate = Double(value), rate > 0, rate <= 0.5 else { throw .invalidOption(name: name, reason: "'\(value)' is not in (0, 0.5]") }
                write.bloomFilterFPP = rate
            case "time_column":
                timeColumn = value
            default:
                throw .invalidOption(name: name, reason: "unknown Parquet option")
            }
        }
        if bloom { write.bloomFilterColumns = Set(schema.fields.filter { $0.type != .bool && $0.type != .float32Vector }.map(\.name)) }
        do {
            let writer = try ParquetWriter(fields: schema.fields.map { ParquetField(name: $0.name, type: $0.type, optional: $0.nullable, vectorDimension: $0.vectorDimension) },
                                           options: write)
            return ParquetExtentWriter(schema: schema, writer: writer, timeColumn: timeColumn)
        } catch {
            throw .schemaMismatch("\(error)")
        }
    }

    /// One suffix GET (or the registry's tail), a second only when the footer is longer.
    public func openExtent(store: any ObjectStore, key: ObjectKey, size: Int, tail: [UInt8]?) async throws(FormatError) -> any ExtentReader {
        var fetched = 0
        var suffix: [UInt8]
        if let tail, !tail.isEmpty {
            suffix = tail
        } else {
            do { suffix = try await store.get(key, range: .suffix(length: min(size, 64 << 10))) } catch { throw .store(error) }
            fetched += suffix.count
        }
        let needed: Int
        do { needed = try ParquetFile.footerLength(tail: suffix, fileSize: size) } catch { throw .corrupt(key: key.rawValue, offset: max(0, size - 8), reason: "\(error)") }
        if needed > suffix.count {
            guard needed <= size - 4 else { throw .corrupt(key: key.rawValue, offset: size - 8, reason: "footer of \(needed) bytes in a file of \(size)") }
            do { suffix = try await store.get(key, range: .suffix(length: needed)) } catch { throw .store(error) }
            fetched += suffix.count
        }
        do {
            guard try ParquetFile.footerChecksumMatches(tail: suffix, fileSize: size) == true else {
                throw FormatError.corrupt(key: key.rawValue, offset: size - needed, reason: "footer checksum (kyma.footer_crc) missing or wrong")
            }
            let file = try ParquetFile(tail: suffix, fileSize: size)
            return try ParquetExtentReader(key: key, store: store, file: file, footerBytesFetched: fetched)
        } catch let error as FormatError {
            throw error
        } catch {
            throw .corrupt(key: key.rawValue, offset: size - needed, reason: "\(error)")
        }
    }
}

/// Builds one Parquet extent; the manifest comes from the row-group statistics.
final class ParquetExtentWriter: ExtentWriter {
    let schema: Schema
    let writer: ParquetWriter
    let timeColumn: String
    var finished = false

    init(schema: Schema, writer: ParquetWriter, timeColumn: String) {
        self.schema = schema
        self.writer = writer
        self.timeColumn = timeColumn
    }

    func append(_ batch: ColumnBatch) throws(FormatError) {
        guard !finished else { throw .writerFinished }
        do { try writer.append(batch) } catch { throw .schemaMismatch("\(error)") }
    }

    func finish() throws(FormatError) -> FinishedExtent {
        guard !finished else { throw .writerFinished }
        finished = true
        let bytes: [UInt8]
        let file: ParquetFile
        do {
            bytes = try writer.finish()
            file = try ParquetFile(bytes: bytes)
        } catch {
            throw .schemaMismatch("\(error)")
        }
        var summaries: [String: ColumnSummary] = [:]
        var present: [String] = []
        for (k, field) in schema.fields.enumerated() {
            var summary = ColumnSummary(type: field.type, min: nil, max: nil, nullCount: 0)
            var unbounded = false  // a row group with values but no bound leaves the extent's unknown
            for group in file.rowGroups {
                let s = group.statistics[k]
                summary.nullCount += s.nullCount ?? 0
                if (field.type == .string || field.type == .binary) && (s.nullCount ?? 0) < group.rowCount && s.max == nil {
                    unbounded = true
                }
                if let lo = s.min, summary.min.map({ ScalarOrder.compare(lo, $0) ?? 0 < 0 }) ?? true { summary.min = lo }
                if let hi = s.max, summary.max.map({ ScalarOrder.compare(hi, $0) ?? 0 > 0 }) ?? true { summary.max = hi }
            }
            if unbounded { summary.min = nil; summary.max = nil }
            summaries[field.name] = summary
            if summary.nullCount < file.rowCount { present.append(field.name) }
        }
        var timeRange: TimeRange? = nil
        if case .timestamp(let lo)? = summaries[timeColumn]?.min, case .timestamp(let hi)? = summaries[timeColumn]?.max {
            timeRange = TimeRange(lowerNanos: lo, upperNanos: hi)
        }
        return FinishedExtent(bytes: bytes, manifest: ExtentManifest(formatName: ParquetFormat.name, formatVersion: 1, rowCount: file.rowCount,
                                                                     byteSize: bytes.count, timeRange: timeRange, columns: summaries, presentPaths: present))
    }
}
