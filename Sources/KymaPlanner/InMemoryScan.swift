// Queries over rows held in memory (k2i's hot buffer next to the rows it committed): each batch
// is one block of an `ExtentReader` that keeps everything (there is nothing to prune), and the
// plan is the same pipeline the cascade builds for extents, so KQL means the same thing on both.

import KymaCore
import KymaExec
import KymaFormat
import KymaObjectStore
import KymaPlan

/// An extent held in memory: every batch is one block.
public struct InMemoryExtentReader: ExtentReader {
    public let key: ObjectKey
    public let schema: Schema
    let batches: [ColumnBatch]

    public init(name: String, batches: [ColumnBatch]) throws {
        key = try ObjectKey("memory/" + name)
        self.batches = batches
        var fields: [Field] = []
        for batch in batches {
            for (name, column) in zip(batch.names, batch.columns) where !fields.contains(where: { $0.name == name }) {
                var dimension: Int? = nil
                if case .float32Vector(let d, _) = column.values { dimension = d }
                fields.append(Field(name: name, type: column.dataType, vectorDimension: dimension))
            }
        }
        schema = try Schema(fields)
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

extension QueryPlanner {
    /// Runs `input` over in-memory batches (all of them scanned; the executor filters).
    public static func runInMemory(_ input: LogicalPlan, batches: [ColumnBatch], timeColumn: String?, nowNanos: Int64,
                                   budget: QueryBudget = QueryBudget()) async throws(QueryError) -> QueryResult {
        let time = timeColumn ?? "_time"
        let logical = Rewrites.normalise(input, timeColumn: time, now: nowNanos)
        let leading = logical.operators.prefix { if case .filter = $0 { true } else { false } }
        let conjuncts = leading.flatMap { op -> [Expr] in if case .filter(let e) = op { e.conjuncts } else { [] } }
        let pipeline = Rewrites.topFromSortAndLimit(Array(logical.operators.dropFirst(leading.count)))
        let reader: InMemoryExtentReader
        do { reader = try InMemoryExtentReader(name: input.table, batches: batches.filter { $0.rowCount > 0 }) } catch {
            throw .storage("in-memory rows: \(error)")
        }
        let scan = ScanTask(objectKey: reader.key.rawValue, reader: reader, selection: BlockSelection(blocks: Array(0..<reader.blockCount)),
                            timeRange: TimeRange(lowerNanos: Int64.min, upperNanos: Int64.max))
        let scanFilter: Expr? = conjuncts.isEmpty ? nil : (conjuncts.count == 1 ? conjuncts[0] : .and(conjuncts))
        let physical = PhysicalPlan(scans: reader.blockCount == 0 ? [] : [scan], columns: Rewrites.requiredColumns(conjuncts, pipeline),
                                    scanFilter: scanFilter, pipeline: pipeline, nowNanos: nowNanos)
        return try await QueryExecutor.run(physical, budget: budget, bytesRead: { 0 })
    }
}
