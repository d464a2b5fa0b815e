// Data files and the snapshots that add or replace them: writing Parquet data files per
// partition (cut near the target size, field ids from the table schema, column metrics for the
// manifest), fast append, replace (compaction: small files of a partition rewritten into
// target-size files in one commit), and scanning the current snapshot projected onto the
// current schema (columns added later read as null in older files).

import Foundation
import KymaCatalog
import KymaCore
import KymaParquet

/// What a compaction did (or, in a dry run, would do).
public struct IcebergCompactionReport: Sendable, Hashable {
    public var dryRun: Bool
    /// Partitions (as path fragments, "" for unpartitioned) that had files to rewrite.
    public var partitions: [String] = []
    public var rewrittenFiles: [String] = []
    public var addedFiles: [String] = []
    public var snapshotID: Int64?
}

extension IcebergTables {
    // MARK: - Append

    /// Writes `batches` as Parquet data files (one or more per partition) and commits a fast
    /// append; retried on a concurrent commit. `summary` adds snapshot properties;
    /// `summaryFor` computes more from the table each attempt commits onto and may refuse it
    /// (throw): the Kafka ingester merges its offsets into the base's and refuses offsets
    /// another writer already committed.
    ///
    /// `replacing` picks, from the table each attempt commits onto, data file paths to remove in
    /// the same snapshot (then an `overwrite`); paths no longer live are ignored.
    /// `filesSummaryKey` names a summary property listing the new data files' paths
    /// (comma-separated), so a later commit can replace exactly them.
    @discardableResult
    public func append(_ identifier: IcebergTableIdentifier, batches: [ColumnBatch], summary: [String: String] = [:], nowMillis: Int64,
                       summaryFor: ((IcebergTable) throws(IcebergError) -> [String: String])? = nil,
                       filesSummaryKey: String? = nil, replacing: ((IcebergTable) -> Set<String>)? = nil) async throws(IcebergError) -> Int64 {
        let first = try await load(identifier)
        if let summaryFor { _ = try summaryFor(first) }
        let files = try await writeDataFiles(first, batches)
        var snapshotID: Int64 = 0
        _ = try await commit(identifier, nowMillis: nowMillis) { table throws(IcebergError) -> TableChange? in
            var properties = summary
            if let summaryFor { for (k, v) in try summaryFor(table) { properties[k] = v } }
            if let filesSummaryKey { properties[filesSummaryKey] = files.map(\.path).joined(separator: ",") }
            var removed = Set<String>()
            if let replacing {
                let candidates = replacing(table)
                if !candidates.isEmpty { removed = candidates.intersection(try await dataFiles(of: table).map(\.path)) }
            }
            let (change, id) = try await snapshotChange(table, operation: removed.isEmpty ? "append" : "overwrite", added: files, removed: removed,
                                                        extraSummary: properties, nowMillis: nowMillis)
            snapshotID = id
            return change
        }
        return snapshotID
    }

    // MARK: - Compaction

    /// Rewrites, in every partition holding at least `minInputFiles` files smaller than 3/4 of
    /// the target size, those files into target-size files: one `replace` snapshot; rows and
    /// values unchanged. A concurrent append is kept (the change is re-applied on the new
    /// base); a concurrent rewrite of the same files makes this one fail with `.conflict`.
    public func compact(_ identifier: IcebergTableIdentifier, minInputFiles: Int = 2, nowMillis: Int64, dryRun: Bool) async throws(IcebergError) -> IcebergCompactionReport {
        var report = IcebergCompactionReport(dryRun: dryRun)
        let table = try await load(identifier)
        let live = try await liveEntries(table)
        var byPartition: [[AvroValue]: [IcebergDataFile]] = [:]
        for entry in live where entry.file.fileSizeInBytes < Int64(targetFileBytes) * 3 / 4 { byPartition[entry.file.partition, default: []].append(entry.file) }
        let chosen = byPartition.filter { $0.value.count >= max(2, minInputFiles) }
        let spec = table.partition
        for (partition, files) in chosen.sorted(by: { $0.value[0].path < $1.value[0].path }) {
            report.partitions.append(zip(spec, partition).map { "\($0.name)=\(Self.describe($1))" }.joined(separator: "/"))
            report.rewrittenFiles += files.map(\.path).sorted()
        }
        if dryRun || chosen.isEmpty { return report }
        var batches: [ColumnBatch] = []
        for path in report.rewrittenFiles { batches += try await readDataFile(path, table: table) }
        let added = try await writeDataFiles(table, batches)
        report.addedFiles = added.map(\.path)
        let removed = Set(report.rewrittenFiles)
        var snapshotID: Int64 = 0
        _ = try await commit(identifier, nowMillis: nowMillis) { base throws(IcebergError) -> TableChange? in
            let (change, id) = try await snapshotChange(base, operation: "replace", added: added, removed: removed, extraSummary: [:], nowMillis: nowMillis)
            snapshotID = id
            return change
        }
        report.snapshotID = snapshotID
        return report
    }

