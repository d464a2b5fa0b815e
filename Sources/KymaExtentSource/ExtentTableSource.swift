// A Kyma table as a `TableSource`: the pruning cascade. Level 1 asks the catalog for the
// extents whose manifest statistics allow the filter (one indexed PostgreSQL query); level 2
// opens their footers (cached) and level 3 prunes blocks by statistics, Bloom filters, path
// bitmaps and posting lists. What survives becomes `ScanUnit`s.

import KymaCatalog
import KymaCore
import KymaFormat
import KymaObjectStore
import KymaPlan
import KymaTableSource

public struct ExtentTableSource: TableSource {
    public let info: TableInfo
    public let catalog: any Catalog
    let provider: ExtentReaderProvider
    /// Footers opened at once.
    public var footerParallelism = 8

    public init(info: TableInfo, catalog: any Catalog, readers: ExtentReaderProvider) {
        self.info = info
        self.catalog = catalog
        self.provider = readers
    }

    public var table: String { info.name }
    public var timeColumn: String? { info.definition.timeColumn }
    public var readers: any ReaderProvider { provider }

    public func scan(_ request: ScanRequest) async throws(QueryError) -> ScanResult {
        let clock = ContinuousClock()
        var stats = ScanStats()
        let conjuncts = request.spec.filter
        let blockPredicate = BlockPushdown.predicate(conjuncts)
        let filter = CatalogPushdown.extentFilter(conjuncts, timeColumn: timeColumn ?? "_time")
        let pushed = [(level: "catalog", predicate: CatalogPushdown.describe(filter)), (level: "footers and blocks", predicate: "\(blockPredicate)")]

        // Level 1: the catalog.
        let catalogStart = clock.now
        var records: [ExtentRecord] = []
        do {
            // EXPLAIN ANALYZE's totals in flight beside the pruning query (two connections), so
            // they do not add a round trip to the time it reports.
            let catalog = self.catalog, table = self.table
            async let totals: ExtentTotals? = request.wantTotals ? catalog.extentTotals(table: table) : nil
            if !request.spec.provablyEmpty {
                records = try await catalog.extents(table: table, matching: filter)
            }
            if let all = try await totals {
                stats.unitsTotal = all.extents
                stats.rowsTotal = all.rows
                stats.bytesTotal = all.bytes
            }
        } catch {
            throw CatalogErrors.queryError(error, doing: "finding the extents of '\(table)'")
        }
        stats.catalogMillis = Self.millis(clock.now - catalogStart)
        stats.unitsAfterCatalog = records.count

        // Levels 2 and 3: footers (stats, blooms, path bitmaps), then blocks and posting lists.
        let footerStart = clock.now
        let footerBytesBefore = ByteCounter.current?.value ?? 0
        let pruned = try await openAndPrune(records, blockPredicate)
        var units: [ScanUnit] = []
        var columns: [String] = []
        for (record, (schema, selection, pruning)) in zip(records, pruned) {
            stats.add(pruning)
            for field in schema.fields where !columns.contains(field.name) { columns.append(field.name) }
            guard !selection.blocks.isEmpty else { continue }
            units.append(ScanUnit(objectKey: record.objectKey, format: record.formatName, byteSize: Int(record.byteSize), rowCount: Int(record.rowCount),
                                  blocks: selection.blocks, rowSelections: selection.rowSelections, timeRange: record.timeRange))
        }
        stats.unitsAfterFooters = units.count
        stats.footerMillis = Self.millis(clock.now - footerStart)
        stats.footerBytesRead = (ByteCounter.current?.value ?? 0) - footerBytesBefore
        return ScanResult(units: ScanOrdering.ordered(units, request.spec.order), stats: stats, columns: columns, pushedDown: pushed)
    }

    static func millis(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// Levels 2 and 3 for every extent, several at once: open the footer (cached), then prune
    /// its blocks with the predicate adapted to the extent's column types (which may fetch the
    /// Bloom filters and posting lists the predicate uses).
    func openAndPrune(_ records: [ExtentRecord], _ predicate: BlockPredicate) async throws(QueryError) -> [(Schema, BlockSelection, PruningStats)] {
        var results = [(Schema, BlockSelection, PruningStats)?](repeating: nil, count: records.count)
        do {
            try await withThrowingTaskGroup(of: (Int, Schema, BlockSelection, PruningStats).self) { group in
                var next = 0
                func launch() {
                    guard next < records.count else { return }
                    let index = next
                    let record = records[index]
                    next += 1
                    group.addTask { [provider] in
                        let reader = try await provider.reader(objectKey: record.objectKey, size: Int(record.byteSize))
                        let (selection, stats) = try await reader.pruneBlocks(BlockPushdown.adapt(predicate, to: reader.schema))
                        return (index, reader.schema, selection, stats)
                    }
                }
                for _ in 0..<footerParallelism { launch() }
                while let (index, schema, selection, stats) = try await group.next() {
                    results[index] = (schema, selection, stats)
                    launch()
                }
            }
        } catch {
            throw StorageErrors.queryError(error, doing: "reading extent footers and indexes of '\(table)'")
        }
        return results.compactMap { $0 }
    }
}

/// Readers of extents in the object store, their footers cached in memory across queries.
public struct ExtentReaderProvider: ReaderProvider {
    public let store: any ObjectStore
    public let formats: FormatRegistry
    public let footers: FooterCache

    /// `store` is wrapped so that every byte read is counted for the query that read it.
    public init(store: any ObjectStore, formats: FormatRegistry, footers: FooterCache = FooterCache()) {
        self.store = CountingObjectStore(store)
        self.formats = formats
        self.footers = footers
    }

    public func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader {
        try await reader(objectKey: unit.objectKey, size: unit.byteSize)
    }

    func reader(objectKey: String, size: Int) async throws(QueryError) -> any ExtentReader {
        do {
            let key = try ObjectKey(objectKey)
            return try await footers.reader(key: key, size: size, store: store, formats: formats)
        } catch {
            throw StorageErrors.queryError(error, doing: "opening extent '\(objectKey)'")
        }
    }
}

/// Kyma's tables by name, from the catalog.
public struct CatalogTableSources: TableSourceResolver {
    public let catalog: any Catalog
    public let readers: ExtentReaderProvider

    public init(catalog: any Catalog, readers: ExtentReaderProvider) {
        self.catalog = catalog
        self.readers = readers
    }

    public func source(for table: String) async throws(QueryError) -> any TableSource {
        let info: TableInfo?
        do { info = try await catalog.table(named: table) } catch {
            throw CatalogErrors.queryError(error, doing: "looking up table '\(table)'")
        }
        guard let info else { throw .unknownTable(table) }
        return ExtentTableSource(info: info, catalog: catalog, readers: readers)
    }
}

/// Catalog failures as query errors.
public enum CatalogErrors {
    public static func queryError(_ error: any Error, doing: String) -> QueryError {
        switch error {
        case let query as QueryError: return query
        case is CancellationError: return .cancelled
        case let catalog as CatalogError:
            switch catalog {
            case .tableNotFound(let name): return .unknownTable(name)
            case .cancelled: return .cancelled
            default: return .catalogUnavailable("\(doing): \(catalog)")
            }
        default: return .catalogUnavailable("\(doing): \(error)")
        }
    }
}
