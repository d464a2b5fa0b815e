// KymaExec: the vectorized executor. Runs a `PhysicalPlan` (per-extent scan tasks chosen by the
// planner, the pushed-down filter, then the pipeline of operators) over `ColumnBatch`es with
// selection vectors, in parallel over extents, within a budget of bytes, memory and time.
// Knows formats only through `ExtentReader`; knows no query language.

import KymaCore
import KymaFormat
import KymaPlan
import Synchronization

/// One extent to scan: the blocks and rows that survived pruning.
public struct ScanTask: Sendable {
    public var objectKey: String
    public var reader: any ExtentReader
    public var selection: BlockSelection
    /// The extent's time range from the catalog (orders time-ordered scans).
    public var timeRange: TimeRange
    /// Where the task runs: `local` until query fan-out to other nodes exists.
    public var node: String

    public init(objectKey: String, reader: any ExtentReader, selection: BlockSelection, timeRange: TimeRange, node: String = "local") {
        self.objectKey = objectKey
        self.reader = reader
        self.selection = selection
        self.timeRange = timeRange
        self.node = node
    }
}

/// The order scans run in. Time-ordered scans serve `top N by time` and stop once no
/// remaining extent can hold a better row.
public enum ScanOrder: Sendable, Hashable {
    case any
    case timeDescending
    case timeAscending
}

public struct PhysicalPlan: Sendable {
    public var scans: [ScanTask]
    /// Columns to decode; nil decodes all.
    public var columns: [String]?
    /// The query's leading filters, evaluated on every decoded block.
    public var scanFilter: Expr?
    /// The operators after the leading filters.
    public var pipeline: [PlanOperator]
    public var scanOrder: ScanOrder
    public var nowNanos: Int64

    public init(scans: [ScanTask], columns: [String]?, scanFilter: Expr?, pipeline: [PlanOperator], scanOrder: ScanOrder = .any, nowNanos: Int64) {
        self.scans = scans
        self.columns = columns
        self.scanFilter = scanFilter
        self.pipeline = pipeline
        self.scanOrder = scanOrder
        self.nowNanos = nowNanos
    }
}

/// Limits of one query; each is a clear error when exceeded.
public struct QueryBudget: Sendable, Hashable {
    public var maxBytesRead: Int
    public var maxMemoryBytes: Int
    public var timeoutSeconds: Double?
    /// Extents scanned at once.
    public var parallelism: Int

    public init(maxBytesRead: Int = 64 << 30, maxMemoryBytes: Int = 4 << 30, timeoutSeconds: Double? = nil, parallelism: Int = 2) {
        self.maxBytesRead = maxBytesRead
        self.maxMemoryBytes = maxMemoryBytes
        self.timeoutSeconds = timeoutSeconds
        self.parallelism = max(1, parallelism)
    }
}

/// What execution did, for EXPLAIN ANALYZE.
public struct ExecutionStats: Sendable, Hashable {
    public var extentsScanned = 0
    /// Extents skipped by a time-ordered scan's early stop.
    public var extentsSkippedByOrder = 0
    public var blocksRead = 0
    public var rowsDecoded = 0
    public var rowsMatched = 0
    public var rowsReturned = 0
    public var scanNanos: UInt64 = 0
    public var pipelineNanos: UInt64 = 0
    /// The pipeline stopped the scan early (a satisfied `take`).
    public var stoppedEarly = false

    public init() {}
}

/// The rows a query returns: batches whose columns are (a subset of) `names`, in order.
public struct QueryResult: Sendable {
    public var names: [String]
    public var batches: [ColumnBatch]
    public var stats: ExecutionStats

    public var rowCount: Int { batches.reduce(0) { $0 + $1.rowCount } }

    /// Every row as values aligned to `names` (absent columns are null).
    public var rows: [[ScalarValue]] {
        var out: [[ScalarValue]] = []
        for batch in batches {
            let positions = names.map { batch.names.firstIndex(of: $0) }
            for row in 0..<batch.rowCount {
                out.append(positions.map { $0.map { batch.columns[$0].value(at: row) } ?? .null })
            }
        }
        return out
    }
}