    static func describe(_ value: AvroValue) -> String {
        switch Manifests.unwrap(value) {
        case .null: "null"
        case .int(let v): String(v)
        case .long(let v): String(v)
        case .double(let v): String(v)
        case .string(let s): s
        case .boolean(let b): String(b)
        default: "?"
        }
    }

    // MARK: - Scan

    /// Every row of the current snapshot (its live data files), each batch projected onto the
    /// current schema: columns matched by field id (by name in files without ids), columns a
    /// file lacks read as null.
    public func scan(_ identifier: IcebergTableIdentifier) async throws(IcebergError) -> [ColumnBatch] {
        let table = try await load(identifier)
        var batches: [ColumnBatch] = []
        for entry in try await liveEntries(table) { batches += try await readDataFile(entry.file.path, table: table) }
        return batches
    }

    /// The live data files of the current snapshot.
    public func dataFiles(_ identifier: IcebergTableIdentifier) async throws(IcebergError) -> [IcebergDataFile] {
        try await liveEntries(try await load(identifier)).map(\.file)
    }

    /// The live data files of `table`'s current snapshot as it was loaded. Manifests never
    /// change, so the answer stays right for that snapshot however far the table has moved.
    public func dataFiles(of table: IcebergTable) async throws(IcebergError) -> [IcebergDataFile] {
        try await liveEntries(table).map(\.file)
    }

    /// One data file's rows, projected onto `table`'s schema as `scan` projects them.
    public func read(_ file: IcebergDataFile, of table: IcebergTable) async throws(IcebergError) -> [ColumnBatch] {
        try await readDataFile(file.path, table: table)
    }

    func liveEntries(_ table: IcebergTable) async throws(IcebergError) -> [ManifestEntry] {
        guard let list = table.snapshot(table.currentSnapshotID)?["manifest-list"] as? String else { return [] }
        var out: [ManifestEntry] = []
        for manifest in try Manifests.readList(try await get(list)) where manifest.content == 0 {
            out += try Manifests.entries(try await get(manifest.path)).filter { $0.status != ManifestEntry.deleted }
        }
        return out
    }

    func readDataFile(_ path: String, table: IcebergTable) async throws(IcebergError) -> [ColumnBatch] {
        let file: ParquetFile
        let raw: [ColumnBatch]
        do {
            file = try ParquetFile(bytes: try await get(path))
            raw = try file.readAll()
        } catch let error as IcebergError { throw error } catch { throw .invalid("\(path): \(error)") }
        let fields = table.fields
        let hasIDs = file.fields.contains { $0.fieldID != nil }
        var out: [ColumnBatch] = []
        for batch in raw {
            var columns: [(String, Column)] = []
            for field in fields {
                let source = hasIDs ? file.fields.first { $0.fieldID == Int32(field.id) } : file.fields.first { $0.name == field.name }
                if let source, let column = batch.column(named: source.name) {
                    columns.append((field.name, column))
                } else {
                    columns.append((field.name, Column.nulls(field.type, count: batch.rowCount)))
                }
            }
            do { out.append(try ColumnBatch(rowCount: batch.rowCount, columns: columns)) } catch { throw .invalid("\(path): \(error)") }
        }
        return out
    }

