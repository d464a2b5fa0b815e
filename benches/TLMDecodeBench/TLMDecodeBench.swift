// Writes each prepared dataset (benches/decode) as a TLM extent and measures its size and the
// time to open and decode every column of every block, single-threaded, best of N.
// Run through harness/bench-decode, which also measures pyarrow in the same run.

import Foundation
import KymaCore
import KymaFormat
import KymaFormatTLM
import KymaObjectStore
import KymaObjectStoreLocal

enum BenchError: Error { case bad(String) }

func loadKcols(_ path: String) throws -> ColumnBatch {
    let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var position = 0
    func u32() throws -> Int {
        guard position + 4 <= data.count else { throw BenchError.bad("truncated \(path)") }
        defer { position += 4 }
        return Int(data[position]) | Int(data[position + 1]) << 8 | Int(data[position + 2]) << 16 | Int(data[position + 3]) << 24
    }
    let columnCount = try u32(), rowCount = try u32()
    var columns: [(String, Column)] = []
    for _ in 0..<columnCount {
        let nameLength = try u32()
        let name = String(decoding: data[position..<position + nameLength], as: UTF8.self)
        position += nameLength
        let kind = data[position]
        position += 1
        if kind == 0 {
            var values = [Int64](repeating: 0, count: rowCount)
            values.withUnsafeMutableBytes { raw in data.withUnsafeBytes { src in raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[position..<position + rowCount * 8])) } }
            position += rowCount * 8
            columns.append((name, Column(.int64(values))))
        } else {
            var offsets: [Int32] = [0]
            var bytes: [UInt8] = []
            for _ in 0..<rowCount {
                let length = try u32()
                bytes.append(contentsOf: data[position..<position + length])
                position += length
                offsets.append(Int32(bytes.count))
            }
            columns.append((name, Column(.string(offsets: offsets, bytes: bytes))))
        }
    }
    return try ColumnBatch(rowCount: rowCount, columns: columns)
}

/// Per-encoding decode throughput: one int64 column of `rows` values shaped for each encoding,
/// written with that encoding forced and no compression, decoded through the format's reader;
/// memcpy of the decoded bytes measured in the same run is the physical limit.
func encodingTable(directory: String, runs: Int) async throws {
    let rows = 4_000_000
    var g = SystemRandomNumberGenerator()
    var t: Int64 = 1_700_000_000_000_000_000
    let statusCodes: [Int64] = [200, 201, 204, 301, 302, 400, 404, 500, 502, 503]
    let shapes: [(String, String, [Int64])] = [
        ("plain", "random 64-bit", (0..<rows).map { _ in Int64.random(in: .min ... .max, using: &g) }),
        ("bit_packed", "0..1023", (0..<rows).map { _ in Int64.random(in: 0...1023, using: &g) }),
        ("frame_of_reference", "1e9 + 0..65535", (0..<rows).map { _ in 1_000_000_000 + Int64.random(in: 0...65_535, using: &g) }),
        ("dictionary", "10 distinct status codes", (0..<rows).map { _ -> Int64 in statusCodes[Int.random(in: 0..<10, using: &g)] }),
        ("delta", "timestamps, +0.1..2 ms", (0..<rows).map { _ -> Int64 in t += Int64.random(in: 100_000...2_000_000, using: &g); return t }),
        ("delta_of_delta", "timestamps, 1 ms +- 50 us", (0..<rows).map { _ -> Int64 in t += 1_000_000 + Int64.random(in: -50_000...50_000, using: &g); return t }),
        ("run_length", "runs of 1000", (0..<rows).map { row -> Int64 in Int64(row / 1000) }),
    ]
    let source = [Int64](repeating: 1, count: rows)
    var destination = [Int64](repeating: 0, count: rows)
    var memcpyBest = Double.infinity
    for _ in 0..<runs {
        let start = Date()
        destination.withUnsafeMutableBytes { d in source.withUnsafeBytes { s in d.copyMemory(from: s) } }
        memcpyBest = min(memcpyBest, Date().timeIntervalSince(start))
    }
    let memcpyGBs = Double(rows * 8) / memcpyBest / 1e9
    print("| encoding | data | stored bytes/value | decode M values/s | GB/s decoded | vs memcpy |")
    print("|---|---|---:|---:|---:|---:|")
    let store = try LocalFileSystemObjectStore(root: directory + "/tlm-encodings")
    let schema = try Schema([Field(name: "v", type: .int64, nullable: false)])
    for (encoding, description, values) in shapes {
        let writer = try TLMFormat().makeWriter(schema: schema, options: FormatOptions([
            "encoding": encoding, "codec": "none", "bloom": "false", "block_rows": "65536"]))
        try writer.append(try ColumnBatch(rowCount: rows, columns: [("v", Column(.int64(values)))]))
        let finished = try writer.finish()
        let key = try ObjectKey("encoding-\(encoding).tlm")
        try await store.put(key, finished.bytes)
        let reader = try await TLMFormat().openExtent(store: store, key: key, size: finished.bytes.count, tail: nil)
        var best = Double.infinity
        for _ in 0..<runs {
            let start = Date()
            let batches = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
            best = min(best, Date().timeIntervalSince(start))
            guard batches.reduce(0, { $0 + $1.rowCount }) == rows else { throw BenchError.bad("short decode") }
        }
        let gbs = Double(rows * 8) / best / 1e9
        print("| \(encoding) | \(description) | \(format(Double(finished.bytes.count) / Double(rows))) | \(format(Double(rows) / best / 1e6)) | \(format(gbs)) | \(format(gbs / memcpyGBs)) |")
    }
    print("\nmemcpy of the same decoded bytes in this run: \(format(memcpyGBs)) GB/s")
}

