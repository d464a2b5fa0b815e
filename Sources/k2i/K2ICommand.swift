// k2i: Kafka -> Iceberg streaming ingestion (the engine is KymaK2I). This file: the command
// line (validate, ingest, status, maintenance, completions), building the catalog and object
// store from the configuration, signals, and exit codes (1 config, 2 Kafka, 3 Iceberg,
// 4 storage, 5 transaction log, 6 health, 10 runtime, 130 signal).

import ArgumentParser
import KymaCore
import KymaHTTP
import KymaServer
import CJemalloc
import CKymaAllocator
import Foundation
import KymaCatalog
import KymaCatalogPostgres
import KymaIceberg
import KymaIcebergCatalogs
import KymaK2I
import KymaKafka
import KymaObjectStore
import KymaObjectStoreLocal
import KymaObjectStoreS3
import KymaRuntime
import Synchronization

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
        version: "k2i 0.1.0",
        subcommands: [Validate.self, Ingest.self, Status.self, Maintenance.self, Table.self, Completions.self])
}

/// `-c/--config` and `-v` shared by the commands that read a configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .customLong("config")], help: "The TOML configuration (docs/k2i.md).") var config = "config.toml"
    @Flag(name: .short, help: "More logging (-v debug, -vv trace).") var verbose: Int

    func load() throws -> K2IConfig {
        do { return try K2IConfig.load(path: config) } catch {
            fail(.config("\(error)"))
        }
    }

    func log(_ config: K2IConfig) -> K2ILog {
        let level = verbose >= 2 ? K2ILog.Level.trace : verbose == 1 ? .debug : K2ILog.Level(config.string("monitoring.log_level"))
        return K2ILog(level: level, json: config.string("monitoring.log_format") == "json")
    }
}

/// Prints one line naming the failure and exits with its code.
func fail(_ error: K2IError) -> Never {
    FileHandle.standardError.write(Data("k2i: error: \(error.description)\n".utf8))
    exit(error.exitCode)
}