    // MARK: - Writing data files

    /// Writes the selected rows of `batches` as Parquet data files of `table`'s current schema,
    /// grouped by partition, each cut near `targetFileBytes`, with column metrics.
    func writeDataFiles(_ table: IcebergTable, _ batches: [ColumnBatch], namePrefix: String = "") async throws(IcebergError) -> [IcebergDataFile] {
        let fields = table.fields
        let partition = table.partition
        for batch in batches {
            for name in batch.names where !fields.contains(where: { $0.name == name }) {
                throw .invalid("column '\(name)' is not in the schema of \(table.identifier) (\(fields.map(\.name).joined(separator: ", ")))")
            }
        }
        // Per partition key, the batches and the rows of each that belong to it (nil: the
        // batch's own selection, all its rows when it has none).
        var groups: [[ScalarValue]: [(ColumnBatch, [UInt32]?)]] = [:]
        var order: [[ScalarValue]] = []
        for batch in batches where partition.isEmpty {
            // Unpartitioned: every row goes to the one group, no per-row keys, no row lists
            // (so the Parquet writer copies each column in one piece).
            if groups[[]] == nil { order.append([]) }
            groups[[], default: []].append((batch, nil))
        }
        for batch in batches where !partition.isEmpty {
            let sources = partition.map { p in batch.column(named: fields.first { $0.id == p.sourceID }?.name ?? "") }
            var rowsByKey: [[ScalarValue]: [UInt32]] = [:]
            var keyOrder: [[ScalarValue]] = []
            for row in batch.selectedRows {
                let key = zip(partition, sources).map { p, column in p.transform.apply(column?.value(at: row) ?? .null) }
                if rowsByKey[key] == nil { keyOrder.append(key) }
                rowsByKey[key, default: []].append(UInt32(row))
            }
            for key in keyOrder {
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append((batch, rowsByKey[key]!))
            }
        }
        let parquetFields = fields.map { ParquetField(name: $0.name, type: $0.type, optional: !$0.required, fieldID: Int32($0.id), date: $0.date) }
        var files: [IcebergDataFile] = []
        for key in order {
            let parts = groups[key] ?? []
            func count(_ part: (ColumnBatch, [UInt32]?)) -> Int { part.1?.count ?? part.0.selection?.count ?? part.0.rowCount }
            // Rows per file from the uncompressed width of the rows (Parquet is usually smaller).
            let rows = parts.reduce(0) { $0 + count($1) }
            let width = max(1, parts.reduce(0) { $0 + Self.estimatedBytes($1.0, rows: $1.1 ?? $1.0.selection) } / max(1, rows))
            let rowsPerFile = max(1, targetFileBytes / width)
            var chunks: [[(ColumnBatch, [UInt32]?)]] = [[]]
            var inChunk = 0
            for part in parts {
                let (batch, selected) = part
                let total = count(part)
                if inChunk + total <= rowsPerFile {
                    // The whole part fits the current file: keep it as it is.
                    chunks[chunks.count - 1].append(part)
                    inChunk += total
                    if inChunk == rowsPerFile { chunks.append([]); inChunk = 0 }
                    continue
                }
                let rows = selected ?? batch.selection ?? (0..<UInt32(batch.rowCount)).map { $0 }
                var start = 0
                while start < rows.count {
                    let take = min(rows.count - start, rowsPerFile - inChunk)
                    chunks[chunks.count - 1].append((batch, Array(rows[start..<start + take])))
                    start += take
                    inChunk += take
                    if inChunk == rowsPerFile { chunks.append([]); inChunk = 0 }
                }
            }
            for chunk in chunks where !chunk.isEmpty {
                let parquet: [UInt8]
                var written = 0
                do {
                    let writer = try ParquetWriter(fields: parquetFields, options: parquetOptions)
                    var batches: [ColumnBatch] = []
                    for (batch, selected) in chunk {
                        var part = batch
                        if let selected { part.selection = selected }
                        for field in fields where part.column(named: field.name) == nil {
                            try? part.add(field.name, Column.nulls(field.type, count: batch.rowCount))
                        }
                        for field in fields where field.required {
                            if let column = part.column(named: field.name), column.nullCount > 0, part.selectedRows.contains(where: { column.isNull($0) }) {
                                throw IcebergError.invalid("required column '\(field.name)' has a null")
                            }
                        }
                        batches.append(part)
                        written += part.selection?.count ?? part.rowCount
                    }
                    try writer.append(contentsOf: batches)
                    parquet = try writer.finish()
                } catch let error as IcebergError { throw error } catch { throw .invalid("\(error)") }
                let directory = partition.isEmpty ? "" : zip(partition, key).map { "\($0.name)=\(Self.pathValue($1))/" }.joined()
                let uri = table.location + "/data/\(directory)\(namePrefix)\(UUID().uuidString.lowercased()).parquet"
                try await put(uri, parquet)
                var file = IcebergDataFile(path: uri, partition: zip(partition, key).map { $0.avroValue($1) }, recordCount: Int64(written),
                                           fileSizeInBytes: Int64(parquet.count))
                try Self.addMetrics(&file, parquet: parquet, fields: fields)
                files.append(file)
            }
        }
        return files
    }

