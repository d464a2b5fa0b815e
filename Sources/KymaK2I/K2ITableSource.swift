// k2i's table as a `TableSource` for /query and /lookup: the committed Iceberg data files of one
// snapshot (pruned by the column bounds each file records, read whole and cached: files never
// change) together with the hot buffer's rows taken at the same moment, so each row counts once.

import KymaCore
import KymaFormat
import KymaIceberg
import KymaObjectStore
import KymaPlan
import KymaTableSource

/// The committed data files of one Iceberg snapshot.
struct IcebergFilesSource: TableSource, ReaderProvider {
    static let format = "iceberg-parquet"
    let table: String
    let timeColumn: String?
    let tables: IcebergTables
    let snapshot: IcebergTable
    let files: [IcebergDataFile]
    let cache: CommittedRows
    /// Most Parquet bytes one query may read after pruning (`monitoring.query_max_scan_mb`).
    let maxScanBytes: Int
    let metrics: K2IMetrics

    var readers: any ReaderProvider { self }

    func scan(_ request: ScanRequest) async throws(QueryError) -> ScanResult {
        let pruner = RangePruner(request.spec.filter)
        let fields = snapshot.fields
        let kept = request.spec.provablyEmpty ? [] : pruner.isSelective ? files.filter { file in
            var bounds: [String: (lower: ScalarValue, upper: ScalarValue)] = [:]
            for field in fields { bounds[field.name] = file.bounds(of: field) }
            return pruner.mayMatch(bounds)
        } : files
        metrics.add("k2i_query_files_scanned_total", Double(kept.count))
        metrics.add("k2i_query_files_pruned_total", Double(files.count - kept.count))
        let bytes = kept.reduce(0) { $0 + Int($1.fileSizeInBytes) }
        guard bytes <= maxScanBytes else {
            throw .resourcesExhausted(resource: "committed Parquet bytes one /query reads after pruning by file bounds (monitoring.query_max_scan_mb; narrow the query by the timestamp field or the key)",
                                      limit: maxScanBytes, used: bytes)
        }
        var stats = ScanStats()
        stats.unitsTotal = files.count
        stats.unitsAfterCatalog = kept.count
        stats.unitsAfterFooters = kept.count
        stats.rowsTotal = files.reduce(0) { $0 + Int($1.recordCount) }
        stats.bytesTotal = files.reduce(0) { $0 + Int($1.fileSizeInBytes) }
        let units = kept.map { file in
            ScanUnit(objectKey: file.path, format: Self.format, byteSize: Int(file.fileSizeInBytes), rowCount: Int(file.recordCount), blocks: [0])
        }
        return ScanResult(units: units, stats: stats, columns: fields.map(\.name), pushedDown: [("committed files' column bounds", pruner.predicateDescription)])
    }

    func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader {
        guard let file = files.first(where: { $0.path == unit.objectKey }) else {
            throw .internalError("no committed file '\(unit.objectKey)' in the snapshot")
        }
        let batches: [ColumnBatch]
        if let cached = cache.get(file.path) {
            batches = cached
        } else {
            do { batches = try await tables.read(file, of: snapshot) } catch {
                throw .storageUnavailable("reading committed file '\(file.path)': \(error)")
            }
            cache.put(file.path, batches, bytes: Int(file.fileSizeInBytes))
        }
        return try WholeObjectReader(key: "committed/\(snapshot.identifier.name)/\(files.firstIndex { $0.path == file.path } ?? 0)", batches: batches)
    }
}

/// An object read whole into memory: one block holding all its batches.
struct WholeObjectReader: ExtentReader {
    let key: ObjectKey
    let schema: Schema
    let batches: [ColumnBatch]

    init(key: String, batches: [ColumnBatch]) throws(QueryError) {
        let inner = try InMemoryExtentReader(key: key, batches: batches)
        self.key = inner.key
        self.schema = inner.schema
        self.batches = batches
    }

    var rowCount: Int { batches.reduce(0) { $0 + $1.rowCount } }
    var blockCount: Int { 1 }
    var footerBytesFetched: Int { 0 }

    func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats) {
        var stats = PruningStats(blocksTotal: 1)
        (stats.keptByStats, stats.keptByBloom, stats.keptByPathBitmap, stats.keptByInvertedIndex) = (1, 1, 1, 1)
        return (BlockSelection(blocks: [0]), stats)
    }

    func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch] {
        guard blocks.blocks.contains(0) else { return [] }
        guard let columns else { return batches }
        return batches.map { batch in
            let kept = columns.compactMap { name in batch.column(named: name).map { (name, $0) } }
            return (try? ColumnBatch(rowCount: batch.rowCount, columns: kept)) ?? batch
        }
    }
}

/// The one table a k2i serves, under its name or `namespace_name`.
struct K2ITableSources: TableSourceResolver {
    let names: [String]
    let source: any TableSource

    func source(for table: String) async throws(QueryError) -> any TableSource {
        guard names.contains(table) else { throw .unknownTable("\(table)' (this k2i serves table '\(names[0])") }
        return source
    }
}
