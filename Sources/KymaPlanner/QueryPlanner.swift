// KymaPlanner: turns a `LogicalPlan` into per-extent scan tasks through the pruning cascade
// (catalog -> extent footers -> blocks and posting lists), then runs them with the executor and
// reports what each level kept. Sees storage only through `Catalog`, `ObjectStore` and
// `FormatRegistry`; sees languages only through `LogicalPlan`.

import KymaCatalog
import KymaCore
import KymaExec
import KymaFormat
import KymaObjectStore
import KymaPlan

/// What each level of the cascade kept and what execution cost: the numbers of
/// `kyma explain --analyze`, also consumed by the pruning harness as JSON.
public struct QueryProfile: Sendable, Hashable, Codable {
    public var extentsTotal = 0
    public var extentsAfterCatalog = 0
    public var extentsAfterFooters = 0
    public var blocksTotal = 0
    public var blocksAfterStats = 0
    public var blocksAfterBloom = 0
    public var blocksAfterPathBitmaps = 0
    public var blocksAfterIndex = 0
    public var blocksRead = 0
    public var rowsTotal = 0
    public var rowsDecoded = 0
    public var rowsMatched = 0
    public var rowsReturned = 0
    public var extentsSkippedByOrder = 0
    public var stoppedEarly = false
    public var bytesTotal = 0
    public var footerBytesRead = 0
    public var dataBytesRead = 0
    public var catalogMillis = 0.0
    public var footerMillis = 0.0
    public var executionMillis = 0.0
    public var totalMillis = 0.0

    public init() {}
}

/// A planned query: the physical plan plus what planning pruned.
public struct PlannedQuery: Sendable {
    public var logical: LogicalPlan
    public var physical: PhysicalPlan
    public var pushedPredicate: BlockPredicate
    public var catalogFilter: ExtentFilter
    public var profile: QueryProfile
}

public struct QueryPlanner: Sendable {
    public let catalog: any Catalog
    public let store: any ObjectStore
    public let formats: FormatRegistry
    public let footers: FooterCache
    /// Footers opened at once.
    public var footerParallelism = 8

    public init(catalog: any Catalog, store: any ObjectStore, formats: FormatRegistry, footers: FooterCache = FooterCache()) {
        self.catalog = catalog
        self.store = CountingObjectStore(store)
        self.formats = formats
        self.footers = footers
    }

