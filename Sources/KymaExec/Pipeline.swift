// The runtime state of a plan's pipeline (DataFusion's exec/stream split: `PlanOperator`s are
// values; the stages built from them here hold the rows). Streaming operators apply batch by
// batch; blocking ones (aggregate, sort, top, count) hold rows until the input ends.
//
//   stage states:  streaming --(batch)--> next stage
//                  limit(n) --(rows)--> limit(n - rows) ... limit(0): satisfied, the scan stops
//                  offset(n) --(rows)--> offset(n - rows), dropping them
//                  aggregate / sort / count --(finish)--> one batch into the next stage

import KymaCore
import KymaPlan
import Synchronization

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
        case offset(Int)
        case aggregate(HashAggregator)
        case count(Int)
        case sort(SortOperator)
        case distinct(DistinctOperator)
    }

    var stages: [Stage]
    /// Batches that came out of the last stage and were not taken yet.
    var outputs: [ColumnBatch] = []
    let operators: [PlanOperator]
    let now: Int64

    init(_ operators: [PlanOperator], budget: QueryBudget, now: Int64) throws(QueryError) {
        self.operators = operators
        self.now = now
        stages = operators.map { op in
            switch op {
            case .limit(let n): .limit(max(0, n))
            case .offset(let n): .offset(max(0, n))
            case .aggregate(let keys, let aggregates):
                .aggregate(HashAggregator(keys: keys, aggregates: aggregates, memoryLimit: budget.maxMemoryBytes, now: now))
            case .count: .count(0)
            case .sort(let keys): .sort(SortOperator(keys: keys, limit: nil, memoryLimit: budget.maxMemoryBytes, now: now))
            case .top(let n, let keys): .sort(SortOperator(keys: keys, limit: max(0, n), memoryLimit: budget.maxMemoryBytes, now: now))
            case .distinct(let items): .distinct(DistinctOperator(items: items, memoryLimit: budget.maxMemoryBytes, now: now))
            default: .streaming(op)
            }
        }
    }

    /// True once a `take` reached before any blocking stage has all its rows: the scan can stop.
    var isSatisfied: Bool {
        for stage in stages {
            switch stage {
            case .streaming, .distinct, .offset: continue
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

    /// Whether a leading top-N will give an `orderBound` once it holds N rows.
    var hasOrderBound: Bool {
        guard case .sort(let sort)? = stages.first else { return false }
        return sort.limit != nil
    }

    /// The aggregator of a leading aggregate stage: scans may aggregate their own units into
    /// partial states of the same shape and merge them here.
    var leadingAggregator: HashAggregator? {
        guard case .aggregate(let aggregator)? = stages.first else { return nil }
        return aggregator
    }

    func feed(_ batch: ColumnBatch) throws(QueryError) {
        try push(batch, from: 0)
    }

    /// The output batches produced so far, handed over once.
    func takeOutputs() -> [ColumnBatch] {
        defer { outputs.removeAll() }
        return outputs
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
                if available > remaining { current.selection = Array(Self.rows(current).prefix(remaining)) }
                stages[index] = .limit(remaining - min(remaining, available))
            case .offset(let remaining):
                let available = current.selection?.count ?? current.rowCount
                if remaining > 0 {
                    stages[index] = .offset(remaining - min(remaining, available))
                    if available <= remaining { return }
                    current.selection = Array(Self.rows(current).dropFirst(remaining))
                }
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

    static func rows(_ batch: ColumnBatch) -> [UInt32] {
        batch.selection ?? (0..<UInt32(batch.rowCount)).map { $0 }
    }

    /// Ends the input: blocking stages emit their rows into the rest of the pipeline.
    func finish() throws(QueryError) {
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
