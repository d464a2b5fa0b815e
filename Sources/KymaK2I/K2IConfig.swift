// k2i's configuration: the TOML layout k2i users know ([kafka], [iceberg], [buffer],
// [transaction_log], [maintenance], [monitoring]) plus Kyma's additions ([kafka.format],
// [circuit_breaker], [iceberg.object_store]). Every key is declared once in `K2IConfig.keys`
// with its type, default and environment variable; unknown keys, wrong types and bad values are
// errors naming the key. Secrets are a string or `{ file = "path" }` and print as REDACTED.

import Foundation
import KymaCore
import KymaIceberg

public enum K2IConfigError: Error, Sendable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case syntax(path: String, line: Int, reason: String)
    case unknownKey(String)
    case invalid(key: String, reason: String)
    case missing(key: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .syntax(let path, let line, let reason): "\(path) line \(line): \(reason)"
        case .unknownKey(let key): "unknown key '\(key)' (see docs/k2i.md for every key)"
        case .invalid(let key, let reason): "key '\(key)': \(reason)"
        case .missing(let key): "key '\(key)' is required"
        }
    }
}

/// A secret: its value, never printed.
public struct Secret: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "REDACTED" }
}

/// One declared key.
struct KeySpec {
    enum Kind { case string, int, double, bool, secret, choice([String]) }
    let key: String
    let kind: Kind
    let defaultValue: String?
    let help: String
    var environment: String { Self.environment(of: key) }

    /// `K2I_<SECTION>_<KEY>`, dots as underscores.
    static func environment(of key: String) -> String { "K2I_" + key.uppercased().replacingOccurrences(of: ".", with: "_") }
}

/// A parsed, validated configuration.
public struct K2IConfig: Sendable {
    public struct PartitionField: Sendable, Hashable {
        public var sourceField: String
        public var transform: String

        public init(sourceField: String, transform: String) {
            self.sourceField = sourceField
            self.transform = transform
        }
    }

    /// Raw values by dotted key (after defaults and environment overrides), as text.
    let values: [String: String]
    let secrets: [String: Secret]
    /// `[kafka.properties]`: librdkafka settings passed through as they are.
    public let kafkaProperties: [String: String]
    /// `[kafka.format.schema]`: column name -> type (long, double, string, boolean, timestamptz).
    public let schema: [(name: String, type: String)]
    public let partitionSpec: [PartitionField]

    // MARK: - The declared keys

