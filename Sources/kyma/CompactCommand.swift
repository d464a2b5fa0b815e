// `kyma compact`: plan compaction work units for a table, run them, and collect garbage.

import ArgumentParser
import KymaIngest
import KymaRuntime

struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a table's small extents (as catalog work units any worker may run), then delete replaced objects past the grace period.")
    @OptionGroup var services: ServiceOptions
    @Option(help: "Table name.") var table: String
    @Option(name: .customLong("grace-seconds"), help: "Replaced objects are deleted only this long after the swap.") var graceSeconds = 300
    @Option(name: .customLong("small-bytes"), help: "Extents below this size are merged.") var smallBytes = 64 << 20

    func run() async throws {
        let opened = try await services.open()
        let compactor = Compactor(catalog: opened.catalog, store: opened.store, formats: opened.formats, smallExtentBytes: Int64(smallBytes))
        let owner = NodeHeartbeat.makeNodeID(role: .worker)
        do {
            let units = try await compactor.plan(table: table)
            print("planned \(units.count) compaction unit(s) for \(table)")
            while let outcome = try await compactor.runOnce(owner: owner) {
                switch outcome {
                case .merged(let inputs, let outputs, let rows): print("merged \(inputs) extents into \(outputs) (\(rows) rows)")
                case .lostRace: print("a unit's inputs changed under it; skipped")
                }
            }
            let deleted = try await compactor.collectGarbage(graceSeconds: graceSeconds)
            print("deleted \(deleted) replaced extent object(s) older than \(graceSeconds) s")
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
