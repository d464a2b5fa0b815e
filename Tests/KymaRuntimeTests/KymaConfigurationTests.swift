// Where commands find their services: precedence, parsing, and clear errors.

import Testing
#if canImport(Glibc)
import Glibc
#endif
import KymaCatalog
import KymaObjectStore
import KymaRuntime
import KymaTestSupport

@Suite("KymaConfiguration")
struct KymaConfigurationTests {
    /// A working directory with no kyma.toml and no .kyma/services.env above it.
    func emptyDirectory() -> String { TestServices.makeTemporaryDirectory("kyma-config") }

    func write(_ text: String, to path: String) {
        let file = fopen(path, "w")
        fputs(text, file)
        fclose(file)
    }

    @Test func flagsBeatEnvironmentBeatFileBeatDevServices() throws {
        let directory = emptyDirectory()
        defer { TestServices.removeTree(directory) }
        mkdir(directory + "/.kyma", 0o755)
        write("export KYMA_CATALOG='postgres://dev@127.0.0.1:1/dev'\nexport KYMA_STORE='file:///dev/store'\n", to: directory + "/.kyma/services.env")
        var config = try KymaConfiguration.resolve(flags: .init(), environment: [:], workingDirectory: directory)
        #expect(config.catalogURL.value == "postgres://dev@127.0.0.1:1/dev")
        #expect(config.catalogURL.source.contains("dev services"))

        write("catalog = \"postgres://file@127.0.0.1:2/f\"\nstore = \"file:///file/store\"\n", to: directory + "/kyma.toml")
        config = try KymaConfiguration.resolve(flags: .init(), environment: [:], workingDirectory: directory)
        #expect(config.catalogURL.value == "postgres://file@127.0.0.1:2/f")
        #expect(config.store.value == .local(path: "/file/store"))

        config = try KymaConfiguration.resolve(flags: .init(), environment: ["KYMA_CATALOG": "postgres://env@127.0.0.1:3/e"], workingDirectory: directory)
        #expect(config.catalogURL.value == "postgres://env@127.0.0.1:3/e")
        #expect(config.catalogURL.source == "environment KYMA_CATALOG")
        #expect(config.store.value == .local(path: "/file/store"), "each setting resolves on its own")

        config = try KymaConfiguration.resolve(flags: .init(catalog: "postgres://flag@127.0.0.1:4/x"),
                                               environment: ["KYMA_CATALOG": "postgres://env@127.0.0.1:3/e"], workingDirectory: directory)
        #expect(config.catalogURL.value == "postgres://flag@127.0.0.1:4/x")
        #expect(config.catalogURL.source == "flag --catalog")
    }

    @Test func missingCatalogSaysHowToConfigureIt() {
        let directory = emptyDirectory()
        defer { TestServices.removeTree(directory) }
        do {
            _ = try KymaConfiguration.resolve(flags: .init(), environment: [:], workingDirectory: directory)
            Issue.record("resolved without any catalog")
        } catch {
            #expect(error.description.contains("--catalog"))
            #expect(error.description.contains("harness/services up"))
        }
    }

    @Test func storeURLsParse() throws {
        #expect(try StoreLocation.parse("file:///data/kyma", source: "t", environment: [:]) == .local(path: "/data/kyma"))
        let s3 = try StoreLocation.parse("s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1", source: "t",
                                         environment: ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"])
        guard case .s3(let c) = s3 else { Issue.record("not s3"); return }
        #expect(c.bucket == "bucket" && c.prefix == "some/prefix" && c.endpoint == "http://127.0.0.1:9000" && c.region == "eu-west-1")
        #expect(c.pathStyle, "a custom endpoint defaults to path style")
        #expect(c.credentials?.accessKeyID == "AK")
        #expect(!String(describing: c.credentials!).contains("SK"), "secrets are redacted")
        let aws = try StoreLocation.parse("s3://b", source: "t", environment: ["AWS_REGION": "ap-south-1"])
        guard case .s3(let a) = aws else { Issue.record("not s3"); return }
        #expect(a.endpoint == "https://s3.ap-south-1.amazonaws.com" && !a.pathStyle)
        for bad in ["file://relative/path", "s3://", "http://x", "s3://b?bogus=1"] {
            #expect(throws: RuntimeError.self, "\(bad)") { try StoreLocation.parse(bad, source: "t", environment: [:]) }
        }
    }

    @Test func unknownTomlKeysAndBadTomlAreErrors() {
        let directory = emptyDirectory()
        defer { TestServices.removeTree(directory) }
        write("catalgo = \"postgres://x\"\n", to: directory + "/kyma.toml")
        #expect(throws: RuntimeError.self) { try KymaConfiguration.resolve(flags: .init(), environment: [:], workingDirectory: directory) }
        write("catalog = \n", to: directory + "/kyma.toml")
        #expect(throws: RuntimeError.self) { try KymaConfiguration.resolve(flags: .init(), environment: [:], workingDirectory: directory) }
    }
}

@Suite("NodeHeartbeat")
struct NodeHeartbeatTests {
    @Test func heartbeatsKeepANodeAliveAndStoppingLetsItDie() async throws {
        let catalogURL = try TestServices.require("KYMA_CATALOG")
        let config = KymaConfiguration(catalogURL: Sourced(catalogURL, source: "test"),
                                       store: Sourced(.local(path: TestServices.makeTemporaryDirectory("kyma-hb")), source: "test"),
                                       cacheDirectory: nil)
        let services = try await KymaServices.open(config)
        let identity = NodeIdentity(id: NodeHeartbeat.makeNodeID(role: .worker), role: .worker, address: "127.0.0.1:0")
        let heartbeat = try await NodeHeartbeat.start(identity, catalog: services.catalog, intervalSeconds: 0.2)
        func lastHeartbeat() async throws -> Int64? {
            try await services.catalog.nodes(timeoutSeconds: 3600).first { $0.identity.id == identity.id }?.lastHeartbeatMillis
        }
        let registered = try #require(try await lastHeartbeat())
        // Heartbeats advance last_heartbeat (polled, so a loaded machine only makes this slower).
        var advanced = false
        for _ in 0..<100 where !advanced {
            try await Task.sleep(for: .milliseconds(100))
            advanced = try await lastHeartbeat() ?? 0 > registered
        }
        #expect(advanced, "the heartbeat task updates the node")
        await heartbeat.stopAndWait()  // a heartbeat in flight has landed when this returns
        let final = try await lastHeartbeat()
        // Wait for the node to fall silent for a second (dead at a one-second timeout), then check
        // that no heartbeat landed meanwhile.
        var dead = false
        for _ in 0..<100 where !dead {
            dead = try await services.catalog.nodes(timeoutSeconds: 1).first { $0.identity.id == identity.id }?.isAlive == false
            if !dead { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(dead, "silent for over a second: dead at a one-second timeout")
        #expect(try await lastHeartbeat() == final, "no heartbeats after stop")
    }

    @Test func unreachableCatalogIsOneClearError() async {
        let config = KymaConfiguration(catalogURL: Sourced("postgres://u:pw@127.0.0.1:9/none?connect_timeout=2", source: "flag --catalog"),
                                       store: Sourced(.local(path: "/tmp"), source: "test"), cacheDirectory: nil)
        do {
            _ = try await KymaServices.open(config)
            Issue.record("opened an unreachable catalog")
        } catch {
            #expect(error.description.contains("postgres://u:REDACTED@127.0.0.1:9/none"))
            #expect(error.description.contains("flag --catalog"))
            #expect(!error.description.contains("\n"))
        }
    }
}
