// Tables whose rows are held in memory (k2i's hot buffer, the committed rows k2i has read, the
// SQL logic tests' tables): every batch is one block of an `ExtentReader` that keeps everything,
// and the scan is the same plan the cascade builds for extents, so a query means the same thing
// on both. Also the union of several sources (k2i serves its buffer and its table as one).

import KymaCore
import KymaFormat
import KymaObjectStore
import KymaPlan

/// An extent held in memory: every batch is one block.
public struct InMemoryExtentReader: ExtentReader {
    public let key: ObjectKey
    public let schema: Schema
    let batches: [ColumnBatch]

    public init(key: String, batches: [ColumnBatch]) throws(QueryError) {
        do { self.key = try ObjectKey(key) } catch { throw .internalError("in-memory part key '\(key)': \(error)") }
        self.batches = batches
        var fields: [Field] = []
        var seen = Set<String>()
        for batch in batches {
            for (name, column) in zip(batch.names, batch.columns) where seen.insert(name).inserted {
                var dimension: Int? = nil
                if case .float32Vector(let d, _) = column.values { dimension = d }
                fields.append(Field(name: name, type: column.dataType, vectorDimension: dimension))
            }
        }
        do { schema = try Schema(fields) } catch { throw .internalError("in-memory part schema: \(error)") }
    }

    public var rowCount: Int { batches.reduce(0) { $0 + $1.rowCount } }
    public var blockCount: Int { batches.count }
    public var footerBytesFetched: Int { 0 }

    public func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats) {
        var stats = PruningStats(blocksTotal: batches.count)
        stats.keptByStats = batches.count
        stats.keptByBloom = batches.count
        stats.keptByPathBitmap = batches.count
        stats.keptByInvertedIndex = batches.count
        return (BlockSelection(blocks: Array(batches.indices)), stats)
    }

    public func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch] {
        blocks.blocks.compactMap { index -> ColumnBatch? in
            guard index >= 0, index < batches.count else { return nil }
            let batch = batches[index]
            guard let columns else { return batch }
            let kept = columns.compactMap { name in batch.column(named: name).map { (name, $0) } }
            return (try? ColumnBatch(rowCount: batch.rowCount, columns: kept, selection: batch.selection)) ?? batch
        }
    }
}

/// A table of rows in memory, in parts: each part is one scan unit (its batches its blocks).
public struct InMemoryTableSource: TableSource, ReaderProvider {
    public let table: String
    public let timeColumn: String?
    /// The `format` of the units this source returns.
    public let format: String
    let parts: [(key: String, reader: InMemoryExtentReader, timeRange: TimeRange)]

    /// `parts` are lists of batches; empty batches are dropped.
    public init(table: String, timeColumn: String?, parts: [[ColumnBatch]], format: String = "memory") throws(QueryError) {
        self.table = table
        self.timeColumn = timeColumn
        self.format = format
        var built: [(String, InMemoryExtentReader, TimeRange)] = []
        for (index, batches) in parts.enumerated() {
            let kept = batches.filter { $0.rowCount > 0 }
            guard !kept.isEmpty else { continue }
            let key = "memory/\(table)/\(index)"
            built.append((key, try InMemoryExtentReader(key: key, batches: kept), Self.timeRange(kept, timeColumn)))
        }
        self.parts = built
    }

    /// The range of the time column's values (all of time when a part lacks it or has nulls).
    static func timeRange(_ batches: [ColumnBatch], _ timeColumn: String?) -> TimeRange {
        let all = TimeRange(lowerNanos: .min, upperNanos: .max)
        guard let timeColumn else { return all }
        var low = Int64.max, high = Int64.min
        for batch in batches {
            guard let column = batch.column(named: timeColumn), case .timestamp(let values) = column.values, column.validity == nil else { return all }
            for v in values {
                low = min(low, v)
                high = max(high, v)
            }
        }
        return low <= high ? TimeRange(lowerNanos: low, upperNanos: high) : all
    }

    public var readers: any ReaderProvider { self }