    /// Plans and runs `logical`; `profile` includes the table's totals (one more catalog query).
    public func run(_ logical: LogicalPlan, nowNanos: Int64, budget: QueryBudget = QueryBudget(), profile: Bool = false) async throws(QueryError) -> (QueryResult, PlannedQuery) {
        let counter = ByteCounter()
        do {
            return try await ByteCounter.$current.withValue(counter) {
                try await runCounted(logical, nowNanos: nowNanos, budget: budget, profile: profile, counter: counter)
            }
        } catch let error as QueryError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    func runCounted(_ logical: LogicalPlan, nowNanos: Int64, budget: QueryBudget, profile: Bool, counter: ByteCounter) async throws(QueryError) -> (QueryResult, PlannedQuery) {
        let clock = ContinuousClock()
        let started = clock.now
        var planned = try await plan(logical, nowNanos: nowNanos, profile: profile)
        planned.profile.footerBytesRead = counter.value
        let executionStart = clock.now
        let result = try await QueryExecutor.run(planned.physical, budget: budget, bytesRead: { counter.value })
        planned.profile.executionMillis = Self.millis(clock.now - executionStart)
        planned.profile.totalMillis = Self.millis(clock.now - started)
        planned.profile.dataBytesRead = counter.value - planned.profile.footerBytesRead
        let stats = result.stats
        planned.profile.blocksRead = stats.blocksRead
        planned.profile.rowsDecoded = stats.rowsDecoded
        planned.profile.rowsMatched = stats.rowsMatched
        planned.profile.rowsReturned = stats.rowsReturned
        planned.profile.extentsSkippedByOrder = stats.extentsSkippedByOrder
        planned.profile.stoppedEarly = stats.stoppedEarly
        return (result, planned)
    }

    static func millis(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// The cascade: catalog, then footers, then blocks.
    public func plan(_ input: LogicalPlan, nowNanos: Int64, profile wantTotals: Bool = false) async throws(QueryError) -> PlannedQuery {
        let clock = ContinuousClock()
        var profile = QueryProfile()
        let table: TableInfo
        do {
            guard let found = try await catalog.table(named: input.table) else { throw QueryError.unknownTable(input.table) }
            table = found
        } catch let error as QueryError {
            throw error
        } catch {
            throw .storage("catalog: \(error)")
        }
        let timeColumn = table.definition.timeColumn ?? "_time"
        let logical = Rewrites.normalise(input, timeColumn: timeColumn, now: nowNanos)
        let leading = logical.operators.prefix { if case .filter = $0 { true } else { false } }
        let conjuncts = leading.flatMap { op -> [Expr] in if case .filter(let e) = op { e.conjuncts } else { [] } }
        let pipeline = Rewrites.topFromSortAndLimit(Array(logical.operators.dropFirst(leading.count)))
        let pushed = Pushdown.blockPredicate(conjuncts, timeColumn: timeColumn)
        let filter = Pushdown.extentFilter(conjuncts, timeColumn: timeColumn)

        // Level 1: the catalog.
        let catalogStart = clock.now
        let records: [ExtentRecord]
        do {
            records = try await catalog.extents(table: table.name, matching: filter)
            if wantTotals {
                let all = try await catalog.extents(table: table.name, matching: .all)
                profile.extentsTotal = all.count
                profile.rowsTotal = all.reduce(0) { $0 + Int($1.rowCount) }
                profile.bytesTotal = all.reduce(0) { $0 + Int($1.byteSize) }
            }
        } catch {
            throw .storage("catalog: \(error)")
        }
        profile.catalogMillis = QueryPlanner.millis(clock.now - catalogStart)
        profile.extentsAfterCatalog = records.count

        // Levels 2 and 3: footers (stats, blooms, path bitmaps), then blocks and posting lists.
        let footerStart = clock.now
        let pruned = try await openAndPrune(records, pushed)
        var scans: [ScanTask] = []
        for (record, (reader, selection, stats)) in zip(records, pruned) {
            profile.blocksTotal += stats.blocksTotal
            profile.blocksAfterStats += stats.keptByStats
            profile.blocksAfterBloom += stats.keptByBloom
            profile.blocksAfterPathBitmaps += stats.keptByPathBitmap
            profile.blocksAfterIndex += stats.keptByInvertedIndex
            guard !selection.blocks.isEmpty else { continue }
            scans.append(ScanTask(objectKey: record.objectKey, reader: reader, selection: selection, timeRange: record.timeRange))
        }
        profile.extentsAfterFooters = scans.count
        profile.footerMillis = QueryPlanner.millis(clock.now - footerStart)

        var order = ScanOrder.any
        if case .top(_, let keys)? = pipeline.first, keys.count >= 1, keys[0].expr == .column(timeColumn) {
            order = keys[0].descending ? .timeDescending : .timeAscending
            scans.sort { keys[0].descending ? $0.timeRange.upperNanos > $1.timeRange.upperNanos : $0.timeRange.lowerNanos < $1.timeRange.lowerNanos }
        }
        let scanFilter: Expr? = conjuncts.isEmpty ? nil : (conjuncts.count == 1 ? conjuncts[0] : .and(conjuncts))
        let physical = PhysicalPlan(scans: scans, columns: Rewrites.requiredColumns(conjuncts, pipeline), scanFilter: scanFilter,
                                    pipeline: pipeline, scanOrder: order, nowNanos: nowNanos)
        return PlannedQuery(logical: logical, physical: physical, pushedPredicate: pushed, catalogFilter: filter, profile: profile)
    }

    /// Levels 2 and 3 for every extent, several at once: open the footer (cached), then prune
    /// its blocks with the predicate adapted to the extent's column types (which may fetch the
    /// Bloom filters and posting lists the predicate uses).
    func openAndPrune(_ records: [ExtentRecord], _ predicate: BlockPredicate) async throws(QueryError) -> [(any ExtentReader, BlockSelection, PruningStats)] {
        var results = [(any ExtentReader, BlockSelection, PruningStats)?](repeating: nil, count: records.count)
        do {
            try await withThrowingTaskGroup(of: (Int, any ExtentReader, BlockSelection, PruningStats).self) { group in
                var next = 0
                func launch() throws {
                    guard next < records.count else { return }
                    let index = next
                    let record = records[index]
                    next += 1
                    group.addTask {
                        let key = try ObjectKey(record.objectKey)
                        let reader = try await footers.reader(key: key, size: Int(record.byteSize), store: store, formats: formats)
                        let (selection, stats) = try await reader.pruneBlocks(Pushdown.adapt(predicate, to: reader.schema))
                        return (index, reader, selection, stats)
                    }
                }
                for _ in 0..<footerParallelism { try launch() }
                while let (index, reader, selection, stats) = try await group.next() {
                    results[index] = (reader, selection, stats)
                    try launch()
                }
            }
        } catch {
            throw .storage("reading extent footers and indexes: \(error)")
        }
        return results.compactMap { $0 }
    }
}
