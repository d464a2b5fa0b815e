// Where every `kyma` command finds its catalog and object store.
//
// Precedence, first match wins: command-line flags (--catalog, --store), the environment
// (KYMA_CATALOG, KYMA_STORE), a kyma.toml (from --config, KYMA_CONFIG or the working
// directory), and last the dev services that `harness/services up` started (recorded in
// .kyma/services.env in the project, found by walking up from the working directory).

#if canImport(Glibc)
import Glibc
#endif
import KymaCore
import KymaObjectStore
import KymaObjectStoreS3

/// A configured value and where it came from, for messages ("catalog from KYMA_CATALOG").
public struct Sourced<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var source: String

    public init(_ value: Value, source: String) {
        self.value = value
        self.source = source
    }
}

public struct KymaConfiguration: Sendable, Hashable {
    public var catalogURL: Sourced<String>
    public var store: Sourced<StoreLocation>
    /// Local read-through cache for the object store; nil disables it.
    public var cacheDirectory: String?
    public var cacheCapacityBytes: Int
    /// kyma.toml's `[server]` table (read by `kyma serve`), and the file it came from.
    public var serverTable: Sourced<TOMLTable>?
    /// Slows the durable store to S3-like latency and bandwidth (benchmarks and fault drills on
    /// one machine): KYMA_STORE_THROTTLE or kyma.toml's store_throttle, `latency_ms=N[,mbps=M]`.
    public var storeThrottle: StoreThrottle?

    public init(catalogURL: Sourced<String>, store: Sourced<StoreLocation>, cacheDirectory: String?, cacheCapacityBytes: Int = 1 << 30,
                serverTable: Sourced<TOMLTable>? = nil) {
        self.catalogURL = catalogURL
        self.store = store
        self.cacheDirectory = cacheDirectory
        self.cacheCapacityBytes = cacheCapacityBytes
        self.serverTable = serverTable
    }

    /// What the command line said; nil where a flag was not given.
    public struct Flags: Sendable, Hashable {
        public var catalog: String?
        public var store: String?
        public var cacheDirectory: String?
        public var configFile: String?

        public init(catalog: String? = nil, store: String? = nil, cacheDirectory: String? = nil, configFile: String? = nil) {
            self.catalog = catalog
            self.store = store
            self.cacheDirectory = cacheDirectory
            self.configFile = configFile
        }
    }

    /// Resolves the configuration. `environment` and `workingDirectory` are parameters so tests
    /// can resolve without touching the process's own.
    public static func resolve(
        flags: Flags, environment: [String: String] = ProcessEnvironment.current(), workingDirectory: String = ProcessEnvironment.workingDirectory()
    ) throws(RuntimeError) -> KymaConfiguration {
        let file = try ConfigurationFile.load(flags: flags, environment: environment, workingDirectory: workingDirectory)
        let dev = DevServices.find(from: workingDirectory)

        func pick(_ flag: String?, flagName: String, _ env: String, fileKey: String, devValue: String?) -> Sourced<String>? {
            if let flag, !flag.isEmpty { return Sourced(flag, source: "flag \(flagName)") }
            if let value = environment[env], !value.isEmpty { return Sourced(value, source: "environment \(env)") }
            if let file, let value = file.values[fileKey] { return Sourced(value, source: "\(file.path) key \(fileKey)") }
            if let dev, let devValue { return Sourced(devValue, source: "dev services (\(dev.path))") }
            return nil
        }

        guard let catalog = pick(flags.catalog, flagName: "--catalog", "KYMA_CATALOG", fileKey: "catalog", devValue: dev?.catalog) else {
            throw .missingConfiguration(
                "no catalog configured: pass --catalog postgres://..., set KYMA_CATALOG, add catalog = \"...\" to kyma.toml, or run harness/services up")
        }
        guard let storeText = pick(flags.store, flagName: "--store", "KYMA_STORE", fileKey: "store", devValue: dev?.store) else {
            throw .missingConfiguration(
                "no object store configured: pass --store file:///path or s3://bucket/prefix?endpoint=..., set KYMA_STORE, add store = \"...\" to kyma.toml, or run harness/services up")
        }
        let store = try StoreLocation.parse(storeText.value, source: storeText.source, environment: environment)
        let cache = pick(flags.cacheDirectory, flagName: "--cache-dir", "KYMA_CACHE_DIR", fileKey: "cache_dir", devValue: dev?.cacheDirectory)
        var capacity = 1 << 30
        if let text = environment["KYMA_CACHE_BYTES"] ?? file?.values["cache_bytes"] {
            guard let value = Int(text), value >= 0 else {
                throw .invalidConfiguration(key: "cache_bytes", reason: "'\(text)' is not a byte count")
            }
            capacity = value
        }
        let cacheDirectory = cache.map(\.value).flatMap { $0 == "none" ? nil : $0 }
        var configuration = KymaConfiguration(catalogURL: catalog, store: Sourced(store, source: storeText.source),
                                              cacheDirectory: cacheDirectory, cacheCapacityBytes: capacity,
                                              serverTable: file?.server.map { Sourced($0, source: "\(file?.path ?? "kyma.toml") [server]") })
        if let text = environment["KYMA_STORE_THROTTLE"] ?? file?.values["store_throttle"], !text.isEmpty {
            guard let throttle = StoreThrottle.parse(text) else {
                throw .invalidConfiguration(key: "store_throttle", reason: "'\(text)' is not latency_ms=N[,mbps=M]")
            }
            configuration.storeThrottle = throttle
        }
        return configuration
    }
}

/// Where objects live: a local directory or an S3 bucket and prefix.
public enum StoreLocation: Sendable, Hashable, CustomStringConvertible {
    case local(path: String)
    case s3(S3Configuration)

