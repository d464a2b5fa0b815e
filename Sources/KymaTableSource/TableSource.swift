// KymaTableSource: the seam between a prepared query and the storage that holds its table. A
// table source turns a `ScanRequest` into `ScanUnit`s (plain values: an object, the blocks and
// rows of it to read, the node to read it on) and gives readers for them through a
// `ReaderProvider`, so a plan fragment can be sent to another node unchanged and read there.
// Implementations: the extent cascade (KymaExtentSource), rows held in memory (here), k2i's
// committed Iceberg files and hot buffer (KymaK2I).

import KymaCore
import KymaFormat
import KymaPlan

/// A table as the query engine sees it.
///
/// ## Scanning
/// `scan(_:)` answers with units that together hold every row of the table that satisfies the
/// request's filter. It MAY return units (and blocks, and rows within a unit's row selection)
/// that match nothing — the executor evaluates the whole filter on everything it reads — but it
/// MUST NOT leave out a unit, block or row that holds a matching row. It MAY use the request's
/// columns, order and limit to choose and order units; for `ScanOrder.timeDescending` /
/// `.timeAscending` it MUST return units ordered by their `timeRange` (newest or oldest first)
/// with time ranges that cover their rows, since the executor stops early by them.
///
/// ## Reading
/// `readers` opens any unit this source returned, on any node that can reach the same storage.
///
/// ## Errors
/// Every failure is a `QueryError` of the right kind: `.catalogUnavailable` when the catalog
/// failed, `.storageUnavailable` when the object store did, `.corruptData` for damaged data,
/// `.timeout`/`.cancelled` when the request's task was stopped.
///
/// ## Concurrency
/// Sources are `Sendable`; `scan` may run for many queries at once. A source holds no durable
/// state: caches only (footers, manifests), never the master copy.
public protocol TableSource: Sendable {
    /// The table's name.
    var table: String { get }
    /// The column `_time` names, when the table has one.
    var timeColumn: String? { get }
    func scan(_ request: ScanRequest) async throws(QueryError) -> ScanResult
    var readers: any ReaderProvider { get }
}

/// Opens readers for scan units.
///
/// ## Contract
/// `reader(for:)` MUST return a reader over the unit's object whose blocks are numbered as the
/// unit's `blocks` are; it MAY cache readers (footers) across queries. Failures are `QueryError`s
/// as for `TableSource`. Sendable; called from many tasks at once.
public protocol ReaderProvider: Sendable {
    func reader(for unit: ScanUnit) async throws(QueryError) -> any ExtentReader
}

/// Finds the source of a table by name.
///
/// ## Contract
/// An unknown table is `QueryError.unknownTable` naming it; a catalog failure is
/// `.catalogUnavailable`. Sendable; called from many tasks at once.
public protocol TableSourceResolver: Sendable {
    func source(for table: String) async throws(QueryError) -> any TableSource
}

/// What a source is asked to scan.
public struct ScanRequest: Sendable, Hashable, Codable {
    public var table: String
    public var spec: ScanSpec
    /// The query's `now()`.
    public var nowNanos: Int64
    /// Also count the table's totals (units, rows, bytes) for EXPLAIN: one more catalog query.
    public var wantTotals: Bool

    public init(table: String, spec: ScanSpec, nowNanos: Int64, wantTotals: Bool = false) {
        self.table = table
        self.spec = spec
        self.nowNanos = nowNanos
        self.wantTotals = wantTotals
    }
}

/// One unit of a scan: a stored object (or a part held in memory) and what of it to read.
public struct ScanUnit: Sendable, Hashable, Codable {
    /// The object's key in the store (`memory/...` for rows held in memory).
    public var objectKey: String
    /// The format that wrote it (`tlm`, `parquet`, `memory`, ...): which reader opens it.
    public var format: String
    public var byteSize: Int
    public var rowCount: Int
    /// Blocks to read, ascending.
    public var blocks: [Int]
    /// Exact block-local row selections (from an inverted index), by block.
    public var rowSelections: [Int: [UInt32]]
    /// The unit's time range (all of time when unknown); time-ordered scans stop by it.
    public var timeRange: TimeRange
    /// Where the unit is read: `local` until scans fan out to other nodes.
    public var node: String

    public init(objectKey: String, format: String, byteSize: Int, rowCount: Int, blocks: [Int], rowSelections: [Int: [UInt32]] = [:],
                timeRange: TimeRange = TimeRange(lowerNanos: .min, upperNanos: .max), node: String = "local") {
        self.objectKey = objectKey
        self.format = format
        self.byteSize = byteSize
        self.rowCount = rowCount
        self.blocks = blocks
        self.rowSelections = rowSelections
        self.timeRange = timeRange
        self.node = node
    }

    public var selection: BlockSelection { BlockSelection(blocks: blocks, rowSelections: rowSelections) }
}

/// What each level of a source's pruning kept, and what it cost.
public struct ScanStats: Sendable, Hashable, Codable {
    public var unitsTotal = 0
    public var unitsAfterCatalog = 0
    public var unitsAfterFooters = 0
    public var blocksTotal = 0
    public var blocksAfterStats = 0
    public var blocksAfterBloom = 0
    public var blocksAfterPathBitmaps = 0
    public var blocksAfterIndex = 0
    public var rowsTotal = 0
    public var bytesTotal = 0
    public var footerBytesRead = 0
    public var catalogMillis = 0.0
    public var footerMillis = 0.0

    public init() {}

    public mutating func add(_ pruning: PruningStats) {
        blocksTotal += pruning.blocksTotal
        blocksAfterStats += pruning.keptByStats
        blocksAfterBloom += pruning.keptByBloom
        blocksAfterPathBitmaps += pruning.keptByPathBitmap
        blocksAfterIndex += pruning.keptByInvertedIndex
    }
}

/// A source's answer: the units to read, what pruning kept, and what it pushed where.
public struct ScanResult: Sendable {
    public var units: [ScanUnit]
    public var stats: ScanStats
    /// The columns of the units' schemas, in first-seen order (what `SELECT *` returns).
    public var columns: [String]
    /// What each pruning level was given, for EXPLAIN (`catalog`, `blocks`...), in order.
    public var pushedDown: [(level: String, predicate: String)]

    public init(units: [ScanUnit], stats: ScanStats, columns: [String], pushedDown: [(level: String, predicate: String)] = []) {
        self.units = units
        self.stats = stats
        self.columns = columns
        self.pushedDown = pushedDown
    }
}
