// kyma: the command-line entry point of the engine. Each subcommand opens the services it needs
// through KymaRuntime (catalog and object store from flags, environment, kyma.toml or the dev
// services) and reports failures as one line naming what was wrong.

import ArgumentParser
import KymaRuntime

@main
enum KymaMain {
    static func main() async {
        PlatformRequirements.requireSIMDLevel(binary: "kyma")
        await Kyma.main()
    }
}

struct Kyma: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kyma",
        abstract: "Kyma: a storage-engine research testbed (object storage + PostgreSQL catalog).",
        version: "kyma 0.1.0",
        subcommands: [Status.self, Roundtrip.self, Table.self, Ingest.self, Query.self, Explain.self, Compact.self, GC.self, Vector.self, Iceberg.self, Serve.self, Worker.self, Keys.self, Dev.self])
}
