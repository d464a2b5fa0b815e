// `kyma table scan`: every row of a table as JSON lines, read from its extents through the
// format registry (catalog -> extents -> objects). Not a query language: the minimal read path
// the end-to-end invariant gates check against.

import ArgumentParser
import KymaCatalog
import KymaCore
import KymaExec
import KymaFormat
import KymaObjectStore
import KymaQueryService
import KymaRuntime

struct Scan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print every row of a table as JSON lines (timestamps as RFC 3339 UTC).")
    @OptionGroup var services: ServiceOptions
    @Argument var name: String

    func run() async throws {
        let opened = try await services.open()
        do {
            for extent in try await opened.catalog.extents(table: name, matching: .all) {
                let reader = try await opened.formats.open(store: opened.store, key: try ObjectKey(extent.objectKey), size: Int(extent.byteSize))
                for try await batch in reader.stream(BlockSelection(blocks: Array(0..<reader.blockCount))) {
                    var out = ""
                    for row in 0..<batch.rowCount {
                        out += ResultFormat.jsonObject(names: batch.names, values: batch.columns.map { $0.value(at: row) })
                        out += "\n"
                    }
                    print(out, terminator: "")
                }
            }
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }
}

/// `kyma table decode`: the format's full-decode cost, for comparing format variants. Opens
/// every extent and decodes every column of every block on one task, `--runs` times after a
/// warm-up, and prints one JSON object: rows, object bytes, index bytes, median milliseconds.
struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode every column of a table on one task and print rows, bytes, index bytes and the median time as JSON.")
    @OptionGroup var services: ServiceOptions
    @Argument var name: String
    @Option(help: "Timed runs after one warm-up.") var runs = 3

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1, got \(runs)") }
    }

    func run() async throws {
        let opened = try await services.open()
        do {
            let extents = try await opened.catalog.extents(table: name, matching: .all)
            var millis: [Double] = []
            var rows = 0, indexBytes = 0
            for run in 0...runs {
                let started = ContinuousClock.now
                rows = 0
                indexBytes = 0
                for extent in extents {
                    let reader = try await opened.formats.open(store: opened.store, key: try ObjectKey(extent.objectKey), size: Int(extent.byteSize))
                    indexBytes += reader.indexBytes
                    for batch in try await reader.read(blocks: BlockSelection(blocks: Array(0..<reader.blockCount)), columns: nil, rowSelections: nil) {
                        rows += batch.rowCount
                    }
                }
                let elapsed = ContinuousClock.now - started
                if run > 0 { millis.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15) }
            }
            millis.sort()
            let bytes = extents.reduce(0) { $0 + $1.byteSize }
            print("{\"rows\": \(rows), \"bytes\": \(bytes), \"indexBytes\": \(indexBytes), \"extents\": \(extents.count), \"millis\": \(millis[millis.count / 2])}")
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }
}
