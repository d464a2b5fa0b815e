// `kyma compact`: plan compaction work units for a table, run them, and delete that table's
// replaced objects whose grace has passed. `kyma gc`: the garbage collector of every table.

import ArgumentParser
import KymaIngest
import KymaRuntime

struct Compact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge a table's small extents (as catalog work units any worker may run), then delete the table's replaced objects whose grace has passed.")
    @OptionGroup var services: ServiceOptions
    @Option(help: "Table name.") var table: String
    @Option(name: .customLong("grace-seconds"), help: "The objects this run replaces are deleted only this long after their swap (each replaced object keeps the grace of the run that replaced it).")
    var graceSeconds = 300
    @Option(name: .customLong("small-bytes"), help: "Extents below this size are merged.") var smallBytes = 64 << 20
    @Option(name: .customLong("lease-seconds"), help: "How long a claimed unit is this worker's; a unit of a worker that died is run again after it.")
    var leaseSeconds = 300
    @Flag(help: "Rewrite every extent (not only small ones) with the table's current format options (after `kyma table alter`).")
    var rewrite = false

    func validate() throws {
        guard graceSeconds >= 0 else { throw ValidationError("--grace-seconds must be 0 or more, got \(graceSeconds)") }
        guard smallBytes >= 1 else { throw ValidationError("--small-bytes must be at least 1, got \(smallBytes)") }
        guard leaseSeconds >= 1 else { throw ValidationError("--lease-seconds must be at least 1, got \(leaseSeconds)") }
    }

    func run() async throws {
        let opened = try await services.open()
        let compactor = Compactor(catalog: opened.catalog, store: opened.store, formats: opened.formats,
                                  smallExtentBytes: Int64(smallBytes), graceSeconds: graceSeconds)
        let collector = GarbageCollector(catalog: opened.catalog, store: opened.store)
        let owner = NodeHeartbeat.makeNodeID(role: .worker)
        do {
            let units = try await compactor.plan(table: table, rewrite: rewrite)
            print("planned \(units.count) compaction unit(s) for \(table)")
            while let outcome = try await compactor.runOnce(owner: owner, leaseSeconds: leaseSeconds) {
                switch outcome {
                case .merged(let inputs, let outputs, let rows): print("merged \(inputs) extents into \(outputs) (\(rows) rows)")
                case .lostRace: print("a unit's inputs changed under it; skipped")
                }
            }
            let deleted = try await collector.collectRetired(table: table)
            print("deleted \(deleted) replaced extent object(s) of \(table) past their grace")
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete objects nothing references: replaced extents past their own grace, and uploads no commit took (older than --upload-grace-seconds).")
    @OptionGroup var services: ServiceOptions
    @Option(name: .customLong("upload-grace-seconds"), help: "An upload younger than this may still be committed and is left alone.")
    var uploadGraceSeconds = 3600

    func validate() throws {
        guard uploadGraceSeconds >= 0 else { throw ValidationError("--upload-grace-seconds must be 0 or more, got \(uploadGraceSeconds)") }
    }

    func run() async throws {
        let opened = try await services.open()
        let collector = GarbageCollector(catalog: opened.catalog, store: opened.store, uploadGraceSeconds: uploadGraceSeconds)
        do {
            let report = try await collector.collect(nowMillis: wallClockNanos() / 1_000_000)
            print("deleted \(report.retiredExtents) replaced extent object(s) past their grace, \(report.abandonedUploads) abandoned upload(s) and \(report.unreferencedObjects) unreferenced object(s)")
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
