// How `kyma serve` runs: where it listens, whether keys are required, and its limits. Read from
// kyma.toml's `[server]` table, then overridden by flags (docs/server.md lists every key).

import KymaCore
import KymaRuntime

public struct ServerSettings: Sendable, Hashable {
    public var host = "127.0.0.1"
    /// 0: any free port (tests read the bound one from `RunningServer.port`).
    public var port = 7878
    /// API keys are required on every route but the public ones (health, metrics, the spec and
    /// the console page). Off only when asked for (`--no-auth`), with a warning.
    public var authRequired = true
    /// Origins allowed to call the API from a browser; empty: no CORS headers at all.
    public var corsOrigins: [String] = []
    /// Largest request body, after decompression.
    public var maxBodyBytes = 256 << 20
    /// Largest request head (request line and headers).
    public var maxHeaderBytes = 64 << 10
    /// A connection with no request for this long is closed.
    public var idleTimeoutSeconds = 60.0
    /// A request body that sends nothing for this long is abandoned (a slow client cannot hold
    /// an ingest slot).
    public var bodyStallSeconds = 30.0
    /// Queries running at once; more get 429 with Retry-After.
    public var maxConcurrentQueries = 32
    /// Ingest requests running at once (NDJSON, `_bulk`, OTLP); more get 429 with Retry-After.
    public var maxConcurrentIngests = 8
    /// A query's time budget when the request gives none (`timeout_ms` may only lower it).
    public var queryTimeoutSeconds = 300.0
    /// Bytes a query may read from the store, and hold in aggregations and sorts.
    public var queryMaxBytesRead = 64 << 30
    public var queryMaxMemoryBytes = 2 << 30
    /// Scan units a query reads at once.
    public var queryParallelism = 2
    /// Bytes one query response may carry; past it the query stops and the stream ends with a
    /// budget error (an export of millions of rows fits; a runaway `take 100000000` does not).
    public var maxResultBytes = 4 << 30
    /// How often the node's heartbeat is written to the catalog.
    public var heartbeatSeconds = 5.0
    /// Where the node serves the internal leaf API (gRPC) to coordinators; port 0 picks a free
    /// one, registered in the catalog. nil: off, and this node scans its queries' units on its
    /// own tasks and takes no units from others (docs/distribution.md).
    public var leafBind: String? = "127.0.0.1:0"
    /// A node whose last heartbeat is older than this leaves the set units are placed on.
    public var nodeTimeoutSeconds = 15
    /// Where the S3 byte plane listens (docs/k3.md); nil: it is off. Port 0: any free port.
    public var s3Host: String? = "127.0.0.1"
    public var s3Port = 7879
    /// Largest S3 object (and part). An object is held in memory while it is put or read.
    public var maxObjectBytes = 1 << 30

    public init() {}

    public var bind: String { "\(host):\(port)" }

    /// Applies `--leaf-bind HOST:PORT|off`.
    public mutating func setLeafBind(_ text: String) throws(RuntimeError) {
        if text == "off" {
            leafBind = nil
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
              colon != text.startIndex else {
            throw .invalidConfiguration(key: "leaf_bind", reason: "'\(text)' is not HOST:PORT or off")
        }
        leafBind = text
    }

    /// Applies `--bind HOST:PORT`.
    public mutating func setBind(_ text: String) throws(RuntimeError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port),
              colon != text.startIndex else {
            throw .invalidConfiguration(key: "bind", reason: "'\(text)' is not HOST:PORT")
        }
        host = String(text[..<colon])
        self.port = port
    }

    /// Applies `--s3-bind HOST:PORT`, or `off`.
    public mutating func setS3Bind(_ text: String) throws(RuntimeError) {
        if text == "off" {
            s3Host = nil
            return
        }
        var parsed = ServerSettings()
        do throws(RuntimeError) {
            try parsed.setBind(text)
        } catch {
            throw .invalidConfiguration(key: "s3_bind", reason: "'\(text)' is not HOST:PORT or off")
        }
        s3Host = parsed.host
        s3Port = parsed.port
    }

