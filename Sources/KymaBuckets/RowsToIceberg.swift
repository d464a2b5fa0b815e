// The rows-to-iceberg pipeline: a CSV, JSON-lines or Parquet object (optionally compressed) as
// one append to an Iceberg table in Kyma's catalog, the table made from the rows' columns when
// it does not exist and given new columns when the rows bring some. Engines outside Kyma read
// it through the Iceberg REST catalog `kyma serve` answers.
//
// A job appends once: its snapshot's summary names the job, and a job that finds its name on a
// snapshot (a worker died after the commit, before marking the job done) appends nothing.
// A newer version of an object replaces the earlier versions' rows: its snapshot (an
// overwrite) removes the data files their appends listed in their summaries, those still live
// (files rewritten since by a compaction keep their rows).

import KymaCatalog
import KymaCore
import KymaIceberg
import KymaParquet

public struct RowsToIceberg: Sendable {
    public static let jobSummaryKey = "kyma.ingest-job"
    public static let objectSummaryKey = "kyma.object"
    public static let ruleSummaryKey = "kyma.rule"
    public static let filesSummaryKey = "kyma.files"
    public let tables: IcebergTables

    public init(tables: IcebergTables) { self.tables = tables }

    /// `namespace.table`, each letters, digits, `_` or `-`.
    public static func identifier(_ destination: String) throws(BucketsError) -> IcebergTableIdentifier {
        let parts = destination.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } }) else {
            throw BucketsError(.invalidRule, "an Iceberg destination is namespace.table (letters, digits, '_', '-'); got '\(destination)'")
        }
        return IcebergTableIdentifier(namespace: parts[0], name: parts[1])
    }

    enum Format: String { case csv, json, parquet }

    static func format(of object: BucketObject, option: String?) -> Format {
        if let option, let format = Format(rawValue: option) { return format }
        var key = Substring(object.key.lowercased())
        for suffix in [".gz", ".zst"] where key.hasSuffix(suffix) { key = key.dropLast(suffix.count) }
        if key.hasSuffix(".parquet") { return .parquet }
        if key.hasSuffix(".csv") || (object.contentType ?? "").lowercased().hasPrefix("text/csv") { return .csv }
        return .json
    }

    public struct Report: Sendable, Equatable {
        public var rows: Int
        /// The job's append was already committed by an earlier run.
        public var alreadyCommitted: Bool
        /// Rows of earlier versions of the object removed in the same snapshot.
        public var replacedRows = 0
    }

    public func run(_ job: IngestJob, rule: BucketRule, object: BucketObject, bytes stored: [UInt8], nowMillis: Int64) async throws(BucketsError) -> Report {
        let identifier = try Self.identifier(rule.destination)
        let bytes = try ObjectContent.decompressed(object, option: rule.options["compression"], bytes: stored)
        let timeField = rule.options["time_field"]
        var batches: [ColumnBatch]
        var rows: TabularRows.Rows? = nil
        var inferred: [(name: String, type: DataType)]
        switch Self.format(of: object, option: rule.options["format"].flatMap { $0 == "auto" ? nil : $0 }) {
        case .parquet:
            do { batches = try ParquetFile(bytes: bytes).readAll() } catch { throw BucketsError(.badObject, "'\(object.key)' is not a Parquet file Kyma reads: \(error)") }
            inferred = batches.first.map { batch in zip(batch.names, batch.columns).map { (name: $0, type: $1.dataType) } } ?? []
        case .csv:
            let delimiter = rule.options["csv_delimiter"].flatMap { $0.utf8.first } ?? UInt8(ascii: ",")
            let parsed = try TabularRows.csv(bytes, delimiter: delimiter, timeField: timeField, source: object.key)
            (rows, inferred, batches) = (parsed, TabularRows.fields(parsed), [])
        case .json:
            let parsed = try TabularRows.jsonLines(bytes, timeField: timeField, source: object.key)
            (rows, inferred, batches) = (parsed, TabularRows.fields(parsed), [])
        }
        let table: IcebergTable
        do {
            guard let prepared = try await prepare(identifier, columns: inferred, nowMillis: nowMillis) else { return Report(rows: 0, alreadyCommitted: false) }
            table = prepared
        } catch {
            throw BucketsError(.iceberg, "iceberg table \(identifier): \(error)")
        }
        if table.snapshotSummaries.contains(where: { $0.summary[Self.jobSummaryKey] == job.identity }) {
            return Report(rows: 0, alreadyCommitted: true)
        }
        if let rows {
            batches = [try TabularRows.batch(rows, into: table.fields.map { (name: $0.name, type: $0.type) }, source: object.key).batch]
        }
        let count = batches.reduce(0) { $0 + $1.rowCount }
        guard count > 0 else { return Report(rows: 0, alreadyCommitted: false) }
        let objectTag = (job.source.map { "source \($0):" } ?? "") + object.key
        let rule = String(job.rule), identity = job.identity
        do {
            let snapshot = try await tables.append(
                identifier, batches: batches,
                summary: [Self.jobSummaryKey: identity, Self.objectSummaryKey: objectTag, Self.ruleSummaryKey: rule],
                nowMillis: nowMillis, filesSummaryKey: Self.filesSummaryKey,
                replacing: { table in
                    // The files of earlier versions of this object through this rule.
                    Set(table.snapshotSummaries.filter { $0.summary[Self.objectSummaryKey] == objectTag && $0.summary[Self.ruleSummaryKey] == rule
                                                          && $0.summary[Self.jobSummaryKey] != identity }
                        .flatMap { ($0.summary[Self.filesSummaryKey] ?? "").split(separator: ",").map(String.init) })
                })
            let summary = try await tables.load(identifier).snapshotSummaries.first { $0.id == snapshot }?.summary ?? [:]
            return Report(rows: count, alreadyCommitted: false, replacedRows: Int(summary["deleted-records"] ?? "") ?? 0)
        } catch {
            throw BucketsError(.iceberg, "iceberg table \(identifier): \(error)")
        }
    }

    /// The table, made from `columns` when missing (nil when it is missing and there are no
    /// columns), with the columns it lacks added as optional ones.
    func prepare(_ identifier: IcebergTableIdentifier, columns: [(name: String, type: DataType)], nowMillis: Int64) async throws(IcebergError) -> IcebergTable? {
        var table: IcebergTable
        if let existing = try await loadIfPresent(identifier) {
            table = existing
        } else {
            guard !columns.isEmpty else { return nil }
            table = try await create(identifier, columns: columns, nowMillis: nowMillis)
        }
        for column in columns where !table.fields.contains(where: { $0.name == column.name }) {
            table = try await tables.addColumn(identifier, name: column.name, type: column.type, nowMillis: nowMillis)
        }
        return table
    }

    func loadIfPresent(_ identifier: IcebergTableIdentifier) async throws(IcebergError) -> IcebergTable? {
        do {
            return try await tables.load(identifier)
        } catch {
            if case .tableNotFound = error { return nil }
            throw error
        }
    }

    func create(_ identifier: IcebergTableIdentifier, columns: [(name: String, type: DataType)], nowMillis: Int64) async throws(IcebergError) -> IcebergTable {
        let fields = columns.enumerated().map { IcebergField(id: $0.offset + 1, name: $0.element.name, type: $0.element.type) }
        do {
            return try await tables.create(identifier, fields: fields, nowMillis: nowMillis)
        } catch {
            // Made meanwhile by another job: use it.
            if case .tableExists = error { return try await tables.load(identifier) }
            throw error
        }
    }
}