/// The object store and Iceberg catalog the configuration names.
func openTables(_ config: K2IConfig) async throws(K2IError) -> IcebergTables {
    let warehouse = config.string("iceberg.warehouse_path")
    let store: any ObjectStore
    let storeURI: String
    if warehouse.hasPrefix("s3://") {
        let rest = warehouse.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = String(rest.dropFirst(bucket.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard let endpoint = config.optionalString("iceberg.s3_endpoint") else { throw .config("key 'iceberg.s3_endpoint' is required for an s3:// warehouse") }
        let credentials = config.secret("iceberg.aws_access_key_id").flatMap { key in
            config.secret("iceberg.aws_secret_access_key").map { S3Credentials(accessKeyID: key.value, secretAccessKey: $0.value) }
        } ?? S3Credentials.fromEnvironment()
        let s3 = S3ObjectStore(S3Configuration(endpoint: endpoint, region: config.string("iceberg.aws_region"), bucket: bucket, prefix: prefix, credentials: credentials))
        do { try await s3.createBucketIfMissing() } catch { throw .storage("\(warehouse): \(error)") }
        store = RetryingObjectStore(base: s3)
        storeURI = "s3://\(bucket)/" + (prefix.isEmpty ? "" : prefix + "/")
    } else {
        let path = warehouse.hasPrefix("file://") ? String(warehouse.dropFirst("file://".count)) : warehouse
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch { throw .storage("cannot create \(path)") }
        do { store = try LocalFileSystemObjectStore(root: path) } catch { throw .storage("\(path): \(error)") }
        storeURI = "file://" + path
    }
    let catalog: any IcebergTableCatalog
    switch config.string("iceberg.catalog_type") {
    case "rest":
        do { catalog = try await RESTIcebergCatalog.connect(url: config.string("iceberg.rest_uri"), token: config.secret("iceberg.rest_token")?.value) } catch {
            throw .iceberg("REST catalog \(config.string("iceberg.rest_uri")): \(error)")
        }
    case "glue":
        let endpoint = config.optionalString("iceberg.glue_endpoint") ?? "https://glue.\(config.string("iceberg.aws_region")).amazonaws.com"
        let key = config.secret("iceberg.aws_access_key_id")?.value ?? ProcessInfo.processInfo.environment["AWS_ACCESS_KEY_ID"] ?? ""
        let secret = config.secret("iceberg.aws_secret_access_key")?.value ?? ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"] ?? ""
        catalog = GlueIcebergCatalog(endpoint: endpoint, region: config.string("iceberg.aws_region"), accessKeyID: key, secretAccessKey: secret)
    default:
        guard let url = config.secret("iceberg.sql_catalog.url")?.value ?? ProcessInfo.processInfo.environment["KYMA_CATALOG"] else {
            throw .config("key 'iceberg.sql_catalog.url' is required for catalog_type = \"sql\"")
        }
        do { catalog = try await PostgresCatalog(url: url, icebergCatalogName: config.string("iceberg.sql_catalog.catalog_name")) } catch {
            throw .iceberg("SQL catalog: \(error)")
        }
    }
    // warehouse_path is the warehouse itself: tables go to <warehouse_path>/<namespace>/<table>.
    // (K2IEngine sets the Parquet codec from iceberg.compression.)
    return IcebergTables(catalog: catalog, store: store, warehouse: "", storeURI: storeURI, targetFileBytes: config.int("iceberg.target_file_size_mb") << 20)
}

extension K2I {
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check every setting and reach Kafka, the catalog and the object store; non-zero exit on any problem.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let config = try options.load()
            print("configuration \(options.config): ok")
            for (key, value) in config.rendered { print("  \(key) = \(value)") }
            // Kafka: the topic's partitions and watermarks.
            do {
                var properties = config.consumerProperties
                properties["group.id"] = config.string("kafka.consumer_group") + ".validate"
                let consumer = try KafkaConsumer(properties)
                let (low, high) = try consumer.watermarks(TopicPartition(config.string("kafka.topic"), 0))
                print("kafka \(config.string("kafka.bootstrap_servers")): ok (topic \(config.string("kafka.topic")) partition 0 offsets \(low)..\(high), librdkafka \(librdkafkaVersion))")
                consumer.close()
            } catch {
                fail(.kafka("\(config.string("kafka.bootstrap_servers")) topic \(config.string("kafka.topic")): \(error)"))
            }
            let tables: IcebergTables
            do { tables = try await openTables(config) } catch { fail(error) }
            do {
                let namespaces = try await tables.catalog.namespaces()
                print("catalog (\(config.string("iceberg.catalog_type"))): ok (\(namespaces.count) namespace(s))")
            } catch {
                fail(.iceberg("catalog: \(error)"))
            }
            do {
                let probe = try ObjectKey("k2i-validate/\(UUID().uuidString)")
                try await tables.store.put(probe, Array("k2i".utf8))
                _ = try await tables.store.get(probe)
                try await tables.store.delete(probe)
                print("object store \(tables.storeURI): ok (write, read, delete)")
            } catch {
                fail(.storage("\(tables.storeURI): \(error)"))
            }
        }
    }

    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Consume until SIGTERM/SIGINT, then flush, commit, commit consumer offsets and exit 0.")
        @OptionGroup var options: ConfigOptions
        @Flag(name: .customLong("exit-at-end"), help: "Stop as on SIGTERM once every assigned partition is consumed to its end (a bounded run: backfills, benchmarks).")
        var exitAtEnd = false
        @Option(name: .customLong("bootstrap-servers")) var bootstrapServers: String?
        @Option var topic: String?
        @Option(name: .customLong("consumer-group")) var consumerGroup: String?

        func run() async throws {
            var environment = ProcessInfo.processInfo.environment
            if let bootstrapServers { environment["K2I_KAFKA_BOOTSTRAP_SERVERS"] = bootstrapServers }
            if let topic { environment["K2I_KAFKA_TOPIC"] = topic }
            if let consumerGroup { environment["K2I_KAFKA_CONSUMER_GROUP"] = consumerGroup }
            let config: K2IConfig
            do { config = try K2IConfig.load(path: options.config, environment: environment) } catch { fail(.config("\(error)")) }
            let log = options.log(config)
            let tables: IcebergTables
            do { tables = try await openTables(config) } catch { fail(error) }
            let engine = K2IEngine(config: config, tables: tables, log: log)
            engine.queryFrontends = KymaServices.frontends
            engine.exitAtEnd = exitAtEnd
            var version: UnsafePointer<CChar>? = nil
            var size = MemoryLayout<UnsafePointer<CChar>?>.size
            let jemalloc = mallctl("version", &version, &size, nil, 0) == 0 ? version.map { String(cString: $0) } ?? "?" : "not in use"
            log.info("allocator", ["jemalloc": jemalloc, "options": String(cString: kyma_allocator_options())])
            // Health and metrics.
            let bind = config.string("monitoring.bind_address")
            // The engine answers on a blocking thread: its handlers wait on the commit lock.
            let handler: EndpointServer.Handler = { method, path, query in
                let reply = (try? await BlockingIO.run { engine.handle(method: method, path: path, query: query) }) ?? HTTPReply(503, "unavailable\n")
                return EndpointServer.Reply(status: reply.status, contentType: reply.contentType, body: reply.body)
            }
            var endpoints: [RunningEndpoint] = []
            do {
                let health = try await EndpointServer.start(host: bind, port: config.int("monitoring.health_port"), handler: handler)
                endpoints.append(health)
                let metricsPort = config.int("monitoring.metrics_port")
                if metricsPort != 0 && metricsPort != health.port {
                    endpoints.append(try await EndpointServer.start(host: bind, port: metricsPort, handler: handler))
                }
                log.info("listening", ["health": "\(bind):\(health.port)", "metrics": "\(bind):\(metricsPort == 0 ? health.port : metricsPort)"])
            } catch {
                fail(.health("cannot listen on \(bind): \(error)"))
            }
            // SIGTERM / SIGINT: drain.
            signal(SIGTERM, SIG_IGN)
            signal(SIGINT, SIG_IGN)
            let signals = [SIGTERM, SIGINT].map { DispatchSource.makeSignalSource(signal: $0, queue: .global()) }
            for source in signals {
                source.setEventHandler { log.info("signal received: draining"); engine.stopRequested.store(true, ordering: .relaxed) }
                source.resume()
            }
            let outcome = Mutex<K2IError?>(nil)
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                do throws(K2IError) { try engine.run() } catch { outcome.withLock { $0 = error } }
                done.signal()
            }
            thread.name = "k2i-consume"
            thread.stackSize = 8 << 20
            thread.start()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { done.wait(); continuation.resume() }
            }
            // The signal sources must live until here: released earlier (ARC may end their
            // lifetime at their last use), SIGTERM would be ignored.
            withExtendedLifetime(signals) {}
            for endpoint in endpoints { await endpoint.stop() }
            if let error = outcome.withLock({ $0 }) { fail(error) }
            log.info("k2i stopped cleanly", engine.summary)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a running k2i's state from its status endpoint.")
        @Option var url = "http://127.0.0.1:8080"

        func run() async throws {
            let endpoint = url.hasSuffix("/status") ? url : (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/status"
            let answer: (status: Int, body: String)
            do { answer = try fetch(endpoint) } catch { fail(error) }
            guard answer.status == 200, let status = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else {
                fail(.health("\(endpoint) answered HTTP \(answer.status)"))
            }
            let buffer = status["buffer"] as? [String: Any] ?? [:]
            let breaker = status["breaker"] as? [String: Any] ?? [:]
            let commit = status["last_commit"] as? [String: Any] ?? [:]
            print("state:        \(status["state"] ?? "?") (table \(status["table"] ?? "?"), topic \(status["topic"] ?? "?"))")
            print("buffer:       \(buffer["rows"] ?? 0) rows, \(buffer["bytes"] ?? 0) bytes, oldest \(buffer["oldest_age_ms"] ?? 0) ms")
            print("last commit:  " + (commit.isEmpty ? "none yet" : "snapshot \(commit["snapshot_id"] ?? "?"), \(commit["rows"] ?? 0) rows, \(commit["latency_ms"] ?? 0) ms"))
            print("breaker:      \(breaker["state"] ?? "?") (\(breaker["consecutive_failures"] ?? 0) consecutive failures, \(breaker["trips"] ?? 0) trips)")
            print("consumed:     \(status["consumed"] ?? 0) records, \(status["committed_rows"] ?? 0) rows committed, \(status["rejected"] ?? 0) rejected")
            for p in status["partitions"] as? [[String: Any]] ?? [] {
                print("partition:    \(p["topic"] ?? "?"):\(p["partition"] ?? "?") committed \(p["committed_offset"] ?? -1) position \(p["position"] ?? -1) high \(p["high_watermark"] ?? -1) lag \(p["lag"] ?? -1)\((p["paused"] as? Bool ?? false) ? " paused" : "")")
            }
        }
    }

    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run one maintenance task on the configured table now.",
                                                        subcommands: [Compact.self, ExpireSnapshots.self, CleanOrphans.self])

        struct Compact: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Rewrite small data files into files of maintenance.compaction_target_mb.")
            @OptionGroup var options: ConfigOptions
            @Flag(name: .customLong("dry-run")) var dryRun = false
            func run() async throws { try await Maintenance.run("compact", options, dryRun) }
        }

        struct ExpireSnapshots: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "expire-snapshots", abstract: "Expire snapshots older than maintenance.snapshot_retention_days.")
            @OptionGroup var options: ConfigOptions
            @Flag(name: .customLong("dry-run")) var dryRun = false
            func run() async throws { try await Maintenance.run("expire-snapshots", options, dryRun) }
        }

        struct CleanOrphans: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "clean-orphans", abstract: "Delete unreferenced files older than maintenance.orphan_retention_days.")
            @OptionGroup var options: ConfigOptions
            @Flag(name: .customLong("dry-run")) var dryRun = false
            func run() async throws { try await Maintenance.run("clean-orphans", options, dryRun) }
        }

        static func run(_ task: String, _ options: ConfigOptions, _ dryRun: Bool) async throws {
            let config = try options.load()
            let tables: IcebergTables
            do { tables = try await openTables(config) } catch { fail(error) }
            let engine = K2IEngine(config: config, tables: tables, log: options.log(config))
            let lines: [String]
            do {
                lines = try await withCheckedThrowingContinuation { continuation in
                    Thread { continuation.resume(with: Result { try engine.runMaintenance(task, dryRun: dryRun) }) }.start()
                }
            } catch let error as K2IError {
                fail(error)
            }
            for line in lines { print(line) }
        }
    }

    struct Table: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Manage the configured table.", subcommands: [Reset.self])

        struct Reset: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Start over after the topic did (a new cluster, a recreated topic): drop the table, or with --keep-data forget its Kafka offsets.")
            @OptionGroup var options: ConfigOptions
            @Flag(name: .customLong("keep-data"), help: "Keep the rows; record no offsets, so ingest starts where kafka.auto_offset_reset says.") var keepData = false

            func run() async throws {
                let config = try options.load()
                // A running ingest would commit its offsets again: refuse while one answers.
                let health = "http://\(config.string("monitoring.bind_address")):\(config.int("monitoring.health_port"))/status"
                if let answer = try? fetch(health), answer.status == 200,
                   answer.body.contains("\"table\":\"\(config.string("iceberg.database_name")).\(config.string("iceberg.table_name"))\"") {
                    fail(.runtime("k2i ingest is running on this table (\(health) answers): stop it first"))
                }
                let tables: IcebergTables
                do { tables = try await openTables(config) } catch { fail(error) }
                let engine = K2IEngine(config: config, tables: tables, log: options.log(config))
                do {
                    for line in try engine.resetTable(keepData: keepData) { print(line) }
                } catch {
                    fail(error)
                }
            }
        }
    }

    struct Completions: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a shell completion script: bash, zsh or fish.")
        @Argument var shell: String

        func run() throws {
            guard let kind = CompletionShell(rawValue: shell) else { fail(.config("shell '\(shell)' is not bash, zsh or fish")) }
            print(K2I.completionScript(for: kind))
        }
    }
}

/// A GET to a k2i endpoint (`k2i status`, `table reset`'s check that no ingest runs).
func fetch(_ url: String) throws(K2IError) -> (status: Int, body: String) {
    do {
        let response = try HTTPClient.perform(method: "GET", url: url, headers: [:], body: nil, sigV4Scope: nil, userPassword: nil,
                                              connectTimeoutMillis: 2000, timeoutMillis: 5000)
        return (response.status, String(decoding: response.body, as: UTF8.self))
    } catch {
        throw .health("cannot reach \(url): \(error)")
    }
}