    /// The settings of kyma.toml's `[server]` table over the defaults.
    public static func from(_ table: Sourced<TOMLTable>?) throws(RuntimeError) -> ServerSettings {
        var settings = ServerSettings()
        guard let table else { return settings }
        let source = table.source
        func number(_ key: String, _ value: TOMLValue, positive: Bool = true) throws(RuntimeError) -> Double {
            guard let number = value.double ?? value.int.map(Double.init), number.isFinite, !positive || number > 0 else {
                throw .invalidConfiguration(key: "\(source) \(key)", reason: "must be a positive number")
            }
            return number
        }
        func count(_ key: String, _ value: TOMLValue) throws(RuntimeError) -> Int {
            guard let number = value.int, number >= 1 else { throw .invalidConfiguration(key: "\(source) \(key)", reason: "must be an integer of at least 1") }
            return number
        }
        for (key, value) in table.value {
            switch key {
            case "bind":
                guard let text = value.string else { throw .invalidConfiguration(key: "\(source) bind", reason: "must be a string HOST:PORT") }
                try settings.setBind(text)
            case "auth":
                guard let flag = value.bool else { throw .invalidConfiguration(key: "\(source) auth", reason: "must be true or false") }
                settings.authRequired = flag
            case "cors_origins":
                guard let items = value.array?.compactMap(\.string), items.count == value.array?.count else {
                    throw .invalidConfiguration(key: "\(source) cors_origins", reason: "must be an array of origins, e.g. [\"http://localhost:3000\"]")
                }
                settings.corsOrigins = items
            case "max_body_mb": settings.maxBodyBytes = Int(try number(key, value) * 1_048_576)
            case "max_header_kb": settings.maxHeaderBytes = Int(try number(key, value) * 1024)
            case "idle_timeout_seconds": settings.idleTimeoutSeconds = try number(key, value)
            case "body_stall_seconds": settings.bodyStallSeconds = try number(key, value)
            case "max_concurrent_queries": settings.maxConcurrentQueries = try count(key, value)
            case "max_concurrent_ingests": settings.maxConcurrentIngests = try count(key, value)
            case "query_timeout_seconds": settings.queryTimeoutSeconds = try number(key, value)
            case "query_max_bytes_read": settings.queryMaxBytesRead = try count(key, value)
            case "query_max_memory_bytes": settings.queryMaxMemoryBytes = try count(key, value)
            case "query_parallelism": settings.queryParallelism = try count(key, value)
            case "max_result_mb": settings.maxResultBytes = Int(try number(key, value) * 1_048_576)
            case "heartbeat_seconds": settings.heartbeatSeconds = try number(key, value)
            case "leaf_bind":
                guard let text = value.string else { throw .invalidConfiguration(key: "\(source) leaf_bind", reason: "must be a string HOST:PORT or \"off\"") }
                try settings.setLeafBind(text)
            case "node_timeout_seconds": settings.nodeTimeoutSeconds = try count(key, value)
            case "s3_bind":
                guard let text = value.string else { throw .invalidConfiguration(key: "\(source) s3_bind", reason: "must be a string HOST:PORT or \"off\"") }
                try settings.setS3Bind(text)
            case "max_object_mb": settings.maxObjectBytes = Int(try number(key, value) * 1_048_576)
            default:
                throw .invalidConfiguration(key: "\(source) \(key)", reason: "unknown key (known: \(knownKeys.joined(separator: ", ")))")
            }
        }
        return settings
    }

    public static let knownKeys = ["bind", "auth", "cors_origins", "max_body_mb", "max_header_kb", "idle_timeout_seconds", "body_stall_seconds",
                                   "max_concurrent_queries", "max_concurrent_ingests", "query_timeout_seconds", "query_max_bytes_read",
                                   "query_max_memory_bytes", "query_parallelism", "max_result_mb", "heartbeat_seconds", "leaf_bind", "node_timeout_seconds",
                                   "s3_bind", "max_object_mb"]
}