public enum QueryExecutor {
    /// Runs `plan`. `bytesRead` reports the bytes the query's store has returned so far (the
    /// planner counts them), checked against the budget after every block.
    public static func run(_ plan: PhysicalPlan, budget: QueryBudget, bytesRead: @escaping @Sendable () -> Int) async throws(QueryError) -> QueryResult {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = budget.timeoutSeconds.map { started.advanced(by: .nanoseconds(Int64($0 * 1e9))) }
        let prefixLength = plan.pipeline.prefix { $0.isStreaming }.count
        let prefix = Array(plan.pipeline.prefix(prefixLength))
        let pipeline = try Pipeline(Array(plan.pipeline.dropFirst(prefixLength)), budget: budget, now: plan.nowNanos)
        var stats = ExecutionStats()
        let stop = StopFlag()
        let check: @Sendable () throws(QueryError) -> Void = { () throws(QueryError) in
            if Task.isCancelled { throw .cancelled }
            if let deadline, clock.now > deadline { throw .timeout(seconds: budget.timeoutSeconds ?? 0) }
            let read = bytesRead()
            if read > budget.maxBytesRead { throw .resourcesExhausted(resource: "bytes read", limit: budget.maxBytesRead, used: read) }
        }

        do {
            try await withThrowingTaskGroup(of: (Int, ScanOutput).self) { group in
                var next = 0
                var running = 0
                var pending: [Int: ScanOutput] = [:]
                var fed = 0
                func launch() throws(QueryError) -> Bool {
                    guard next < plan.scans.count, !stop.isSet else { return false }
                    // A time-ordered top-N stops once no remaining extent can beat its N-th row.
                    if plan.scanOrder != .any, let bound = pipeline.orderBound {
                        let range = plan.scans[next].timeRange
                        let beyond: Bool
                        switch (plan.scanOrder, bound) {
                        case (.timeDescending, .timestamp(let t)): beyond = range.upperNanos < t
                        case (.timeAscending, .timestamp(let t)): beyond = range.lowerNanos > t
                        default: beyond = false
                        }
                        if beyond {
                            stats.extentsSkippedByOrder += plan.scans.count - next
                            next = plan.scans.count
                            return false
                        }
                    }
                    try check()
                    let index = next
                    let task = plan.scans[index]
                    next += 1
                    running += 1
                    group.addTask {
                        (index, try await scan(task, plan: plan, prefix: prefix, stop: stop, check: check))
                    }
                    return true
                }
                while running < budget.parallelism, try launch() {}
                while running > 0, let (index, output) = try await group.next() {
                    running -= 1
                    pending[index] = output
                    // Feed in scan order so results do not depend on timing.
                    while let ready = pending.removeValue(forKey: fed) {
                        fed += 1
                        stats.extentsScanned += 1
                        stats.blocksRead += ready.blocksRead
                        stats.rowsDecoded += ready.rowsDecoded
                        stats.rowsMatched += ready.rowsMatched
                        stats.scanNanos += ready.nanos
                        let pipelineStart = clock.now
                        for batch in ready.batches where !pipeline.isSatisfied { try pipeline.feed(batch) }
                        stats.pipelineNanos += UInt64((clock.now - pipelineStart).nanoseconds)
                        if pipeline.isSatisfied {
                            stop.set()
                            stats.stoppedEarly = true
                        }
                    }
                    if pipeline.isSatisfied { group.cancelAll() }
                    while running < budget.parallelism, try launch() {}
                }
            }
        } catch let error as QueryError {
            throw error
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .storage(String(describing: error))
        }
        let finishStart = clock.now
        let batches = try pipeline.finish()
        stats.pipelineNanos += UInt64((clock.now - finishStart).nanoseconds)
        stats.rowsReturned = batches.reduce(0) { $0 + $1.rowCount }
        var names: [String] = []
        for batch in batches { for name in batch.names where !names.contains(name) { names.append(name) } }
        if names.isEmpty { names = pipeline.outputNames(scanColumns: plan.columns) }
        return QueryResult(names: names, batches: batches, stats: stats)
    }

    struct ScanOutput: Sendable {
        var batches: [ColumnBatch] = []
        var blocksRead = 0
        var rowsDecoded = 0
        var rowsMatched = 0
        var nanos: UInt64 = 0
    }

