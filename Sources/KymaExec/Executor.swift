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
    /// Units scanned at once (on each node).
    public var parallelism: Int
    /// When units are scanned on other nodes and a unit's node and its retry both fail: answer
    /// from the other units and name the failed ones (`ExecutionStats.failedUnits`) instead of
    /// failing the query.
    public var allowPartial: Bool

    public init(maxBytesRead: Int = 64 << 30, maxMemoryBytes: Int = 4 << 30, timeoutSeconds: Double? = nil, parallelism: Int = 2,
                allowPartial: Bool = false) {
        self.maxBytesRead = maxBytesRead
        self.maxMemoryBytes = maxMemoryBytes
        self.timeoutSeconds = timeoutSeconds
        self.parallelism = max(1, parallelism)
        self.allowPartial = allowPartial
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
    /// Per node, when units were scanned through a `UnitScanner`.
    public var nodes: [NodeExecution] = []
    /// Units left out of a partial result.
    public var failedUnits: [FailedUnit] = []

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
    /// (streaming operators produce while the scan runs; blocking ones at the end). With a
    /// `scanner`, units are scanned through it (on the nodes it places them on) and only merged
    /// here; without one, on tasks of this process.
    public static func run(_ plan: PhysicalPlan, readers: any ReaderProvider, budget: QueryBudget,
                           bytesRead: @escaping @Sendable () -> Int = { 0 }, scanner: (any UnitScanner)? = nil,
                           output: (ColumnBatch) async throws(QueryError) -> Void) async throws(QueryError) -> ExecutionStats {
        let clock = ContinuousClock()
        let prefixLength = plan.pipeline.prefix { $0.isStreaming }.count
        let prefix = Array(plan.pipeline.prefix(prefixLength))
        let pipeline = try Pipeline(Array(plan.pipeline.dropFirst(prefixLength)), budget: budget, now: plan.nowNanos)
        // Two-phase aggregation: each unit into its own partial state.
        let partial = PartialAggregation(plan, prefixLength: prefixLength, pipeline: pipeline, memoryLimit: budget.maxMemoryBytes)
        var stats = ExecutionStats()
        let stop = StopFlag()
        let late = LateTopN(plan, prefixLength: prefixLength)
        let check = limits(budget, bytesRead: bytesRead)
        var pending: [Int: ScanOutput] = [:]
        var pendingBytes = 0
        var fed = 0

        /// Takes one unit's output; feeds every output that is next in unit order, so results do
        /// not depend on timing. Outputs that wait for an earlier unit count against the memory
        /// budget (a slow unit cannot make the others pile up without bound).
        func accept(_ index: Int, _ result: ScanOutput) async throws(QueryError) {
            pending[index] = result
            pendingBytes += result.wireBytes
            if pendingBytes > budget.maxMemoryBytes {
                throw .resourcesExhausted(resource: "memory for unit outputs waiting on an earlier unit", limit: budget.maxMemoryBytes, used: pendingBytes)
            }
            while let ready = pending.removeValue(forKey: fed) {
                fed += 1
                pendingBytes -= ready.wireBytes
                if ready.failed { continue }
                stats.unitsScanned += 1
                stats.blocksRead += ready.blocksRead
                stats.rowsDecoded += ready.rowsDecoded
                stats.rowsMatched += ready.rowsMatched
                stats.scanNanos += ready.nanos
                let pipelineStart = clock.now
                if let partial {
                    if let aggregator = ready.aggregator {
                        try partial.target.merge(aggregator)
                        stats.partialAggregatesMerged += 1
                    } else if let state = ready.encodedState {
                        try partial.target.merge(encoded: state)
                        stats.partialAggregatesMerged += 1
                    }
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
        }

        /// A time-ordered top-N stops once no remaining unit can beat its N-th row.
        func beyondOrderBound(_ unit: ScanUnit) -> Bool {
            guard plan.scanOrder != .any, let bound = pipeline.orderBound else { return false }
            switch (plan.scanOrder, bound) {
            case (.timeDescending, .timestamp(let t)): return unit.timeRange.upperNanos < t
            case (.timeAscending, .timestamp(let t)): return unit.timeRange.lowerNanos > t
            default: return false
            }
        }

        if let scanner {
            // Units go out in waves: all at once, or, for a time-ordered top-N, a wave at a time so
            // the order bound can stop the scan between waves (one unit until it holds N rows).
            var next = 0
            while next < plan.units.count, !pipeline.isSatisfied {
                if beyondOrderBound(plan.units[next]) {
                    stats.unitsSkippedByOrder += plan.units.count - next
                    break
                }
                try check()
                let wave = plan.scanOrder == .any ? plan.units.count - next
                    : pipeline.hasOrderBound && pipeline.orderBound == nil ? 1 : budget.parallelism * 2
                let indexes = Array(next..<min(plan.units.count, next + wave))
                next = indexes.last! + 1
                do {
                    for try await event in scanner.scan(plan, indexes: indexes, budget: budget) {
                        switch event {
                        case .unit(let index, let node, let unitOutput, let bytes, let requests):
                            stats.record(node: node, output: unitOutput, bytesRead: bytes, requests: requests)
                            try await accept(index, ScanOutput(unitOutput))
                        case .failed(let index, let node, let reason):
                            stats.failedUnits.append(FailedUnit(objectKey: plan.units[index].objectKey, node: node, reason: reason))
                            try await accept(index, ScanOutput(failed: true))
                        case .retried(let node, let units):
                            stats.recordRetry(node: node, units: units)
                        }
                        if pipeline.isSatisfied { break }
                    }
                } catch let error as QueryError {
                    throw error
                } catch {
                    throw .internalError("unit scanner: \(error)")
                }
            }
        } else {
            do {
                try await withThrowingTaskGroup(of: (Int, ScanOutput).self) { group in
                    var next = 0
                    var running = 0
                    func launch() throws(QueryError) -> Bool {
                        guard next < plan.units.count, !stop.isSet else { return false }
                        // Until a time-ordered top-N holds N rows no later unit can be judged:
                        // launch one at a time (a unit launched ahead of that would be read
                        // whatever the bound says).
                        if plan.scanOrder != .any, pipeline.hasOrderBound, pipeline.orderBound == nil, running > 0 { return false }
                        if beyondOrderBound(plan.units[next]) {
                            stats.unitsSkippedByOrder += plan.units.count - next
                            next = plan.units.count
                            return false
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
                        try await accept(index, result)
                        if pipeline.isSatisfied { group.cancelAll() }
                        while running < budget.parallelism, try launch() {}
                    }
                }
            } catch {
                throw StorageErrors.queryError(error, doing: "scanning")
            }
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

    /// The leaf's half of a distributed query: scans every unit of `plan` (the units placed on
    /// this node) up to `budget.parallelism` at a time and hands each unit's output to `each`,
    /// in completion order, from the calling task. The coordinator's `run` merges them.
    public static func scanUnits(_ plan: PhysicalPlan, readers: any ReaderProvider, budget: QueryBudget,
                                 bytesRead: @escaping @Sendable () -> Int = { 0 },
                                 each: (Int, UnitOutput) async throws(QueryError) -> Void) async throws(QueryError) {
        let prefixLength = plan.pipeline.prefix { $0.isStreaming }.count
        let prefix = Array(plan.pipeline.prefix(prefixLength))
        let pipeline = try Pipeline(Array(plan.pipeline.dropFirst(prefixLength)), budget: budget, now: plan.nowNanos)
        let partial = PartialAggregation(plan, prefixLength: prefixLength, pipeline: pipeline, memoryLimit: budget.maxMemoryBytes)
        let late = LateTopN(plan, prefixLength: prefixLength)
        let stop = StopFlag()
        let check = limits(budget, bytesRead: bytesRead)
        do {
            try await withThrowingTaskGroup(of: (Int, ScanOutput).self) { group in
                var next = 0
                var running = 0
                func launch() throws(QueryError) {
                    try check()
                    let index = next
                    let unit = plan.units[index]
                    next += 1
                    running += 1
                    group.addTask {
                        (index, try await scan(unit, readers: readers, plan: plan, prefix: prefix, partial: partial, stop: stop, check: check, late: late))
                    }
                }
                while running < budget.parallelism, next < plan.units.count { try launch() }
                while running > 0, let (index, result) = try await group.next() {
                    running -= 1
                    let payload: UnitOutput.Payload = result.aggregator.map { .partialState($0.encodedState()) } ?? .rows(result.batches)
                    try await each(index, UnitOutput(payload: payload, blocksRead: result.blocksRead, rowsDecoded: result.rowsDecoded,
                                                     rowsMatched: result.rowsMatched, nanos: result.nanos))
                    while running < budget.parallelism, next < plan.units.count { try launch() }
                }
            }
        } catch {
            throw StorageErrors.queryError(error, doing: "scanning")
        }
    }

    /// The budget's checks, made before every unit and block: cancellation, the time limit
    /// (from now) and the bytes read so far.
    static func limits(_ budget: QueryBudget, bytesRead: @escaping @Sendable () -> Int) -> @Sendable () throws(QueryError) -> Void {
        let clock = ContinuousClock()
        let deadline = budget.timeoutSeconds.map { clock.now.advanced(by: .nanoseconds(Int64(min($0, 1e9) * 1e9))) }
        return { () throws(QueryError) in
            if Task.isCancelled { throw .cancelled }
            if let deadline, clock.now > deadline { throw .timeout(seconds: budget.timeoutSeconds ?? 0) }
            let read = bytesRead()
            if read > budget.maxBytesRead { throw .resourcesExhausted(resource: "bytes read", limit: budget.maxBytesRead, used: read) }
        }
    }

    /// The shape of the leading aggregation, for building per-unit partial states.
    struct PartialAggregation: @unchecked Sendable {
        let keys: [NamedExpr]
        let aggregates: [Aggregate]
        let memoryLimit: Int
        // Only the coordinating task merges into it.
        let target: HashAggregator

        /// When the pipeline after the streaming prefix starts with an aggregation.
        init?(_ plan: PhysicalPlan, prefixLength: Int, pipeline: Pipeline, memoryLimit: Int) {
            guard let aggregator = pipeline.leadingAggregator,
                  case .aggregate(let keys, let aggregates)? = plan.pipeline.dropFirst(prefixLength).first else { return nil }
            self.keys = keys
            self.aggregates = aggregates
            self.memoryLimit = memoryLimit
            self.target = aggregator
        }
    }

    struct ScanOutput: @unchecked Sendable {
        // Batches of one unit, or its partial aggregate (owned by whoever holds the output), or
        // that aggregate encoded by a leaf; or nothing, for a unit that failed.
        var batches: [ColumnBatch] = []
        var aggregator: HashAggregator?
        var encodedState: [UInt8]?
        var failed = false
        var wireBytes = 0
        var blocksRead = 0
        var rowsDecoded = 0
        var rowsMatched = 0
        var nanos: UInt64 = 0

        init(failed: Bool = false) { self.failed = failed }

        init(_ unit: UnitOutput) {
            switch unit.payload {
            case .rows(let batches): self.batches = batches
            case .partialState(let state): encodedState = state
            }
            blocksRead = unit.blocksRead
            rowsDecoded = unit.rowsDecoded
            rowsMatched = unit.rowsMatched
            nanos = unit.nanos
            wireBytes = unit.wireBytes
        }
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
