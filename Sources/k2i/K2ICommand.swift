// k2i: Kafka -> Iceberg streaming ingestion. Its subcommands (validate, ingest, status,
// maintenance, completions) arrive with the Kafka issue; today it builds, checks the CPU and
// prints its help.

import ArgumentParser
import CJemalloc
import KymaRuntime

@main
enum K2IMain {
    static func main() async {
        PlatformRequirements.requireSIMDLevel(binary: "k2i")
        await K2I.main()
    }
}

struct K2I: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k2i",
        abstract: "Kafka -> Iceberg ingestion: consume Kafka, buffer in a queryable hot buffer, commit Parquet to Iceberg exactly once.",
        discussion: "Subcommands (validate, ingest, status, maintenance, completions) are not built yet.",
        version: "k2i 0.1.0")

    func run() async throws {
        print(K2I.helpMessage())
    }
}
