// `kyma serve`: the reference HTTP server over this node's catalog and store (docs/server.md).
// `kyma keys create|list|revoke`: the API keys it accepts, stored hashed in the catalog.

import ArgumentParser
import Foundation
import KymaCatalog
import KymaRuntime
import KymaServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP server: queries, ingest (NDJSON, Elasticsearch _bulk, OTLP), tables, vectors, metrics, a console.",
        discussion: "Settings come from kyma.toml's [server] table, then these flags. SIGTERM or SIGINT: requests in flight finish, then it exits 0.")
    @OptionGroup var services: ServiceOptions
    @Option(help: "HOST:PORT to listen on (default 127.0.0.1:7878; port 0 picks a free one).") var bind: String?
    @Option(name: .customLong("s3-bind"), help: "HOST:PORT of the S3 byte plane (default 127.0.0.1:7879), or off.") var s3Bind: String?
    @Option(name: .customLong("leaf-bind"), help: "HOST:PORT of the internal leaf API (gRPC) other nodes send scans to (default 127.0.0.1:0, a free port), or off.") var leafBind: String?
    @Flag(name: .customLong("no-auth"), help: "Accept requests without API keys (every caller is admin). For local experiments only.") var noAuth = false
    @Option(name: .customLong("pid-file"), help: "Write the process id here once listening.") var pidFile: String?

    func run() async throws {
        let opened = try await services.open()
        var settings = try reportingFailures { () throws(RuntimeError) -> ServerSettings in
            var settings = try ServerSettings.from(opened.configuration.serverTable)
            if let bind { try settings.setBind(bind) }
            if let s3Bind { try settings.setS3Bind(s3Bind) }
            if let leafBind { try settings.setLeafBind(leafBind) }
            return settings
        }
        if noAuth {
            settings.authRequired = false
            printWarning("--no-auth: requests need no API key and every caller is admin")
        }
        let pidFile = self.pidFile
        let host = settings.host, s3Host = settings.s3Host
        let auth = settings.authRequired ? "on" : "off"
        do {
            try await KymaServer.run(services: opened, settings: settings) { listener, port in
                // One write per line, so a reader waiting for it sees it whole and at once.
                switch listener {
                case .api:
                    if let pidFile { _ = FileManager.default.createFile(atPath: pidFile, contents: Data("\(getpid())\n".utf8)) }
                    FileHandle.standardOutput.write(Data("kyma serve listening on http://\(host):\(port) (auth \(auth))\n".utf8))
                case .s3:
                    FileHandle.standardOutput.write(Data("kyma serve S3 listening on http://\(s3Host ?? host):\(port) (path-style, SigV4)\n".utf8))
                }
            }
        } catch {
            printError("the server stopped: \(error)")
            throw ExitCode.failure
        }
        print("kyma serve stopped")
    }
}

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "API keys of the HTTP server: create, list, revoke.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key and print its token (shown this once; the catalog keeps only its hash).")
        @OptionGroup var services: ServiceOptions
        @Option(help: "read (queries, search), write (also ingest and upserts) or admin (also create, drop, compact).") var role = "read"
        @Option(name: .customLong("table"), help: "A table or vector collection the key may use (repeatable); none: every one.") var tables: [String] = []
        @Option(help: "A name for the key, for listings.") var name = "key"
        @Flag(help: "Also make S3 credentials (access key id and secret) for the S3 byte plane.") var s3 = false
        @Flag(help: "Print only the token (with --s3: token, access key id and secret, one line).") var quiet = false

        func validate() throws {
            guard APIKeyRole(rawValue: role) != nil else { throw ValidationError("--role must be read, write or admin, not '\(role)'") }
        }

        func run() async throws {
            let opened = try await services.open()
            let made = APIKeyToken.generate(name: name, role: APIKeyRole(rawValue: role) ?? .read, tables: tables.isEmpty ? nil : tables)
            let madeID = made.record.id
            do {
                try await opened.catalog.createAPIKey(made.record, secretHash: made.secretHash)
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
            var credentials: (accessKey: String, secret: String)? = nil
            if s3 {
                let made = APIKeyToken.s3Credentials(for: made.record)
                do {
                    try await opened.catalog.setS3Credentials(keyID: madeID, accessKey: made.accessKey, secret: made.secret)
                } catch {
                    printError(error.description)
                    throw ExitCode.failure
                }
                credentials = made
            }
            if quiet {
                print(([made.token] + (credentials.map { [$0.accessKey, $0.secret] } ?? [])).joined(separator: " "))
            } else {
                print("created key \(made.record.id) (\(role)\(tables.isEmpty ? ", every table" : ", tables " + tables.joined(separator: ", ")))")
                print("token (shown once): \(made.token)")
                if let credentials {
                    print("S3 access key id: \(credentials.accessKey)")
                    print("S3 secret (shown once): \(credentials.secret)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")
        @OptionGroup var services: ServiceOptions

        func run() async throws {
            let opened = try await services.open()
            do {
                for key in try await opened.catalog.apiKeys() {
                    print("\(key.id)  \(key.name)  \(key.role.rawValue)  tables=\(key.tables?.joined(separator: ",") ?? "*")\(key.revoked ? "  revoked" : "")")
                }
            } catch {
                printError(error.description)
                throw ExitCode.failure
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by id; servers refuse it from their next request.")
        @OptionGroup var services: ServiceOptions
        @Argument(help: "The key's id (12 hex digits, the part after kyma_).") var id: String

        func run() async throws {
            let opened = try await services.open()
            do {
                guard try await opened.catalog.revokeAPIKey(id: id) else {
                    printError("no active key '\(id)'")
                    throw ExitCode.failure
                }
                print("revoked key \(id)")
            } catch let error as CatalogError {
                printError(error.description)
                throw ExitCode.failure
            }
        }
    }
}