    static func scan(_ task: ScanTask, plan: PhysicalPlan, prefix: [PlanOperator], stop: StopFlag,
                     check: () throws(QueryError) -> Void) async throws(QueryError) -> ScanOutput {
        let clock = ContinuousClock()
        let started = clock.now
        var output = ScanOutput()
        for block in task.selection.blocks {
            if stop.isSet { break }
            try check()
            let single = BlockSelection(blocks: [block], rowSelections: task.selection.rowSelections.filter { $0.key == block })
            let batches: [ColumnBatch]
            do {
                // Schema on read: a column this extent lacks reads as null, so it is not asked for.
                let columns = plan.columns.map { wanted in wanted.filter { task.reader.schema.index(of: $0) != nil } }
                batches = try await task.reader.read(blocks: single, columns: columns, rowSelections: single.rowSelections.isEmpty ? nil : single.rowSelections)
            } catch {
                throw .storage("\(task.objectKey): \(error)")
            }
            output.blocksRead += 1
            for var batch in batches {
                output.rowsDecoded += batch.rowCount
                if let filter = plan.scanFilter {
                    let selected = try ExpressionEvaluator.select(filter, batch, rows: batch.selection, now: plan.nowNanos)
                    if selected.isEmpty { continue }
                    batch.selection = selected.count == batch.rowCount ? nil : selected
                }
                output.rowsMatched += batch.selection?.count ?? batch.rowCount
                for op in prefix { batch = try StreamingOperators.apply(op, batch, now: plan.nowNanos) }
                if (batch.selection?.count ?? batch.rowCount) > 0 { output.batches.append(batch) }
            }
        }
        output.nanos = UInt64((clock.now - started).nanoseconds)
        return output
    }
}

/// Set once when the pipeline needs no more rows; scan tasks stop at the next block.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension PlanOperator {
    /// Operators applied batch by batch with no state.
    var isStreaming: Bool {
        switch self {
        case .filter, .project, .projectAway, .extend: true
        default: false
        }
    }
}

enum StreamingOperators {
    static func apply(_ op: PlanOperator, _ batch: ColumnBatch, now: Int64) throws(QueryError) -> ColumnBatch {
        switch op {
        case .filter(let predicate):
            var out = batch
            let selected = try ExpressionEvaluator.select(predicate, batch, rows: batch.selection, now: now)
            out.selection = selected
            return out
        case .project(let items):
            let input = EvaluationInput(batch: batch, rows: batch.selection, nowNanos: now)
            var columns: [(String, Column)] = []
            for item in items { columns.append((item.name, try ExpressionEvaluator.evaluate(item.expr, input).materialised(count: input.count))) }
            return try BatchBuilding.batch(rowCount: input.count, columns: columns)
        case .extend(let items):
            // Densify once, then each item sees the columns of the items before it.
            var current = Pipeline.compacted(batch)
            for item in items {
                let input = EvaluationInput(batch: current, rows: nil, nowNanos: now)
                let column = try ExpressionEvaluator.evaluate(item.expr, input).materialised(count: current.rowCount)
                current = try BatchBuilding.batch(rowCount: current.rowCount, columns: Array(zip(current.names, current.columns)) + [(item.name, column)])
            }
            return current
        case .projectAway(let names):
            let kept = zip(batch.names, batch.columns).filter { !names.contains($0.0) }
            var out = try BatchBuilding.batch(rowCount: batch.rowCount, columns: Array(kept))
            out.selection = batch.selection
            return out
        default:
            return batch
        }
    }
}

/// The stateful part of the pipeline, fed batch by batch on one task.
final class Pipeline {
    enum Stage {
        case streaming(PlanOperator)
        case limit(Int)
        case aggregate(HashAggregator)
        case count(Int)
        case sort(SortOperator)
        case distinct(DistinctOperator)
    }

    var stages: [Stage]
    var outputs: [ColumnBatch] = []
    let operators: [PlanOperator]
    let now: Int64