    /// Parses `file:///abs/path` or
    /// `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true`.
    /// S3 credentials come from the AWS environment variables.
    public static func parse(_ text: String, source: String, environment: [String: String]) throws(RuntimeError) -> StoreLocation {
        if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard path.hasPrefix("/") else {
                throw .invalidConfiguration(key: "store (\(source))", reason: "file store needs an absolute path: file:///abs/path, got '\(text)'")
            }
            return .local(path: path)
        }
        if text.hasPrefix("s3://") {
            let rest = text.dropFirst("s3://".count)
            let (location, query) = rest.firstIndex(of: "?").map { (rest[..<$0], rest[rest.index(after: $0)...]) } ?? (rest, "")
            let parts = location.split(separator: "/", maxSplits: 1)
            guard let bucket = parts.first, !bucket.isEmpty else {
                throw .invalidConfiguration(key: "store (\(source))", reason: "s3 store needs a bucket: s3://bucket/prefix, got '\(text)'")
            }
            var options: [String: String] = [:]
            for pair in query.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                options[String(kv[0])] = kv.count > 1 ? percentDecode(String(kv[1])) : ""
            }
            let known: Set = ["endpoint", "region", "path_style"]
            if let unknown = options.keys.first(where: { !known.contains($0) }) {
                throw .invalidConfiguration(key: "store (\(source))", reason: "unknown s3 option '\(unknown)' (known: endpoint, region, path_style)")
            }
            let region = options["region"] ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
            let endpoint = options["endpoint"] ?? "https://s3.\(region).amazonaws.com"
            let pathStyle = options["path_style"].map { $0 == "true" || $0 == "1" } ?? (options["endpoint"] != nil)
            var credentials: S3Credentials? = nil
            if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"] {
                credentials = S3Credentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
            }
            return .s3(S3Configuration(endpoint: endpoint, region: region, bucket: String(bucket),
                                       prefix: parts.count > 1 ? String(parts[1]) : "", pathStyle: pathStyle, credentials: credentials))
        }
        throw .invalidConfiguration(key: "store (\(source))", reason: "'\(text)' is neither file:///path nor s3://bucket/prefix")
    }

    public var description: String {
        switch self {
        case .local(let path): "file://\(path)"
        case .s3(let c): "s3://\(c.bucket)\(c.prefix.isEmpty ? "" : "/" + c.prefix) at \(c.endpoint) (\(c.region))"
        }
    }

    static func percentDecode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// kyma.toml: top-level string keys `catalog`, `store`, `cache_dir`, `cache_bytes`, and a
/// `[server]` table that `kyma serve` reads (docs/server.md).
struct ConfigurationFile {
    var path: String
    var values: [String: String]
    var server: TOMLTable?

    static let knownKeys: Set = ["catalog", "store", "cache_dir", "cache_bytes"]

    static func load(flags: KymaConfiguration.Flags, environment: [String: String], workingDirectory: String) throws(RuntimeError) -> ConfigurationFile? {
        let explicit = flags.configFile ?? environment["KYMA_CONFIG"]
        let path = explicit ?? workingDirectory + "/kyma.toml"
        guard let text = ProcessEnvironment.readFile(path) else {
            if explicit != nil { throw .invalidConfiguration(key: "config", reason: "cannot read '\(path)'") }
            return nil
        }
        let table: TOMLTable
        do {
            table = try TOML.parse(text)
        } catch {
            throw .invalidConfiguration(key: path, reason: error.description)
        }
        var values: [String: String] = [:]
        var server: TOMLTable? = nil
        for (key, value) in table {
            if key == "server" {
                guard let section = value.table else { throw .invalidConfiguration(key: "\(path) key server", reason: "must be a table: [server]") }
                server = section
                continue
            }
            guard knownKeys.contains(key) else {
                throw .invalidConfiguration(key: "\(path) key \(key)", reason: "unknown key (known: \(knownKeys.sorted().joined(separator: ", ")), [server])")
            }
            if let text = value.string {
                values[key] = text
            } else if let number = value.int {
                values[key] = String(number)
            } else {
                throw .invalidConfiguration(key: "\(path) key \(key)", reason: "must be a string")
            }
        }
        return ConfigurationFile(path: path, values: values, server: server)
    }
}

/// The dev services recorded by `harness/services up` in `.kyma/services.env`.
struct DevServices {
    var path: String
    var catalog: String?
    var store: String?
    var cacheDirectory: String?

    static func find(from directory: String) -> DevServices? {
        var current = directory
        while true {
            let path = current + "/.kyma/services.env"
            if let text = ProcessEnvironment.readFile(path) {
                var values: [String: String] = [:]
                for line in text.split(separator: "\n") {
                    var line = Substring(line)
                    if line.hasPrefix("export ") { line = line.dropFirst("export ".count) }
                    guard let equals = line.firstIndex(of: "=") else { continue }
                    var value = line[line.index(after: equals)...]
                    if value.hasPrefix("'") && value.hasSuffix("'") && value.count >= 2 { value = value.dropFirst().dropLast() }
                    values[String(line[..<equals])] = String(value)
                }
                return DevServices(path: path, catalog: values["KYMA_CATALOG"], store: values["KYMA_STORE"],
                                   cacheDirectory: values["KYMA_CACHE_DIR"])
            }
            guard let slash = current.lastIndex(of: "/"), current != "/" else { return nil }
            current = slash == current.startIndex ? "/" : String(current[..<slash])
        }
    }
}

/// The process's environment and files, read without Foundation.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    public static func workingDirectory() -> String {
        guard let pointer = getcwd(nil, 0) else { return "/" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    static func readFile(_ path: String) -> String? {
        LocalFile.readAll(path).map { String(decoding: $0, as: UTF8.self) }
    }
}