func format(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return String(rounded)
}

@main
enum TLMDecodeBench {
    static func main() async throws {
        let directory = CommandLine.arguments[1]
        if CommandLine.arguments.contains("--encodings") {
            try await encodingTable(directory: directory, runs: Int(ProcessInfo.processInfo.environment["RUNS"] ?? "5") ?? 5)
            return
        }
        let runs = Int(ProcessInfo.processInfo.environment["RUNS"] ?? "7") ?? 7
        let store = try LocalFileSystemObjectStore(root: directory + "/tlm-store")
        let format = TLMFormat()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory).sorted() where file.hasSuffix(".kcols") {
            let batch = try loadKcols(directory + "/" + file)
            let schema = try Schema(batch.names.enumerated().map { Field(name: $1, type: batch.columns[$0].dataType) })
            let writer = try format.makeWriter(schema: schema, options: FormatOptions(["codec": "zstd"]))
            let writeStart = Date()
            try writer.append(batch)
            let finished = try writer.finish()
            let writeSeconds = Date().timeIntervalSince(writeStart)
            let key = try ObjectKey(String(file.dropLast(6)) + ".tlm")
            try await store.put(key, finished.bytes)
            var best = Double.infinity
            var decodedRows = 0
            for _ in 0..<runs {
                let start = Date()
                let reader = try await format.openExtent(store: store, key: key, size: finished.bytes.count, tail: nil)
                let batches = try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil)
                best = min(best, Date().timeIntervalSince(start))
                decodedRows = batches.reduce(0) { $0 + $1.rowCount }
            }
            guard decodedRows == batch.rowCount else { throw BenchError.bad("decoded \(decodedRows) of \(batch.rowCount) rows") }
            // The same rows without the pruning indexes (Bloom filters, inverted index): the data
            // alone, which is what Parquet's file holds.
            let bare = try format.makeWriter(schema: schema, options: FormatOptions(["codec": "zstd", "bloom": "false", "inverted_index": "false"]))
            try bare.append(batch)
            let bareBytes = try bare.finish().bytes.count
            let line: [String: Any] = ["name": String(file.dropLast(6)), "tlm_bytes": finished.bytes.count, "tlm_seconds": best,
                                       "tlm_write_seconds": writeSeconds, "tlm_bare_bytes": bareBytes]
            print(String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}