    /// The uncompressed bytes of `rows` of `batch` (all rows when nil), strings estimated from
    /// the first thousand.
    static func estimatedBytes(_ batch: ColumnBatch, rows: [UInt32]?) -> Int {
        let count = rows?.count ?? batch.rowCount
        var total = 0
        for column in batch.columns {
            switch column.values {
            case .string, .binary:
                var sampled = 0
                for i in 0..<min(count, 1000) { sampled += (column.bytes(at: Int(rows?[i] ?? UInt32(i)))?.count ?? 0) + 4 }
                total += count > 1000 ? sampled * count / 1000 : sampled
            default: total += 8 * count
            }
        }
        return total
    }

    /// value_counts, null_value_counts and bounds from the file's row-group statistics.
    static func addMetrics(_ file: inout IcebergDataFile, parquet: [UInt8], fields: [IcebergField]) throws(IcebergError) {
        let parsed: ParquetFile
        do { parsed = try ParquetFile(bytes: parquet) } catch { throw .invalid("reading back \(file.path): \(error)") }
        for (k, field) in fields.enumerated() where k < parsed.fields.count {
            let id = Int32(field.id)
            file.valueCounts[id] = Int64(parsed.rowCount)
            var nulls: Int64 = 0, lower: ScalarValue?, upper: ScalarValue?, complete = true
            for group in parsed.rowGroups {
                let s = group.statistics[k]
                nulls += Int64(s.nullCount ?? 0)
                if s.nullCount == nil { complete = false }
                guard let lo = s.min, let hi = s.max else {
                    if (s.nullCount ?? 0) < group.rowCount { complete = false }
                    continue
                }
                if lower.map({ ScalarOrder.compare(lo, $0) ?? 0 < 0 }) ?? true { lower = lo }
                if upper.map({ ScalarOrder.compare($0, hi) ?? 0 < 0 }) ?? true { upper = hi }
            }
            if complete { file.nullValueCounts[id] = nulls }
            guard complete, let lower, let upper, let lo = Self.boundBytes(lower, date: field.date), let hi = Self.boundBytes(upper, date: field.date) else { continue }
            file.lowerBounds[id] = lo
            file.upperBounds[id] = hi
        }
    }