    init(_ operators: [PlanOperator], budget: QueryBudget, now: Int64) throws(QueryError) {
        self.operators = operators
        self.now = now
        stages = operators.map { op in
            switch op {
            case .limit(let n): .limit(n)
            case .aggregate(let keys, let aggregates):
                .aggregate(HashAggregator(keys: keys, aggregates: aggregates, memoryLimit: budget.maxMemoryBytes, now: now))
            case .count: .count(0)
            case .sort(let keys): .sort(SortOperator(keys: keys, limit: nil, memoryLimit: budget.maxMemoryBytes, now: now))
            case .top(let n, let keys): .sort(SortOperator(keys: keys, limit: n, memoryLimit: budget.maxMemoryBytes, now: now))
            case .distinct(let items): .distinct(DistinctOperator(items: items, memoryLimit: budget.maxMemoryBytes, now: now))
            default: .streaming(op)
            }
        }
    }

    /// True once a `take` reached before any blocking stage has all its rows: the scan can stop.
    var isSatisfied: Bool {
        for stage in stages {
            switch stage {
            case .streaming, .distinct: continue
            case .limit(let remaining): return remaining == 0
            default: return false
            }
        }
        return false
    }

    /// The N-th best sort key of a leading top-N, for time-ordered scans.
    var orderBound: ScalarValue? {
        guard case .sort(let sort)? = stages.first else { return nil }
        return sort.boundKey
    }

    func feed(_ batch: ColumnBatch) throws(QueryError) {
        try push(batch, from: 0)
    }

    private func push(_ batch: ColumnBatch, from start: Int) throws(QueryError) {
        var current = batch
        var index = start
        while index < stages.count {
            switch stages[index] {
            case .streaming(let op):
                current = try StreamingOperators.apply(op, current, now: now)
            case .limit(let remaining):
                let available = current.selection?.count ?? current.rowCount
                guard remaining > 0 else { return }
                if available > remaining {
                    if let selection = current.selection {
                        current.selection = Array(selection.prefix(remaining))
                    } else {
                        current.selection = (0..<UInt32(remaining)).map { $0 }
                    }
                }
                stages[index] = .limit(remaining - min(remaining, available))
            case .aggregate(let aggregator):
                try aggregator.add(current)
                return
            case .count(let n):
                stages[index] = .count(n + (current.selection?.count ?? current.rowCount))
                return
            case .sort(let sort):
                try sort.add(current)
                return
            case .distinct(let distinct):
                guard let fresh = try distinct.add(current) else { return }
                current = fresh
            }
            if (current.selection?.count ?? current.rowCount) == 0 { return }
            index += 1
        }
        outputs.append(Self.compacted(current))
    }

    /// Ends the input: blocking stages emit their rows into the rest of the pipeline.
    func finish() throws(QueryError) -> [ColumnBatch] {
        for index in stages.indices {
            let produced: ColumnBatch?
            switch stages[index] {
            case .aggregate(let aggregator): produced = try aggregator.finish()
            case .count(let n): produced = try BatchBuilding.batch(rowCount: 1, columns: [("Count", Column(.int64([Int64(n)])))])
            case .sort(let sort): produced = try sort.finish()
            default: produced = nil
            }
            if let produced { try push(produced, from: index + 1) }
        }
        return outputs
    }

    func outputNames(scanColumns: [String]?) -> [String] {
        var names = scanColumns ?? []
        for op in operators {
            switch op {
            case .project(let items), .distinct(let items): names = items.map(\.name)
            case .extend(let items): names += items.map(\.name).filter { !names.contains($0) }
            case .projectAway(let away): names.removeAll { away.contains($0) }
            case .aggregate(let keys, let aggregates): names = keys.map(\.name) + aggregates.flatMap(\.outputNames)
            case .count: names = ["Count"]
            default: break
            }
        }
        return names
    }

    /// The batch with its selection applied (results hold no selection vectors).
    static func compacted(_ batch: ColumnBatch) -> ColumnBatch {
        guard let selection = batch.selection else { return batch }
        let columns = zip(batch.names, batch.columns).map { ($0, $1.gathered(selection)) }
        return (try? ColumnBatch(rowCount: selection.count, columns: columns)) ?? ColumnBatch(rowCount: 0)  // names come from a valid batch
    }
}
