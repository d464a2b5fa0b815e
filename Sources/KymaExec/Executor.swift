// KymaExec: the vectorized executor. Runs a `PhysicalPlan` — a plain value naming scan units, the
// scan's filter and the pipeline — over `ColumnBatch`es with selection vectors, reading units in
// parallel through a `ReaderProvider`, within a budget of bytes, memory and time. When the
// pipeline starts with an aggregation, each unit is aggregated on its own task into a partial
// state and the partials are merged in unit order (two-phase aggregation). Knows formats only as
// `ExtentReader`; knows no query language and no storage.

import KymaCore
import KymaFormat
import KymaPlan
import KymaTableSource

/// What one node runs: the units to read and what to do with their rows. A plain value.
public struct PhysicalPlan: Sendable, Hashable, Codable {
    public var units: [ScanUnit]
    /// Columns to decode; nil decodes all.
    public var columns: [String]?
    /// The scan's filter, evaluated on every decoded block.
    public var scanFilter: Expr?
    /// The operators after the scan's filter.
    public var pipeline: [PlanOperator]
    public var scanOrder: ScanOrder
    public var nowNanos: Int64

    public init(units: [ScanUnit], columns: [String]?, scanFilter: Expr?, pipeline: [PlanOperator], scanOrder: ScanOrder = .any, nowNanos: Int64) {
        self.units = units
        self.columns = columns
        self.scanFilter = scanFilter
        self.pipeline = pipeline
        self.scanOrder = scanOrder
        self.nowNanos = nowNanos
    }

    /// The plan of a prepared query over the units a source returned.
    public init(_ prepared: PreparedQuery, units: [ScanUnit]) {
        self.init(units: units, columns: prepared.scan.columns, scanFilter: prepared.scan.filterExpression,
                  pipeline: prepared.pipeline, scanOrder: prepared.scan.order, nowNanos: prepared.nowNanos)
    }
}

/// Limits of one query; each is a clear error when exceeded.
public struct QueryBudget: Sendable, Hashable, Codable {
    public var maxBytesRead: Int
    public var maxMemoryBytes: Int
    public var timeoutSeconds: Double?
    /// Units scanned at once.
    public var parallelism: Int

    public init(maxBytesRead: Int = 64 << 30, maxMemoryBytes: Int = 4 << 30, timeoutSeconds: Double? = nil, parallelism: Int = 2) {
        self.maxBytesRead = maxBytesRead
        self.maxMemoryBytes = maxMemoryBytes
        self.timeoutSeconds = timeoutSeconds
        self.parallelism = max(1, parallelism)
    }
}

/// What execution did, for EXPLAIN ANALYZE.
public struct ExecutionStats: Sendable, Hashable, Codable {
    public var unitsScanned = 0
    /// Units skipped by a time-ordered scan's early stop.
    public var unitsSkippedByOrder = 0
    public var blocksRead = 0
    public var rowsDecoded = 0
    public var rowsMatched = 0
    public var rowsReturned = 0
    /// Partial aggregate states merged (one per unit when aggregation ran in two phases).
    public var partialAggregatesMerged = 0
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

    public init(names: [String], batches: [ColumnBatch], stats: ExecutionStats) {
        self.names = names
        self.batches = batches
        self.stats = stats
    }

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
    /// The names of the columns `plan` returns when its scan yields `scanColumns` (a table's
    /// columns, for plans that keep them all).
    public static func outputNames(_ plan: PhysicalPlan, scanColumns: [String]) -> [String] {
        let names = plan.columns ?? scanColumns
        var out = names
        for op in plan.pipeline {
            switch op {
            case .project(let items), .distinct(let items): out = items.map(\.name)
            case .extend(let items): out += items.map(\.name).filter { !out.contains($0) }
            case .projectAway(let away): out.removeAll { away.contains($0) }
            case .aggregate(let keys, let aggregates): out = keys.map(\.name) + aggregates.flatMap(\.outputNames)
            case .count: out = ["Count"]
            default: break
            }
        }
        return out
    }