    /// A bound in the spec's single-value serialization, read back as a value of `field`'s
    /// type; nil when the bytes do not fit the type (a bound is then not used).
    static func boundValue(_ bytes: [UInt8], field: IcebergField) -> ScalarValue? {
        func little<T: FixedWidthInteger>(_: T.Type) -> T? {
            guard bytes.count == MemoryLayout<T>.size else { return nil }
            return bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
        }
        switch field.type {
        case .int64:
            if let v = little(Int64.self) { return .int64(v) }
            return little(Int32.self).map { .int64(Int64($0)) }  // an Iceberg int
        case .float64:
            if let v = little(UInt64.self) { return .float64(Double(bitPattern: v)) }
            return little(UInt32.self).map { .float64(Double(Float(bitPattern: $0))) }  // an Iceberg float
        case .timestamp:
            if field.date { return little(Int32.self).map { .timestamp(Int64($0) * 86_400_000_000_000) } }
            return little(Int64.self).map { .timestamp($0.multipliedReportingOverflow(by: 1000).overflow ? ($0 < 0 ? .min : .max) : $0 * 1000) }
        case .bool: return bytes.count == 1 ? .bool(bytes[0] != 0) : nil
        case .string: return String(validating: bytes, as: UTF8.self).map { .string($0) }
        case .binary: return .binary(bytes)
        case .float32Vector: return nil
        }
    }

    /// The spec's single-value serialization; nil for values not worth a bound (long text).
    static func boundBytes(_ value: ScalarValue, date: Bool = false) -> [UInt8]? {
        if date, case .timestamp(let v) = value {
            return withUnsafeBytes(of: Int32(truncatingIfNeeded: IcebergTransform.floorDiv(v, 86_400_000_000_000)).littleEndian) { Array($0) }
        }
        switch value {
        case .int64(let v): return withUnsafeBytes(of: v.littleEndian) { Array($0) }
        case .timestamp(let v): return withUnsafeBytes(of: IcebergTransform.floorDiv(v, 1000).littleEndian) { Array($0) }
        case .float64(let v): return v.isNaN ? nil : withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
        case .bool(let b): return [b ? 1 : 0]
        case .string(let s): return s.utf8.count <= 256 ? Array(s.utf8) : nil
        case .binary(let b): return b.count <= 256 ? b : nil
        case .null: return nil
        }
    }

    // MARK: - Snapshots