    public func scan(_ request: ScanRequest) async throws(QueryError) -> ScanResult {
        var stats = ScanStats()
        var units: [ScanUnit] = []
        var columns: [String] = []
        for (key, reader, range) in parts {
            stats.unitsTotal += 1
            stats.rowsTotal += reader.rowCount
            for field in reader.schema.fields where !columns.contains(field.name) { columns.append(field.name) }
            guard !request.spec.provablyEmpty else { continue }
            var pruning = PruningStats(blocksTotal: reader.blockCount)
            pruning.keptByStats = reader.blockCount
            pruning.keptByBloom = reader.blockCount
            pruning.keptByPathBitmap = reader.blockCount
            pruning.keptByInvertedIndex = reader.blockCount
            stats.add(pruning)
            units.append(ScanUnit(objectKey: key, format: format, byteSize: 0, rowCount: reader.rowCount, blocks: Array(0..<reader.blockCount), timeRange: range))
        }
        stats.unitsAfterCatalog = units.count
        stats.unitsAfterFooters = units.count
        return ScanResult(units: ScanOrdering.ordered(units, request.spec.order), stats: stats, columns: columns)
    }

    public func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader {
        guard let part = parts.first(where: { $0.key == unit.objectKey }) else {
            throw .internalError("no in-memory part '\(unit.objectKey)' in table '\(table)'")
        }
        return part.reader
    }
}

/// Units in the order a time-ordered scan needs.
public enum ScanOrdering {
    public static func ordered(_ units: [ScanUnit], _ order: ScanOrder) -> [ScanUnit] {
        switch order {
        case .any: units
        case .timeDescending: units.sorted { $0.timeRange.upperNanos > $1.timeRange.upperNanos }
        case .timeAscending: units.sorted { $0.timeRange.lowerNanos < $1.timeRange.lowerNanos }
        }
    }
}

/// Several sources of one table read as one (k2i: the committed files and the hot buffer).
/// Units are told apart by `format`: each part declares the formats its units carry.
public struct UnionTableSource: TableSource, ReaderProvider {
    public let table: String
    public let timeColumn: String?
    let parts: [(formats: Set<String>, source: any TableSource)]

    public init(table: String, timeColumn: String?, parts: [(formats: Set<String>, source: any TableSource)]) {
        self.table = table
        self.timeColumn = timeColumn
        self.parts = parts
    }

    public var readers: any ReaderProvider { self }

    /// The part whose units carry `format`.
    public func part(for format: String) -> (any TableSource)? {
        parts.first { $0.formats.contains(format) }?.source
    }

    public func scan(_ request: ScanRequest) async throws(QueryError) -> ScanResult {
        var units: [ScanUnit] = []
        var stats = ScanStats()
        var columns: [String] = []
        var pushed: [(level: String, predicate: String)] = []
        for part in parts {
            let result = try await part.source.scan(request)
            units += result.units
            for column in result.columns where !columns.contains(column) { columns.append(column) }
            pushed += result.pushedDown
            stats.unitsTotal += result.stats.unitsTotal
            stats.unitsAfterCatalog += result.stats.unitsAfterCatalog
            stats.unitsAfterFooters += result.stats.unitsAfterFooters
            stats.blocksTotal += result.stats.blocksTotal
            stats.blocksAfterStats += result.stats.blocksAfterStats
            stats.blocksAfterBloom += result.stats.blocksAfterBloom
            stats.blocksAfterPathBitmaps += result.stats.blocksAfterPathBitmaps
            stats.blocksAfterIndex += result.stats.blocksAfterIndex
            stats.rowsTotal += result.stats.rowsTotal
            stats.bytesTotal += result.stats.bytesTotal
            stats.footerBytesRead += result.stats.footerBytesRead
            stats.catalogMillis += result.stats.catalogMillis
            stats.footerMillis += result.stats.footerMillis
        }
        return ScanResult(units: ScanOrdering.ordered(units, request.spec.order), stats: stats, columns: columns, pushedDown: pushed)
    }

    public func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader {
        guard let part = parts.first(where: { $0.formats.contains(unit.format) }) else {
            throw .internalError("no source of table '\(table)' reads units of format '\(unit.format)'")
        }
        return try await part.source.readers.reader(for: unit)
    }
}

/// A resolver over a fixed set of sources (tests, the SQL logic runner, k2i's one table).
public struct FixedTableSources: TableSourceResolver {
    let sources: [String: any TableSource]

    public init(_ sources: [any TableSource]) {
        var byName: [String: any TableSource] = [:]
        for source in sources { byName[source.table] = source }
        self.sources = byName
    }

    public func source(for table: String) async throws(QueryError) -> any TableSource {
        guard let source = sources[table] else { throw .unknownTable(table) }
        return source
    }
}
