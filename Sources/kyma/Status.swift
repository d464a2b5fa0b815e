// `kyma status`: where the catalog and store are, the catalog schema, tables and nodes.

import ArgumentParser
import KymaCatalog
import KymaRuntime

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the catalog, the object store, tables and nodes (alive or dead).")

    @OptionGroup var services: ServiceOptions

    @Option(name: .customLong("node-timeout"), help: "Seconds without a heartbeat after which a node is reported dead.")
    var nodeTimeoutSeconds = 30

    func run() async throws {
        let opened = try await services.open()
        let configuration = opened.configuration
        print("catalog:   \(opened.catalog.description)  (from \(configuration.catalogURL.source))")
        print("store:     \(configuration.store.value)  (from \(configuration.store.source))")
        print("cache:     \(configuration.cacheDirectory ?? "none")")
        print("allocator: \(allocatorDescription())")
        do {
            let tables = try await opened.catalog.tables()
            print("tables:    \(tables.count)")
            for table in tables { print("  \(table.name)  format=\(table.definition.formatName)") }
            let nodes = try await opened.catalog.nodes(timeoutSeconds: nodeTimeoutSeconds)
            print("nodes:     \(nodes.filter(\.isAlive).count) alive, \(nodes.filter { !$0.isAlive }.count) dead")
            for node in nodes {
                print("  \(node.isAlive ? "alive" : "DEAD ") \(node.identity.id)  role=\(node.identity.role.rawValue)  address=\(node.identity.address)")
            }
        } catch {
            printError(error.description)
            throw ExitCode.failure
        }
    }
}
