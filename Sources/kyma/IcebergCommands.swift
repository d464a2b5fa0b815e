// `kyma iceberg ...`: Apache Iceberg tables in the SQL catalog on the dev PostgreSQL (catalog name
// `kyma`, pyiceberg-compatible; or `--iceberg-catalog rest|glue`) with files in the configured
// object store: create (schema from JSON lines), append (JSON lines or Parquet), scan, snapshots,
// add-column, and maintenance (compact, expire-snapshots, cleanup-orphans, each with --dry-run).

import ArgumentParser
import KymaCatalog
import KymaBuckets
import KymaCore
import KymaExec
import KymaIceberg
import KymaIngest
import KymaParquet
import KymaQueryService
import KymaRuntime

struct Iceberg: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apache Iceberg tables (SQL catalog on PostgreSQL, REST or Glue): create, append, scan, snapshots, maintenance.",
        subcommands: [Create.self, Append.self, Scan.self, Snapshots.self, AddColumn.self, Compact.self, ExpireSnapshots.self, CleanupOrphans.self])

    static func identifier(_ text: String) throws -> IcebergTableIdentifier {
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw IcebergError.invalid("a table is NAMESPACE.TABLE, not '\(text)'") }
        return IcebergTableIdentifier(namespace: parts[0], name: parts[1])
    }

    /// `year(ts)`, `month(ts)`, `day(ts)`, `hour(ts)`, `bucket(16, id)`, `truncate(4, name)`,
    /// `identity(level)` or `level` (Spark SQL's spelling).
    static func partitionField(_ text: String, fields: [IcebergField], fieldID: Int) throws -> IcebergPartitionField {
        let compact = text.filter { $0 != " " }
        var transform = IcebergTransform.identity
        var column = compact
        if let open = compact.firstIndex(of: "("), compact.hasSuffix(")") {
            let name = String(compact[..<open])
            let arguments = compact[compact.index(after: open)..<compact.index(before: compact.endIndex)].split(separator: ",").map(String.init)
            switch (name, arguments.count) {
            case ("year", 1): transform = .year
            case ("month", 1): transform = .month
            case ("day", 1): transform = .day
            case ("hour", 1): transform = .hour
            case ("identity", 1): transform = .identity
            case ("bucket", 2), ("truncate", 2):
                guard let n = Int(arguments[0]), n > 0 else { throw IcebergError.invalid("the \(name) width in '\(text)' must be a positive integer") }
                transform = name == "bucket" ? .bucket(n) : .truncate(n)
            default:
                throw IcebergError.invalid("partition '\(text)': expected year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col) or identity(col)")
            }
            column = arguments[arguments.count - 1]
        }
        guard let source = fields.first(where: { $0.name == column }) else { throw IcebergError.invalid("partition '\(text)': no column '\(column)'") }
        // Iceberg's names: ts_day, id_bucket, name_trunc.
        let suffix: String
        switch transform {
        case .identity: suffix = ""
        case .year: suffix = "_year"
        case .month: suffix = "_month"
        case .day: suffix = "_day"
        case .hour: suffix = "_hour"
        case .bucket: suffix = "_bucket"
        case .truncate: suffix = "_trunc"
        }
        return IcebergPartitionField(sourceID: source.id, fieldID: fieldID, name: source.name + suffix, transform: transform)
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a table; the schema is inferred from a JSON-lines file (types of the first 1,000 lines).")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Option(name: .customLong("schema-from")) var schemaFrom: String
        @Option(name: .customLong("time-field"), help: "An RFC 3339 string field stored as timestamptz.") var timeField: String?
        @Option(help: "A partition field (repeatable): year(ts), month(ts), day(ts), hour(ts), bucket(16, id), truncate(4, name), identity(level) or a column name.") var partition: [String] = []

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let (fields, _) = try JSONRows.read(schemaFrom, timeField: timeField, limit: 1000)
                let icebergFields = fields.enumerated().map { IcebergField(id: $0 + 1, name: $1.name, type: $1.type) }
                var spec: [IcebergPartitionField] = []
                for (index, text) in partition.enumerated() {
                    spec.append(try Iceberg.partitionField(text, fields: icebergFields, fieldID: 1000 + index))
                }
                let created = try await opened.icebergTables(try icebergCatalog.settings()).create(try Iceberg.identifier(table), fields: icebergFields, partition: spec,
                                                                      nowMillis: wallClockNanos() / 1_000_000)
                print("created iceberg table \(table) at \(created.location) (\(icebergFields.map { "\($0.id):\($0.name) \($0.type.rawValue)" }.joined(separator: ", ")))")
            }
        }
    }

    struct Append: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Append a JSON-lines or Parquet file as one data file and one snapshot.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Argument var file: String
        @Option(name: .customLong("time-field")) var timeField: String?

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let tables = try await opened.icebergTables(try icebergCatalog.settings())
                let identifier = try Iceberg.identifier(table)
                let batches: [ColumnBatch]
                if file.hasSuffix(".parquet") {
                    guard let bytes = LocalFile.readAll(file) else { throw IcebergError.invalid("cannot read '\(file)'") }
                    batches = try ParquetFile(bytes: bytes).readAll()
                } else {
                    let target = try await tables.load(identifier).fields
                    batches = [try JSONRows.read(file, timeField: timeField, limit: nil, into: target.map { ($0.name, $0.type) }).1]
                }
                let snapshot = try await tables.append(identifier, batches: batches, nowMillis: wallClockNanos() / 1_000_000)
                print("appended \(batches.reduce(0) { $0 + $1.rowCount }) rows to \(table) (snapshot \(snapshot))")
            }
        }
    }

    struct Scan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the current snapshot's rows.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Option(help: "json (JSON lines) or csv.") var format = "json"

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                for batch in try await opened.icebergTables(try icebergCatalog.settings()).scan(try Iceberg.identifier(table)) {
                    var out = ""
                    for row in 0..<batch.rowCount {
                        let values = batch.columns.map { $0.value(at: row) }
                        out += format == "csv" ? values.map(ResultFormat.text).map(ResultFormat.csvField).joined(separator: ",") + "\n"
                            : ResultFormat.jsonObject(names: batch.names, values: values) + "\n"
                    }
                    print(out, terminator: "")
                }
            }
        }
    }

    struct Snapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the table's snapshots with their summaries.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let loaded = try await opened.icebergTables(try icebergCatalog.settings()).load(try Iceberg.identifier(table))
                for snapshot in loaded.snapshotSummaries {
                    print("\(snapshot.id)  \(TimeText.rfc3339(snapshot.timestampMillis * 1_000_000))  " +
                          snapshot.summary.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " "))
                }
            }
        }
    }
}

