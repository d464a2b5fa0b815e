// An Iceberg table kept as a mirror of a set of sources (Kyma's extents): each source's rows
// become data files whose names carry the source's tag, so the table itself records which
// sources it holds. Publishing again adds the files of new sources and removes those of
// sources that are gone (compaction retired them; their rows are in the sources that replaced
// them) in one snapshot, so a reader sees the rows of one set of sources, never both or none.

import KymaCatalog
import KymaCore

/// What a publish changed.
public struct MirrorReport: Sendable, Hashable {
    public var addedSources: [String] = []
    public var removedSources = 0
    public var addedFiles: [String] = []
    public var removedFiles: [String] = []
    /// The snapshot committed; nil when the table already mirrored the sources.
    public var snapshotID: Int64?
    /// Rows written into new data files.
    public var rowsWritten = 0
}

extension IcebergTables {
    /// The tag a source's data files carry in their names: 16 hex digits of its key's SHA-256.
    public static func mirrorTag(_ source: String) -> String {
        String(SHA256.hexDigest(Array(source.utf8)).prefix(16))
    }

    /// The tag in a mirrored data file's name (`.../kyma-<tag>-<uuid>.parquet`).
    static func mirrorTag(ofPath path: String) -> String? {
        let name = path.split(separator: "/").last ?? ""
        guard name.hasPrefix("kyma-") else { return nil }
        let tag = name.dropFirst(5).prefix { $0 != "-" }
        return tag.count == 16 ? String(tag) : nil
    }

    /// Makes `identifier`'s live data files hold exactly the rows of `sources`: `rows` is asked
    /// for the rows of each source not mirrored yet; files of sources no longer listed are
    /// removed; one snapshot (append, or overwrite when files go). Columns the new rows bring
    /// are added to the schema first. A table holding a data file it did not write, a column
    /// whose type changed, or a concurrent publish is an error, and nothing is committed.
    public func mirror(_ identifier: IcebergTableIdentifier, sources: [String],
                       rows: (String) async throws(IcebergError) -> [ColumnBatch], nowMillis: Int64) async throws(IcebergError) -> MirrorReport {
        var report = MirrorReport()
        var table = try await load(identifier)
        var filesByTag: [String: [String]] = [:]
        for file in try await dataFiles(of: table) {
            guard let tag = Self.mirrorTag(ofPath: file.path) else {
                throw .invalid("\(identifier) holds \(file.path), which publishing did not write: a mirror must own its table")
            }
            filesByTag[tag, default: []].append(file.path)
        }
        var wanted: [String: String] = [:]
        for source in sources { wanted[Self.mirrorTag(source)] = source }
        let adding = wanted.filter { filesByTag[$0.key] == nil }.sorted { $0.value < $1.value }
        let removingTags = filesByTag.keys.filter { wanted[$0] == nil }.sorted()
        guard !adding.isEmpty || !removingTags.isEmpty else { return report }

        var pending: [(tag: String, batches: [ColumnBatch])] = []
        for (tag, source) in adding {
            let batches = try await rows(source)
            guard batches.contains(where: { $0.rowCount > 0 }) else { continue }
            for batch in batches {
                for (name, column) in zip(batch.names, batch.columns) {
                    if let field = table.fields.first(where: { $0.name == name }) {
                        guard field.type == column.dataType else {
                            throw .invalid("column '\(name)' is \(column.dataType.rawValue) in \(source) but \(field.type.rawValue) in \(identifier)")
                        }
                    } else {
                        table = try await addColumn(identifier, name: name, type: column.dataType, nowMillis: nowMillis)
                    }
                }
            }
            pending.append((tag, batches))
            report.addedSources.append(source)
            report.rowsWritten += batches.reduce(0) { $0 + $1.rowCount }
        }
        var added: [IcebergDataFile] = []
        for (tag, batches) in pending { added += try await writeDataFiles(table, batches, namePrefix: "kyma-\(tag)-") }
        let removed = Set(removingTags.flatMap { filesByTag[$0] ?? [] })
        report.addedFiles = added.map(\.path)
        report.removedFiles = removed.sorted()
        report.removedSources = removingTags.count
        guard !added.isEmpty || !removed.isEmpty else { return report }
        let base = table.currentSnapshotID
        var snapshotID: Int64 = 0
        _ = try await commit(identifier, nowMillis: nowMillis) { current throws(IcebergError) -> TableChange? in
            // Another publish moved the table since its files were read: this plan is stale.
            guard current.currentSnapshotID == base else { throw .conflict("\(identifier) changed while publishing; publish again") }
            let (change, id) = try await snapshotChange(current, operation: removed.isEmpty ? "append" : "overwrite", added: added, removed: removed,
                                                        extraSummary: ["kyma.mirrored-sources": String(wanted.count)], nowMillis: nowMillis)
            snapshotID = id
            return change
        }
        report.snapshotID = snapshotID
        return report
    }
}