    static let keys: [KeySpec] = [
        KeySpec(key: "kafka.bootstrap_servers", kind: .string, defaultValue: nil, help: "Kafka brokers, host:port[,host:port]"),
        KeySpec(key: "kafka.topic", kind: .string, defaultValue: nil, help: "topic to consume"),
        KeySpec(key: "kafka.consumer_group", kind: .string, defaultValue: nil, help: "consumer group id"),
        KeySpec(key: "kafka.batch_size", kind: .int, defaultValue: "1000", help: "records taken per poll round"),
        KeySpec(key: "kafka.batch_timeout_ms", kind: .int, defaultValue: "5000", help: "longest wait for a poll round"),
        KeySpec(key: "kafka.session_timeout_ms", kind: .int, defaultValue: "30000", help: "group session timeout"),
        KeySpec(key: "kafka.heartbeat_interval_ms", kind: .int, defaultValue: "3000", help: "group heartbeat interval"),
        KeySpec(key: "kafka.max_poll_interval_ms", kind: .int, defaultValue: "300000", help: "longest time between polls before the group evicts k2i"),
        KeySpec(key: "kafka.auto_offset_reset", kind: .choice(["earliest", "latest"]), defaultValue: "earliest",
                help: "where a partition the table has no offsets for starts (never at the group's committed offset: those are for lag monitoring)"),
        KeySpec(key: "kafka.dead_letter_topic", kind: .string, defaultValue: nil, help: "topic for rejected records (else rejected_file)"),
        KeySpec(key: "kafka.rejected_file", kind: .string, defaultValue: "./k2i-rejected.jsonl", help: "JSON lines file for rejected records when no dead-letter topic is set"),
        KeySpec(key: "kafka.security.protocol", kind: .choice(["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]), defaultValue: "plaintext", help: "security.protocol (any case: the original k2i writes SASL_SSL)"),
        KeySpec(key: "kafka.security.sasl_mechanism", kind: .string, defaultValue: nil, help: "sasl.mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"),
        KeySpec(key: "kafka.security.sasl_username", kind: .secret, defaultValue: nil, help: "sasl.username (secret, as in the original k2i)"),
        KeySpec(key: "kafka.security.sasl_password", kind: .secret, defaultValue: nil, help: "sasl.password (secret)"),
        KeySpec(key: "kafka.security.ssl_ca_location", kind: .string, defaultValue: nil, help: "ssl.ca.location"),
        KeySpec(key: "kafka.security.ssl_cert_location", kind: .string, defaultValue: nil, help: "ssl.certificate.location"),
        KeySpec(key: "kafka.security.ssl_key_location", kind: .string, defaultValue: nil, help: "ssl.key.location"),
        KeySpec(key: "kafka.format.type", kind: .choice(["json", "raw", "protobuf"]), defaultValue: nil,
                help: "json: values are JSON objects, their keys become columns; raw: the original k2i's columns (key, value, topic, partition, offset, timestamp). Absent: json when [kafka.format] sets key_field, timestamp_field, infer_from_records or a schema, else raw (the original's default)"),
        KeySpec(key: "kafka.format.schema_registry_url", kind: .string, defaultValue: nil, help: "accepted for compatibility (protobuf only, which this build does not decode)"),
        KeySpec(key: "kafka.format.subject_strategy", kind: .choice(["topic_name", "record_name", "topic_record_name"]), defaultValue: "topic_name",
                help: "accepted for compatibility (protobuf only)"),
        KeySpec(key: "kafka.format.message_type", kind: .string, defaultValue: nil, help: "accepted for compatibility (protobuf only)"),
        KeySpec(key: "kafka.format.cache_ttl_seconds", kind: .int, defaultValue: "300", help: "accepted for compatibility (protobuf only)"),
        KeySpec(key: "kafka.format.latest_on_startup", kind: .bool, defaultValue: "true", help: "accepted for compatibility (protobuf only)"),
        KeySpec(key: "kafka.format.key_field", kind: .string, defaultValue: nil, help: "field indexed in the hot buffer (O(1) lookups)"),
        KeySpec(key: "kafka.format.timestamp_field", kind: .string, defaultValue: nil, help: "RFC 3339 field stored as timestamptz"),
        KeySpec(key: "kafka.format.infer_from_records", kind: .int, defaultValue: "100", help: "records the schema is inferred from when [kafka.format.schema] is absent"),
        KeySpec(key: "kafka.format.max_record_bytes", kind: .int, defaultValue: "1048576", help: "larger records are rejected"),
        KeySpec(key: "iceberg.catalog_type", kind: .choice(["sql", "rest", "glue", "hive", "nessie"]), defaultValue: "sql", help: "sql (PostgreSQL), rest or glue"),
        KeySpec(key: "iceberg.warehouse_path", kind: .string, defaultValue: nil, help: "the warehouse: file:///abs/path or s3://bucket/prefix; a table lives in `<warehouse_path>/<database_name>/<table_name>`"),
        KeySpec(key: "iceberg.database_name", kind: .string, defaultValue: nil, help: "namespace"),
        KeySpec(key: "iceberg.table_name", kind: .string, defaultValue: nil, help: "table"),
        KeySpec(key: "iceberg.target_file_size_mb", kind: .int, defaultValue: "512", help: "data files are cut near this size"),
        KeySpec(key: "iceberg.compression", kind: .choice(["zstd", "none", "snappy", "lz4", "gzip"]), defaultValue: "zstd", help: "Parquet page codec (snappy, gzip, lz4 = LZ4_RAW, zstd, none)"),
        KeySpec(key: "iceberg.rest_uri", kind: .string, defaultValue: nil, help: "REST catalog base URL"),
        KeySpec(key: "iceberg.rest_token", kind: .secret, defaultValue: nil, help: "REST catalog bearer token (secret)"),
        KeySpec(key: "iceberg.aws_region", kind: .string, defaultValue: "us-east-1", help: "Glue / S3 region"),
        KeySpec(key: "iceberg.aws_access_key_id", kind: .secret, defaultValue: nil, help: "Glue / S3 access key (secret)"),
        KeySpec(key: "iceberg.aws_secret_access_key", kind: .secret, defaultValue: nil, help: "Glue / S3 secret key (secret)"),
        KeySpec(key: "iceberg.glue_endpoint", kind: .string, defaultValue: nil, help: "Glue endpoint URL (e.g. moto)"),
        KeySpec(key: "iceberg.s3_endpoint", kind: .string, defaultValue: nil, help: "S3 endpoint URL for an s3:// warehouse"),
        KeySpec(key: "iceberg.sql_catalog.url", kind: .secret, defaultValue: nil, help: "postgres://user@host:port/db of the SQL catalog (secret: may hold a password)"),
        KeySpec(key: "iceberg.object_store.type", kind: .choice(["filesystem", "s3", "gcs", "azure"]), defaultValue: nil,
                help: "filesystem or s3; must agree with warehouse_path's scheme (which is what Kyma reads)"),
        KeySpec(key: "iceberg.object_store.root", kind: .string, defaultValue: nil, help: "when set, warehouse_path must lie under it"),
        KeySpec(key: "iceberg.sql_catalog.type", kind: .choice(["postgres", "sqlite"]), defaultValue: "postgres",
                help: "postgres (sqlite would be an embedded catalog, which Kyma does not have)"),
        KeySpec(key: "iceberg.sql_catalog.catalog_name", kind: .string, defaultValue: "kyma", help: "the catalog_name column (pyiceberg's catalog name)"),
        KeySpec(key: "buffer.ttl_seconds", kind: .int, defaultValue: "60", help: "oldest buffered row age before a flush"),
        KeySpec(key: "buffer.max_size_mb", kind: .int, defaultValue: "500", help: "buffer bytes that trigger a flush"),
        KeySpec(key: "buffer.flush_interval_seconds", kind: .int, defaultValue: "30", help: "flush at least this often when rows are buffered"),
        KeySpec(key: "buffer.flush_batch_size", kind: .int, defaultValue: "10000", help: "buffered rows that trigger a flush"),
        KeySpec(key: "buffer.memory_alignment_bytes", kind: .int, defaultValue: "64",
                help: "accepted for compatibility (a power of two, 8...4096); the buffer's column arrays are large allocations, which jemalloc page-aligns"),
        KeySpec(key: "buffer.memory_limit_mb", kind: .int, defaultValue: "1024", help: "backpressure limit: partitions pause at high_watermark_percent of it"),
        KeySpec(key: "buffer.high_watermark_percent", kind: .int, defaultValue: "80", help: "pause consumption above this share of memory_limit_mb"),
        KeySpec(key: "buffer.low_watermark_percent", kind: .int, defaultValue: "50", help: "resume below this share"),
        KeySpec(key: "transaction_log.log_dir", kind: .string, defaultValue: "./transaction_logs", help: "directory of the local transaction log (a cache)"),
        KeySpec(key: "transaction_log.checkpoint_interval_entries", kind: .int, defaultValue: "10000", help: "accepted for compatibility: the log is cut at every commit"),
        KeySpec(key: "transaction_log.checkpoint_interval_seconds", kind: .int, defaultValue: "300", help: "accepted for compatibility: the log is cut at every commit"),
        KeySpec(key: "transaction_log.max_log_files", kind: .int, defaultValue: "10", help: "accepted for compatibility (two files: the log and the records of the commit in flight)"),
        KeySpec(key: "maintenance.compaction_enabled", kind: .bool, defaultValue: "true", help: "compact small files on a schedule"),
        KeySpec(key: "maintenance.compaction_interval_seconds", kind: .int, defaultValue: "3600", help: "between compactions"),
        KeySpec(key: "maintenance.compaction_threshold_mb", kind: .int, defaultValue: "100", help: "files under this size are compacted"),
        KeySpec(key: "maintenance.compaction_target_mb", kind: .int, defaultValue: "512", help: "size of compacted files"),
        KeySpec(key: "maintenance.snapshot_expiration_enabled", kind: .bool, defaultValue: "true", help: "expire old snapshots on a schedule"),
        KeySpec(key: "maintenance.snapshot_retention_days", kind: .double, defaultValue: "7", help: "snapshots older than this are expired (the newest keep_last stay)"),
        KeySpec(key: "maintenance.snapshot_keep_last", kind: .int, defaultValue: "10", help: "snapshots always kept"),
        KeySpec(key: "maintenance.orphan_cleanup_enabled", kind: .bool, defaultValue: "true", help: "delete unreferenced files on a schedule"),
        KeySpec(key: "maintenance.orphan_retention_days", kind: .double, defaultValue: "3", help: "only files older than this are orphans"),
        KeySpec(key: "maintenance.statistics_enabled", kind: .bool, defaultValue: "true",
                help: "accepted for compatibility: every commit already records each file's value, null and NaN counts and bounds per column in its manifest entry, which is what planners read"),
        KeySpec(key: "maintenance.statistics_interval_seconds", kind: .int, defaultValue: "3600", help: "accepted for compatibility (see statistics_enabled)"),
        KeySpec(key: "maintenance.interval_seconds", kind: .int, defaultValue: "3600", help: "between expiry and orphan-cleanup runs"),
        KeySpec(key: "monitoring.metrics_port", kind: .int, defaultValue: "9090", help: "port of /metrics (0: same as health_port)"),
        KeySpec(key: "monitoring.health_port", kind: .int, defaultValue: "8080", help: "port of /health, /healthz, /readyz, /status, /lookup"),
        KeySpec(key: "monitoring.query_max_scan_mb", kind: .double, defaultValue: "256",
                help: "most Parquet bytes of committed files one /query reads after pruning by their bounds (a larger query is refused with 413); also the budget of the files kept for later queries"),
        KeySpec(key: "monitoring.bind_address", kind: .string, defaultValue: "127.0.0.1", help: "address the HTTP listener binds"),
        KeySpec(key: "monitoring.log_level", kind: .choice(["trace", "debug", "info", "warn", "error"]), defaultValue: "info", help: "log level"),
        KeySpec(key: "monitoring.log_format", kind: .choice(["json", "text"]), defaultValue: "text", help: "log line format"),
        KeySpec(key: "schema_evolution.mode", kind: .choice(["auto-additive", "manual", "permissive"]), defaultValue: "auto-additive",
                help: "auto-additive: a record's new fields become optional columns; manual: the schema stays, new fields are skipped; permissive: reserved by the original k2i, here the same as auto-additive"),
        KeySpec(key: "schema_evolution.on_breaking_change", kind: .choice(["skip-message", "fail", "pause"]), defaultValue: "skip-message",
                help: "a record whose value has another type than its column: skip-message (dead-letter topic or rejected file), pause (consumption stops there until a restart; the process stays up, not ready) or fail (exit 10)"),
        KeySpec(key: "schema_evolution.schema_update_min_interval_seconds", kind: .int, defaultValue: "60",
                help: "at most one schema update per interval; new fields in between are skipped in those records"),
        KeySpec(key: "rpc.enabled", kind: .bool, defaultValue: "false",
                help: "the original's Unix-socket scan service; must stay false: queries read the hot buffer over HTTP (/query, /lookup)"),
        KeySpec(key: "rpc.socket_path", kind: .string, defaultValue: "./run/k2i.sock", help: "accepted for compatibility (rpc is not served)"),
        KeySpec(key: "rpc.read_timeout_ms", kind: .int, defaultValue: "1000", help: "accepted for compatibility (rpc is not served)"),
        KeySpec(key: "rpc.max_concurrent_scans", kind: .int, defaultValue: "64", help: "accepted for compatibility (rpc is not served)"),
        KeySpec(key: "rpc.scan_ttl_seconds", kind: .int, defaultValue: "300", help: "accepted for compatibility (rpc is not served)"),
        KeySpec(key: "rpc.max_frame_bytes", kind: .int, defaultValue: "67108864", help: "accepted for compatibility (rpc is not served)"),
        KeySpec(key: "circuit_breaker.failure_threshold", kind: .int, defaultValue: "3", help: "consecutive commit failures that open the breaker"),
        KeySpec(key: "circuit_breaker.cooldown_seconds", kind: .double, defaultValue: "5", help: "time open before a trial commit (half-open)"),
    ]

    static let keyNames = Set(keys.map(\.key))
    /// Every declared key (docs/k2i.md must list them all; a test checks).
    public static var allKeys: [String] { keys.map(\.key) }
    /// Tables holding free-form entries rather than declared keys.
    static let openTables: Set<String> = ["kafka.properties", "kafka.format.schema"]

    // MARK: - Loading

    /// Reads and validates `path`; `environment` overrides (`K2I_<SECTION>_<KEY>`).
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(K2IConfigError) -> K2IConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch { throw .unreadable(path: path, reason: "\(error.localizedDescription)") }
        return try parse(text, path: path, environment: environment)
    }

    public static func parse(_ text: String, path: String = "config.toml", environment: [String: String] = [:]) throws(K2IConfigError) -> K2IConfig {
        let table: TOMLTable
        do {
            table = try TOML.parse(text)
        } catch {
            throw .syntax(path: path, line: error.line, reason: "column \(error.column): \(error.reason)")
        }
        var raw: [String: String] = [:]
        var secretFiles: [String: String] = [:]
        var properties: [String: String] = [:]
        var schema: [(String, String)] = []
        var partitions: [PartitionField] = []

        func scalar(_ value: TOMLValue, key: String) throws(K2IConfigError) -> String {
            if let s = value.string { return s }
            if let b = value.bool { return b ? "true" : "false" }
            if let i = value.int { return String(i) }
            if let d = value.double { return String(d) }
            if let array = value.array {
                var items: [String] = []
                for item in array {
                    guard let s = item.string else { throw .invalid(key: key, reason: "a list must hold strings") }
                    items.append(s)
                }
                return items.joined(separator: ",")
            }
            throw .invalid(key: key, reason: "expected a string, number, boolean or list")
        }

        func walk(_ table: TOMLTable, prefix: String) throws(K2IConfigError) {
            for (name, value) in table {
                let key = prefix.isEmpty ? name : prefix + "." + name
                if key == "kafka.properties", let t = value.table {
                    for (k, v) in t { properties[k] = try scalar(v, key: key + "." + k) }
                    continue
                }
                if key == "kafka.format.schema", let t = value.table {
                    for (k, v) in t {
                        guard let type = v.string else { throw .invalid(key: key + "." + k, reason: "a column type must be a string") }
                        schema.append((k, type))
                    }
                    continue
                }
                if key == "iceberg.partition_spec", let array = value.array {
                    for item in array {
                        guard let t = item.table, let source = t["source_field"]?.string, let transform = t["transform"].flatMap(Self.transformText) else {
                            throw .invalid(key: key, reason: "each [[iceberg.partition_spec]] needs source_field and transform")
                        }
                        for (k, _) in t where k != "source_field" && k != "transform" { throw .unknownKey(key + "." + k) }
                        partitions.append(PartitionField(sourceField: source, transform: transform))
                    }
                    continue
                }
                if let spec = keys.first(where: { $0.key == key }) {
                    if case .secret = spec.kind, let t = value.table {
                        guard let file = t["file"]?.string, t.count == 1 else { throw .invalid(key: key, reason: "a secret is a string or { file = \"path\" }") }
                        secretFiles[key] = file
                        continue
                    }
                    raw[key] = try scalar(value, key: key)
                    continue
                }
                if let sub = value.table {
                    guard keys.contains(where: { $0.key.hasPrefix(key + ".") }) else { throw .unknownKey(key) }
                    try walk(sub, prefix: key)
                    continue
                }
                throw .unknownKey(key)
            }
        }
        try walk(table, prefix: "")

        // Environment overrides, then defaults, then type checks.
        var values: [String: String] = [:]
        var secrets: [String: Secret] = [:]
        for spec in keys {
            var text = raw[spec.key]
            if let env = environment[spec.environment] { text = env }
            if case .secret = spec.kind {
                if let file = secretFiles[spec.key], environment[spec.environment] == nil {
                    do { text = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
                        throw .invalid(key: spec.key, reason: "cannot read secret file '\(file)'")
                    }
                }
                if let text { secrets[spec.key] = Secret(text) }
                continue
            }
            guard var value = text ?? spec.defaultValue else { continue }
            if spec.key == "kafka.security.protocol" { value = value.lowercased() }
            switch spec.kind {
            case .int: guard Int(value) != nil else { throw .invalid(key: spec.key, reason: "'\(value)' is not an integer") }
            case .double: guard Double(value) != nil else { throw .invalid(key: spec.key, reason: "'\(value)' is not a number") }
            case .bool: guard value == "true" || value == "false" else { throw .invalid(key: spec.key, reason: "'\(value)' is not true or false") }
            case .choice(let options): guard options.contains(value) else { throw .invalid(key: spec.key, reason: "'\(value)' is not one of \(options.joined(separator: ", "))") }
            default: break
            }
            values[spec.key] = value
        }
        if values["kafka.format.type"] == nil {
            // The original k2i stores raw records unless told otherwise; a config that sets any
            // JSON-only key (a key or timestamp field, inference, a schema) means JSON.
            let jsonKeys = ["kafka.format.key_field", "kafka.format.timestamp_field", "kafka.format.infer_from_records"]
            let setsJSONKey = jsonKeys.contains { key in raw[key] != nil || environment[KeySpec.environment(of: key)] != nil }
            values["kafka.format.type"] = setsJSONKey || !schema.isEmpty ? "json" : "raw"
        }
        let config = K2IConfig(values: values, secrets: secrets, kafkaProperties: properties, schema: schema, partitionSpec: partitions)
        try config.validate()
        return config
    }

    /// A partition transform as text: "day", "bucket[16]", or the original k2i's table form
    /// `{ bucket = { num_buckets = 16 } }` / `{ truncate = { width = 4 } }`.
    static func transformText(_ value: TOMLValue) -> String? {
        if let text = value.string { return text }
        guard let table = value.table, table.count == 1, let (name, inner) = table.first(where: { _ in true }) else { return nil }
        let argument = name == "bucket" ? "num_buckets" : "width"
        guard let n = inner.table?[argument]?.int else { return nil }
        return "\(name)[\(n)]"
    }

    /// Rules across keys; each names the key at fault.
    func validate() throws(K2IConfigError) {
        for key in ["kafka.bootstrap_servers", "kafka.topic", "kafka.consumer_group", "iceberg.warehouse_path", "iceberg.database_name", "iceberg.table_name"]
            where (values[key] ?? "").isEmpty { throw .missing(key: key) }
        for key in ["kafka.batch_size", "kafka.batch_timeout_ms", "buffer.max_size_mb", "buffer.flush_batch_size", "buffer.memory_limit_mb",
                    "iceberg.target_file_size_mb", "circuit_breaker.failure_threshold", "buffer.flush_interval_seconds", "buffer.ttl_seconds"]
            where int(key) <= 0 { throw .invalid(key: key, reason: "must be positive") }
        if double("monitoring.query_max_scan_mb") <= 0 { throw .invalid(key: "monitoring.query_max_scan_mb", reason: "must be positive") }
        let high = int("buffer.high_watermark_percent"), low = int("buffer.low_watermark_percent")
        guard high > 0, high <= 100 else { throw .invalid(key: "buffer.high_watermark_percent", reason: "must be in 1...100") }
        guard low >= 0, low < high else { throw .invalid(key: "buffer.low_watermark_percent", reason: "must be below high_watermark_percent (\(high))") }
        switch string("iceberg.catalog_type") {
        case "hive", "nessie": throw .invalid(key: "iceberg.catalog_type", reason: "'\(string("iceberg.catalog_type"))' catalogs are out of scope: use sql, rest or glue")
        case "rest": if (values["iceberg.rest_uri"] ?? "").isEmpty { throw .missing(key: "iceberg.rest_uri") }
        case "glue":
            if (values["iceberg.glue_endpoint"] ?? "").isEmpty && secrets["iceberg.aws_access_key_id"] == nil { throw .missing(key: "iceberg.aws_access_key_id") }
        default: break
        }
        switch string("kafka.format.type") {
        case "protobuf":
            throw .invalid(key: "kafka.format.type", reason: "'protobuf' (schema registry) is not decoded by this build: use json or raw")
        case "raw":
            if !schema.isEmpty { throw .invalid(key: "kafka.format.schema", reason: "raw records have fixed columns (key, value, topic, partition, offset, timestamp)") }
            if let key = values["kafka.format.key_field"], key != "key" {
                throw .invalid(key: "kafka.format.key_field", reason: "with type = raw the only key field is the record key, 'key'")
            }
            if values["kafka.format.timestamp_field"] != nil {
                throw .invalid(key: "kafka.format.timestamp_field", reason: "with type = raw the timestamp is the record's Kafka timestamp (column 'timestamp')")
            }
        default: break
        }
        if let type = values["iceberg.object_store.type"] {
            let scheme = warehouseScheme
            guard type == scheme else {
                throw .invalid(key: "iceberg.object_store.type", reason: "'\(type)' does not match warehouse_path, which is \(scheme == "s3" ? "s3://" : "a local path")\(type == "gcs" || type == "azure" ? " (and \(type) is not supported: use s3 or filesystem)" : "")")
            }
        }
        if let root = values["iceberg.object_store.root"], !root.isEmpty {
            let trimmed = root.hasSuffix("/") ? String(root.dropLast()) : root
            let warehouse = string("iceberg.warehouse_path")
            guard warehouse == trimmed || warehouse.hasPrefix(trimmed + "/") else {
                throw .invalid(key: "iceberg.object_store.root", reason: "'\(root)' does not contain warehouse_path '\(warehouse)'")
            }
        }
        if string("iceberg.sql_catalog.type") == "sqlite" {
            throw .invalid(key: "iceberg.sql_catalog.type", reason: "'sqlite' would be an embedded catalog: Kyma's catalog is always an external PostgreSQL (set url to postgres://...)")
        }
        if bool("rpc.enabled") {
            throw .invalid(key: "rpc.enabled", reason: "the Unix-socket scan service is not served: read the hot buffer over HTTP (/query, /lookup on monitoring.health_port)")
        }
        let alignment = int("buffer.memory_alignment_bytes")
        guard alignment >= 8, alignment <= 4096, alignment & (alignment - 1) == 0 else {
            throw .invalid(key: "buffer.memory_alignment_bytes", reason: "must be a power of two in 8...4096")
        }
        if int("schema_evolution.schema_update_min_interval_seconds") < 0 {
            throw .invalid(key: "schema_evolution.schema_update_min_interval_seconds", reason: "must not be negative")
        }
        let warehouse = string("iceberg.warehouse_path")
        guard warehouse.hasPrefix("file:///") || warehouse.hasPrefix("s3://") || warehouse.hasPrefix("/") else {
            throw .invalid(key: "iceberg.warehouse_path", reason: "'\(warehouse)' is neither an absolute path, file:///path nor s3://bucket/prefix")
        }
        let known = ["long", "int", "double", "float", "string", "boolean", "timestamptz", "timestamp", "binary"]
        for (name, type) in schema where !known.contains(type) {
            throw .invalid(key: "kafka.format.schema.\(name)", reason: "'\(type)' is not one of \(known.joined(separator: ", "))")
        }
        for field in partitionSpec {
            let t = field.transform.lowercased()
            guard IcebergTransform.parse(t) != nil else {
                throw .invalid(key: "iceberg.partition_spec", reason: "transform '\(field.transform)' is not identity, year, month, day, hour, bucket[N] or truncate[W]")
            }
        }
        if let max = Int(values["kafka.format.max_record_bytes"] ?? ""), max <= 0 { throw .invalid(key: "kafka.format.max_record_bytes", reason: "must be positive") }
    }

    /// "s3" for an s3:// warehouse, else "filesystem".
    var warehouseScheme: String { string("iceberg.warehouse_path").hasPrefix("s3://") ? "s3" : "filesystem" }

    // MARK: - Typed access

    public func string(_ key: String) -> String { values[key] ?? "" }
    public func optionalString(_ key: String) -> String? { values[key].flatMap { $0.isEmpty ? nil : $0 } }
    public func int(_ key: String) -> Int { Int(values[key] ?? "") ?? 0 }
    public func double(_ key: String) -> Double { Double(values[key] ?? "") ?? 0 }
    public func bool(_ key: String) -> Bool { values[key] == "true" }
    public func secret(_ key: String) -> Secret? { secrets[key] }

    /// Every key with its effective value, secrets as REDACTED (for `k2i validate`).
    public var rendered: [(key: String, value: String)] {
        Self.keys.compactMap { spec in
            if case .secret = spec.kind { return secrets[spec.key].map { (spec.key, $0.description) } }
            return values[spec.key].map { (spec.key, $0) }
        }
    }

    /// The librdkafka settings of the consumer: the declared keys, then `[kafka.properties]`.
    public var consumerProperties: [String: String] {
        var p: [String: String] = [
            "bootstrap.servers": string("kafka.bootstrap_servers"),
            "group.id": string("kafka.consumer_group"),
            "auto.offset.reset": string("kafka.auto_offset_reset"),
            "session.timeout.ms": string("kafka.session_timeout_ms"),
            "heartbeat.interval.ms": string("kafka.heartbeat_interval_ms"),
            "max.poll.interval.ms": string("kafka.max_poll_interval_ms"),
            "security.protocol": string("kafka.security.protocol"),
            // Freshness: a fetch returns within 100 ms even when no record arrived.
            "fetch.wait.max.ms": "100",
            // librdkafka's prefetch queue is memory too: keep it to an eighth of the buffer's limit.
            "queued.max.messages.kbytes": String(max(1024, int("buffer.memory_limit_mb") * 1024 / 8)),
        ]
        if let v = optionalString("kafka.security.sasl_mechanism") { p["sasl.mechanisms"] = v }
        if let v = secret("kafka.security.sasl_username") { p["sasl.username"] = v.value }
        if let v = secret("kafka.security.sasl_password") { p["sasl.password"] = v.value }
        if let v = optionalString("kafka.security.ssl_ca_location") { p["ssl.ca.location"] = v }
        if let v = optionalString("kafka.security.ssl_cert_location") { p["ssl.certificate.location"] = v }
        if let v = optionalString("kafka.security.ssl_key_location") { p["ssl.key.location"] = v }
        for (k, v) in kafkaProperties { p[k] = v }
        return p
    }
}