/// `--iceberg-catalog sql|rest|glue` and its settings.
struct IcebergCatalogOptions: ParsableArguments {
    @Option(name: .customLong("iceberg-catalog"), help: "sql (the catalog's PostgreSQL, default), rest or glue (else KYMA_ICEBERG_CATALOG).")
    var kind: String?
    @Option(name: .customLong("rest-uri"), help: "REST catalog base URL (else KYMA_ICEBERG_REST_URL; token from KYMA_ICEBERG_REST_TOKEN).")
    var restURI: String?
    @Option(name: .customLong("glue-endpoint"), help: "Glue endpoint URL (else KYMA_GLUE_ENDPOINT; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).")
    var glueEndpoint: String?
    @Option(name: .customLong("glue-region"), help: "Glue region (else AWS_REGION, else us-east-1).")
    var glueRegion: String?

    func settings() throws -> IcebergCatalogSettings {
        try reportingFailures { () throws(RuntimeError) in
            try IcebergCatalogSettings.resolve(kind: kind, restURL: restURI, glueEndpoint: glueEndpoint, glueRegion: glueRegion)
        }
    }
}

extension Iceberg {
    struct AddColumn: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-column",
            abstract: "Schema evolution: add an optional column (long, double, string, boolean, timestamptz, date, binary); older files read it as null.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Argument var name: String
        @Argument var type: String

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                guard let dataType = IcebergField.dataType(iceberg: type) else {
                    throw IcebergError.invalid("type '\(type)' is not one of long, double, string, boolean, timestamptz, date, binary")
                }
                let updated = try await opened.icebergTables(try icebergCatalog.settings()).addColumn(try Iceberg.identifier(table), name: name, type: dataType, date: type == "date",
                                                                                                       nowMillis: wallClockNanos() / 1_000_000)
                print("added \(name) \(type) to \(table) as field \(updated.lastColumnID) (schema \(updated.currentSchemaID))")
            }
        }
    }

    struct Compact: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite the small data files of each partition into target-size files in one replace snapshot.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Option(name: .customLong("target-file-mb")) var targetFileMB = 128
        @Option(name: .customLong("min-input-files")) var minInputFiles = 2
        @Flag(name: .customLong("dry-run"), help: "List the files that would be rewritten; change nothing.") var dryRun = false

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                var tables = try await opened.icebergTables(try icebergCatalog.settings())
                tables.targetFileBytes = max(1, targetFileMB) << 20
                let report = try await tables.compact(try Iceberg.identifier(table), minInputFiles: minInputFiles, nowMillis: wallClockNanos() / 1_000_000, dryRun: dryRun)
                print("\(dryRun ? "would rewrite" : "rewrote") \(report.rewrittenFiles.count) file(s) in \(report.partitions.count) partition(s)"
                      + (dryRun ? "" : " into \(report.addedFiles.count) file(s)") + (report.snapshotID.map { " (snapshot \($0))" } ?? ""))
                for file in report.rewrittenFiles { print("  \(file)") }
            }
        }
    }

    struct ExpireSnapshots: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "expire-snapshots",
            abstract: "Remove snapshots older than --older-than-hours beyond the newest --keep-last, then their unreferenced files.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Option(name: .customLong("older-than-hours")) var olderThanHours = 24.0 * 7
        @Option(name: .customLong("keep-last")) var keepLast = 1
        @Flag(name: .customLong("dry-run"), help: "List what would be expired and deleted; change nothing.") var dryRun = false

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let now = wallClockNanos() / 1_000_000
                let report = try await opened.icebergTables(try icebergCatalog.settings()).expireSnapshots(try Iceberg.identifier(table), olderThanMillis: now - Int64(olderThanHours * 3_600_000),
                                                                              keepLast: keepLast, nowMillis: now, dryRun: dryRun)
                print("\(dryRun ? "would expire" : "expired") \(report.expiredSnapshots.count) snapshot(s) and \(dryRun ? "would delete" : "deleted") \(report.files.count) file(s)")
                for file in report.files { print("  \(file)") }
            }
        }
    }

    struct CleanupOrphans: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cleanup-orphans",
            abstract: "Delete files under the table that nothing references and that are older than --older-than-hours.")
        @OptionGroup var services: ServiceOptions
        @OptionGroup var icebergCatalog: IcebergCatalogOptions
        @Argument var table: String
        @Option(name: .customLong("older-than-hours")) var olderThanHours = 72.0
        @Flag(name: .customLong("dry-run"), help: "List the orphans; delete nothing.") var dryRun = false

        func run() async throws {
            let opened = try await services.open()
            try await reporting {
                let now = wallClockNanos() / 1_000_000
                let report = try await opened.icebergTables(try icebergCatalog.settings()).cleanupOrphans(try Iceberg.identifier(table), olderThanMillis: now - Int64(olderThanHours * 3_600_000), dryRun: dryRun)
                print("\(dryRun ? "would delete" : "deleted") \(report.files.count) orphan file(s)")
                for file in report.files { print("  \(file)") }
            }
        }
    }
}

/// A JSON-lines file as typed columns, through the one reader of tabular rows (KymaBuckets'
/// `TabularRows`, which the rows-to-iceberg pipeline uses too).
enum JSONRows {
    static func read(_ path: String, timeField: String?, limit: Int?, into given: [(String, DataType)]? = nil) throws -> ([(name: String, type: DataType)], ColumnBatch) {
        guard let bytes = LocalFile.readAll(path) else { throw IcebergError.invalid("cannot read '\(path)'") }
        let rows = try TabularRows.jsonLines(bytes, timeField: timeField, limit: limit, source: path)
        let result = try TabularRows.batch(rows, into: given.map { $0.map { (name: $0.0, type: $0.1) } }, source: path)
        return (result.fields, result.batch)
    }
}