    /// The change that commits a snapshot onto `table`: `added` files in a new manifest; for a
    /// replace, the manifests holding `removed` files rewritten with those entries DELETED and
    /// the rest EXISTING; the others carried over. Throws `.conflict` when a file to remove is
    /// no longer live (someone else rewrote it).
    func snapshotChange(_ table: IcebergTable, operation: String, added: [IcebergDataFile], removed: Set<String>,
                        extraSummary: [String: String], nowMillis: Int64) async throws(IcebergError) -> (TableChange, Int64) {
        let snapshotID = Int64.random(in: 1...Int64.max / 2)
        let sequence = table.lastSequenceNumber + 1
        let fields = table.fields
        let spec = table.partition
        let specID = table.defaultSpecID
        let partitionSchema = Self.partitionRecordSchema(spec, fields: fields)
        let manifestMetadata: [(String, String)] = [
            ("schema", String(decoding: try Self.json(Self.schemaJSON(fields, id: table.currentSchemaID)), as: UTF8.self)),
            ("schema-id", String(table.currentSchemaID)), ("partition-spec", String(decoding: try Self.json(spec.map(\.json)), as: UTF8.self)),
            ("partition-spec-id", String(specID)), ("format-version", "2"), ("content", "data"),
        ]
        var listed: [ManifestFile] = []
        var found = Set<String>()
        var deletedRecords: Int64 = 0, deletedBytes: Int64 = 0
        if let list = table.snapshot(table.currentSnapshotID)?["manifest-list"] as? String {
            for manifest in try Manifests.readList(try await get(list)) {
                guard !removed.isEmpty, manifest.content == 0 else { listed.append(manifest); continue }
                let entries = try Manifests.entries(try await get(manifest.path))
                guard entries.contains(where: { $0.status != ManifestEntry.deleted && removed.contains($0.file.path) }) else { listed.append(manifest); continue }
                var rewritten: [ManifestEntry] = []
                for entry in entries where entry.status != ManifestEntry.deleted {
                    var e = entry
                    e.sequenceNumber = entry.sequenceNumber ?? manifest.sequenceNumber
                    e.fileSequenceNumber = entry.fileSequenceNumber ?? manifest.sequenceNumber
                    if removed.contains(entry.file.path) {
                        found.insert(entry.file.path)
                        e.status = ManifestEntry.deleted
                        e.snapshotID = snapshotID
                        deletedRecords += entry.file.recordCount
                        deletedBytes += entry.file.fileSizeInBytes
                    } else {
                        e.status = ManifestEntry.existing
                        e.snapshotID = entry.snapshotID ?? manifest.addedSnapshotID
                    }
                    rewritten.append(e)
                }
                listed.append(try await writeManifest(table, rewritten, schema: partitionSchema, metadata: manifestMetadata, specID: specID,
                                                      sequence: sequence, snapshotID: snapshotID, spec: spec, fields: fields))
            }
        }
        guard found == removed else {
            throw .conflict("\(removed.subtracting(found).count) file(s) to replace are no longer in \(table.identifier) (a concurrent rewrite)")
        }
        if !added.isEmpty {
            let entries = added.map { ManifestEntry(status: ManifestEntry.added, snapshotID: snapshotID, sequenceNumber: nil, fileSequenceNumber: nil, file: $0) }
            listed.insert(try await writeManifest(table, entries, schema: partitionSchema, metadata: manifestMetadata, specID: specID,
                                                  sequence: sequence, snapshotID: snapshotID, spec: spec, fields: fields), at: 0)
        }
        let listURI = table.location + "/metadata/snap-\(snapshotID)-1-\(UUID().uuidString.lowercased()).avro"
        try await put(listURI, AvroEncoder.containerFile(schemaJSON: Manifests.listSchema, metadata: [
            ("snapshot-id", String(snapshotID)), ("parent-snapshot-id", table.currentSnapshotID.map { $0 > 0 ? String($0) : "null" } ?? "null"),
            ("sequence-number", String(sequence)), ("format-version", "2"),
        ], records: listed.map(\.avro)))

        let previous = table.currentSummary
        func total(_ key: String) -> Int64 { previous[key].flatMap { Int64($0) } ?? 0 }
        let addedRecords = added.reduce(0) { $0 + $1.recordCount }, addedBytes = added.reduce(0) { $0 + $1.fileSizeInBytes }
        var summary: [String: String] = [
            "operation": operation,
            "added-data-files": String(added.count), "added-records": String(addedRecords), "added-files-size": String(addedBytes),
            "total-records": String(total("total-records") + addedRecords - deletedRecords),
            "total-data-files": String(total("total-data-files") + Int64(added.count) - Int64(removed.count)),
            "total-files-size": String(total("total-files-size") + addedBytes - deletedBytes),
            "total-delete-files": "0", "total-position-deletes": "0", "total-equality-deletes": "0",
        ]
        if !removed.isEmpty {
            summary["deleted-data-files"] = String(removed.count)
            summary["deleted-records"] = String(deletedRecords)
            summary["removed-files-size"] = String(deletedBytes)
        }
        if spec.isEmpty == false { summary["changed-partition-count"] = String(Set(added.map(\.partition)).count) }
        for (k, v) in extraSummary { summary[k] = v }
        var snapshot: [String: Any] = ["snapshot-id": snapshotID, "sequence-number": sequence, "timestamp-ms": nowMillis,
                                       "manifest-list": listURI, "summary": summary, "schema-id": table.currentSchemaID]
        if let parent = table.currentSnapshotID, parent > 0 { snapshot["parent-snapshot-id"] = parent }
        let current: Any = table.currentSnapshotID.flatMap { $0 > 0 ? NSNumber(value: $0) : nil } ?? NSNull()
        let change = TableChange(
            requirements: [["type": "assert-table-uuid", "uuid": table.tableUUID], ["type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": current]],
            updates: [["action": "add-snapshot", "snapshot": snapshot],
                      ["action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": snapshotID]])
        return (change, snapshotID)
    }

