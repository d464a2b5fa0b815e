// ParquetBench WORK_DIR NAME...: for each WORK_DIR/NAME.input.parquet (written by
// benches/parquet/prepare.py), reads the rows with Kyma's reader (not timed), then times Kyma's
// ParquetWriter (zstd level 3, dictionary, 1M-row row groups, 8192-row pages... as pyarrow's
// defaults allow) and Kyma's reader on the file it wrote, single thread, best of 5. Prints one
// JSON object per dataset; benches/parquet/run.py measures pyarrow on the same rows and reports.

import Foundation
import KymaCore
import KymaParquet

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let arguments = CommandLine.arguments.dropFirst()
guard let work = arguments.first else {
    FileHandle.standardError.write(Data("usage: ParquetBench WORK_DIR NAME...\n".utf8))
    exit(2)
}
for name in arguments.dropFirst() {
    let input = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(work)/\(name).input.parquet")))
    let source = try ParquetFile(bytes: input)
    let batches = try source.readAll()
    var options = ParquetWriteOptions()
    options.codec = .zstd
    options.zstdLevel = 3
    options.rowGroupRows = 1 << 20
    options.pageRows = Int(ProcessInfo.processInfo.environment["PAGE_ROWS"] ?? "") ?? 65_536
    var written: [UInt8] = []
    var writeTimes: [Double] = []
    for _ in 0..<5 {
        writeTimes.append(try seconds {
            let writer = try ParquetWriter(fields: source.fields.map { ParquetField(name: $0.name, type: $0.type, optional: $0.optional) }, options: options)
            for batch in batches { try writer.append(batch) }
            written = try writer.finish()
        })
        FileHandle.standardError.write(Data("  \(name): write \(String(format: "%.3f", writeTimes.last!)) s\n".utf8))
    }
    let path = "\(work)/\(name).kyma.parquet"
    try Data(written).write(to: URL(fileURLWithPath: path))
    var readTimes: [Double] = []
    var rows = 0
    for _ in 0..<5 {
        readTimes.append(try seconds {
            let file = try ParquetFile(bytes: written)
            rows = try file.readAll().reduce(0) { $0 + $1.rowCount }
        })
        FileHandle.standardError.write(Data("  \(name): read \(String(format: "%.3f", readTimes.last!)) s\n".utf8))
    }
    let result: [String: Any] = ["name": name, "rows": rows, "write_s": writeTimes.min()!, "read_s": readTimes.min()!, "bytes": written.count, "path": path]
    print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
}