    /// Runs `plan`, collecting its rows. `bytesRead` reports the bytes the query's store has
    /// returned so far, checked against the budget after every block.
    public static func run(_ plan: PhysicalPlan, readers: any ReaderProvider, budget: QueryBudget,
                           bytesRead: @escaping @Sendable () -> Int = { 0 }) async throws(QueryError) -> QueryResult {
        let collected = BatchCollector()
        let stats = try await run(plan, readers: readers, budget: budget, bytesRead: bytesRead) { batch throws(QueryError) in
            collected.batches.append(batch)
        }
        var names: [String] = []
        for batch in collected.batches { for name in batch.names where !names.contains(name) { names.append(name) } }
        if names.isEmpty { names = outputNames(plan, scanColumns: []) }
        return QueryResult(names: names, batches: collected.batches, stats: stats)
    }

    final class BatchCollector: @unchecked Sendable {
        // Appended to only from the coordinating task of one query.
        var batches: [ColumnBatch] = []
    }

    /// Runs `plan`, handing each output batch to `output` as soon as the pipeline produces it
    /// (streaming operators produce while the scan runs; blocking ones at the end).
    public static func run(_ plan: PhysicalPlan, readers: any ReaderProvider, budget: QueryBudget,
                           bytesRead: @escaping @Sendable () -> Int = { 0 },
                           output: (ColumnBatch) async throws(QueryError) -> Void) async throws(QueryError) -> ExecutionStats {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = budget.timeoutSeconds.map { started.advanced(by: .nanoseconds(Int64(min($0, 1e9) * 1e9))) }
        let prefixLength = plan.pipeline.prefix { $0.isStreaming }.count
        let prefix = Array(plan.pipeline.prefix(prefixLength))
        let pipeline = try Pipeline(Array(plan.pipeline.dropFirst(prefixLength)), budget: budget, now: plan.nowNanos)
        // Two-phase aggregation: each unit into its own partial state.
        let partial: PartialAggregation? = pipeline.leadingAggregator.map { aggregator in
            guard case .aggregate(let keys, let aggregates)? = plan.pipeline.dropFirst(prefixLength).first else { return nil }
            return PartialAggregation(keys: keys, aggregates: aggregates, memoryLimit: budget.maxMemoryBytes, into: aggregator)
        } ?? nil
        var stats = ExecutionStats()
        let stop = StopFlag()
        let late = LateTopN(plan, prefixLength: prefixLength)
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
                    guard next < plan.units.count, !stop.isSet else { return false }
                    // A time-ordered top-N stops once no remaining unit can beat its N-th row.
                    // Until it holds N rows no later unit can be judged: launch one at a time
                    // (a unit launched ahead of that would be read whatever the bound says).
                    if plan.scanOrder != .any, pipeline.hasOrderBound, pipeline.orderBound == nil, running > 0 { return false }
                    if plan.scanOrder != .any, let bound = pipeline.orderBound {
                        let range = plan.units[next].timeRange
                        let beyond: Bool
                        switch (plan.scanOrder, bound) {
                        case (.timeDescending, .timestamp(let t)): beyond = range.upperNanos < t
                        case (.timeAscending, .timestamp(let t)): beyond = range.lowerNanos > t
                        default: beyond = false
                        }
                        if beyond {
                            stats.unitsSkippedByOrder += plan.units.count - next
                            next = plan.units.count
                            return false
                        }
                    }
                    try check()
                    let index = next
                    let unit = plan.units[index]
                    next += 1
                    running += 1
                    group.addTask {
                        (index, try await scan(unit, readers: readers, plan: plan, prefix: prefix, partial: partial, stop: stop, check: check,
                                               late: late))
                    }
                    return true
                }
                while running < budget.parallelism, try launch() {}
                while running > 0, let (index, result) = try await group.next() {
                    running -= 1
                    pending[index] = result
                    // Feed in unit order so results do not depend on timing.
                    while let ready = pending.removeValue(forKey: fed) {
                        fed += 1
                        stats.unitsScanned += 1
                        stats.blocksRead += ready.blocksRead
                        stats.rowsDecoded += ready.rowsDecoded
                        stats.rowsMatched += ready.rowsMatched
                        stats.scanNanos += ready.nanos
                        let pipelineStart = clock.now
                        if let aggregator = ready.aggregator, let partial {
                            try partial.target.merge(aggregator)
                            stats.partialAggregatesMerged += 1
                        }
                        for batch in ready.batches where !pipeline.isSatisfied { try pipeline.feed(batch) }
                        stats.pipelineNanos += UInt64((clock.now - pipelineStart).nanoseconds)
                        for batch in pipeline.takeOutputs() {
                            stats.rowsReturned += batch.rowCount
                            try await output(batch)
                        }
                        if pipeline.isSatisfied {
                            stop.set()
                            stats.stoppedEarly = true
                        }
                    }
                    if pipeline.isSatisfied { group.cancelAll() }
                    while running < budget.parallelism, try launch() {}
                }
            }
        } catch {
            throw StorageErrors.queryError(error, doing: "scanning")
        }
        let finishStart = clock.now
        try pipeline.finish()
        stats.pipelineNanos += UInt64((clock.now - finishStart).nanoseconds)
        for batch in pipeline.takeOutputs() {
            stats.rowsReturned += batch.rowCount
            try await output(batch)
        }
        return stats
    }

    /// The shape of the leading aggregation, for building per-unit partial states.
    struct PartialAggregation: @unchecked Sendable {
        let keys: [NamedExpr]
        let aggregates: [Aggregate]
        let memoryLimit: Int
        // Only the coordinating task merges into it.
        let target: HashAggregator

        init(keys: [NamedExpr], aggregates: [Aggregate], memoryLimit: Int, into target: HashAggregator) {
            self.keys = keys
            self.aggregates = aggregates
            self.memoryLimit = memoryLimit
            self.target = target
        }
    }

    struct ScanOutput: @unchecked Sendable {
        // Batches of one unit, or its partial aggregate (owned by whoever holds the output).
        var batches: [ColumnBatch] = []
        var aggregator: HashAggregator?
        var blocksRead = 0
        var rowsDecoded = 0
        var rowsMatched = 0
        var nanos: UInt64 = 0
    }

    static func scan(_ unit: ScanUnit, readers: any ReaderProvider, plan: PhysicalPlan, prefix: [PlanOperator], partial: PartialAggregation?,
                     stop: StopFlag, check: () throws(QueryError) -> Void, late: LateTopN? = nil) async throws(QueryError) -> ScanOutput {
        let clock = ContinuousClock()
        let started = clock.now
        var output = ScanOutput()
        let aggregator = partial.map { HashAggregator(keys: $0.keys, aggregates: $0.aggregates, memoryLimit: $0.memoryLimit, now: plan.nowNanos) }
        output.aggregator = aggregator
        let reader = try await readers.reader(for: unit)
        // Schema on read: a column this unit lacks reads as null, so it is not asked for.
        let columns = plan.columns.map { wanted in wanted.filter { reader.schema.index(of: $0) != nil } }
        // A newest-first top-N reads a unit's blocks newest first too (they are in time order):
        // the newest block's rows bound the rest, whose statistics then skip them.
        let blocks = late != nil && plan.scanOrder == .timeDescending ? unit.blocks.reversed() : unit.blocks
        for block in blocks {
            if stop.isSet { break }
            try check()
            let read = try await BlockReads.read(block, of: unit, reader: reader, plan: plan, columns: columns, late: late)
            guard read.read else { continue }
            output.blocksRead += 1
            output.rowsDecoded += read.rowsDecodedFirst
            for var batch in read.batches {
                output.rowsDecoded += batch.rowCount
                if let filter = plan.scanFilter, !read.filtered {
                    let selected = try ExpressionEvaluator.select(filter, batch, rows: batch.selection, now: plan.nowNanos)
                    if selected.isEmpty { continue }
                    batch.selection = selected.count == batch.rowCount ? nil : selected
                }
                output.rowsMatched += batch.selection?.count ?? batch.rowCount
                for op in prefix { batch = try StreamingOperators.apply(op, batch, now: plan.nowNanos) }
                guard (batch.selection?.count ?? batch.rowCount) > 0 else { continue }
                if let aggregator { try aggregator.add(batch) } else { output.batches.append(batch) }
            }
        }
        output.nanos = UInt64((clock.now - started).nanoseconds)
        return output
    }
}