    func writeManifest(_ table: IcebergTable, _ entries: [ManifestEntry], schema: String, metadata: [(String, String)], specID: Int32,
                       sequence: Int64, snapshotID: Int64, spec: [IcebergPartitionField], fields: [IcebergField]) async throws(IcebergError) -> ManifestFile {
        let bytes = AvroEncoder.containerFile(schemaJSON: Manifests.entrySchema(partition: schema), metadata: metadata, records: entries.map(Manifests.avro))
        let uri = table.location + "/metadata/\(UUID().uuidString.lowercased())-m0.avro"
        try await put(uri, bytes)
        func count(_ status: Int32) -> Int32 { Int32(entries.filter { $0.status == status }.count) }
        func rows(_ status: Int32) -> Int64 { entries.filter { $0.status == status }.reduce(0) { $0 + $1.file.recordCount } }
        let minSequence = entries.filter { $0.status != ManifestEntry.deleted }.map { $0.sequenceNumber ?? sequence }.min() ?? sequence
        let summaries: [AvroValue] = spec.indices.map { index in
            let values = entries.filter { $0.status != ManifestEntry.deleted }.map { Manifests.unwrap($0.file.partition[index]) }
            let present = values.filter { if case .null = $0 { false } else { true } }
            let lower = present.min { IcebergPartitionField.less($0, $1) }, upper = present.max { IcebergPartitionField.less($0, $1) }
            return .record([.boolean(present.count < values.count), .optional(nil),
                            .optional(lower.flatMap(IcebergPartitionField.boundBytes).map { .bytes($0) }),
                            .optional(upper.flatMap(IcebergPartitionField.boundBytes).map { .bytes($0) })])
        }
        return ManifestFile(path: uri, length: Int64(bytes.count), specID: specID, content: 0, sequenceNumber: sequence, minSequenceNumber: minSequence,
                            addedSnapshotID: snapshotID, addedFiles: count(ManifestEntry.added), existingFiles: count(ManifestEntry.existing),
                            deletedFiles: count(ManifestEntry.deleted), addedRows: rows(ManifestEntry.added), existingRows: rows(ManifestEntry.existing),
                            deletedRows: rows(ManifestEntry.deleted), partitions: summaries)
    }
}

extension IcebergPartitionField {
    static func less(_ a: AvroValue, _ b: AvroValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): x < y
        case (.long(let x), .long(let y)): x < y
        case (.double(let x), .double(let y)): x < y
        case (.string(let x), .string(let y)): x.utf8.lexicographicallyPrecedes(y.utf8)
        case (.boolean(let x), .boolean(let y)): !x && y
        case (.bytes(let x), .bytes(let y)): x.lexicographicallyPrecedes(y)
        default: false
        }
    }

    /// A partition value's single-value serialization (field_summary bounds).
    static func boundBytes(_ value: AvroValue) -> [UInt8]? {
        switch value {
        case .int(let v): withUnsafeBytes(of: v.littleEndian) { Array($0) }
        case .long(let v): withUnsafeBytes(of: v.littleEndian) { Array($0) }
        case .double(let v): v.isNaN ? nil : withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) }
        case .string(let s): Array(s.utf8)
        case .boolean(let b): [b ? 1 : 0]
        case .bytes(let b): b
        default: nil
        }
    }
}

extension IcebergDataFile {
    /// The lower and upper bound the file records for `field` (what other tools read to skip
    /// the file), or nil when it records none or they cannot be read as the field's type.
    public func bounds(of field: IcebergField) -> (lower: ScalarValue, upper: ScalarValue)? {
        guard let lo = lowerBounds[Int32(field.id)], let hi = upperBounds[Int32(field.id)],
              let lower = IcebergTables.boundValue(lo, field: field), let upper = IcebergTables.boundValue(hi, field: field) else { return nil }
        return (lower, upper)
    }
}
