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
