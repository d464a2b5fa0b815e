// KymaQueryService: the one path from query text to rows. Text and a language go in; the
// frontend parses it, the optimizer prepares it, the table source scans, the executor runs the
// plan value; batches and a profile come out, and every failure is a `QueryError` whose kind
// the CLI and the server map the same way. The CLI, k2i's /query and vector filters use it.
//
//   text --frontend--> Statement --prepare()--> PreparedQuery --TableSource.scan--> ScanUnits
//        --PhysicalPlan--> executor --batches--> caller

import KymaCore
import KymaExec
import KymaOptimizer
import KymaPlan
import KymaTableSource

/// One query to run.
public struct QueryRequest: Sendable {
    public var text: String
    /// `kql`, `sql`, or nil / `auto` to tell by the text.
    public var language: String?
    public var budget: QueryBudget
    /// The query's `now()` in nanoseconds since the epoch.
    public var nowNanos: Int64

    public init(text: String, language: String? = nil, budget: QueryBudget = QueryBudget(), nowNanos: Int64) {
        self.text = text
        self.language = language
        self.budget = budget
        self.nowNanos = nowNanos
    }
}

/// A query's plan as EXPLAIN shows it, and its profile (with execution costs when analyzed).
public struct Explanation: Sendable {
    public var language: String
    public var prepared: PreparedQuery
    public var pushedDown: [(level: String, predicate: String)]
    public var units: Int
    public var profile: QueryProfile
    public var analyzed: Bool
    /// The units go to the cluster's leaf services.
    public var distributed: Bool
}

/// What running a statement gave: rows, or (for EXPLAIN) an explanation.
public enum QueryOutcome: Sendable {
    case rows(QueryResult, QueryProfile)
    case explanation(Explanation)
}

public struct QueryService: Sendable {
    public let frontends: FrontendRegistry
    public let sources: any TableSourceResolver
    /// Where units are scanned: through the cluster's leaf services (this node's included) when
    /// set, else on this process's tasks. Units held in memory are always scanned here.
    public let scanner: (any UnitScanner)?

    public init(frontends: FrontendRegistry, sources: any TableSourceResolver, scanner: (any UnitScanner)? = nil) {
        self.frontends = frontends
        self.sources = sources
        self.scanner = scanner
    }

    /// The scanner for these units: none when some are rows held in memory, which only this
    /// process can read.
    func scanner(for units: [ScanUnit]) -> (any UnitScanner)? {
        guard let scanner, !units.contains(where: { $0.format == "memory" }) else { return nil }
        return scanner
    }

    /// The statement `text` is, in `language` (nil: told by the text).
    public func parse(_ text: String, language: String?) throws(QueryError) -> (language: String, statement: Statement) {
        guard text.utf8.count <= QueryLimits.maxQueryBytes else {
            throw .semantic("query text of \(text.utf8.count) bytes is over the limit of \(QueryLimits.maxQueryBytes)", at: nil)
        }
        let frontend = try frontends.frontend(for: text, language: language)
        return (frontend.name, try frontend.parseStatement(text))
    }

    /// A predicate on its own (vector payload filters), parsed and prepared as a `where` would be.
    public func filter(_ text: String, language: String?, nowNanos: Int64) throws(QueryError) -> Expr {
        let frontend = try frontends.frontend(for: text, language: language ?? frontends.names.first)
        return try QueryOptimizer.prepareExpression(try frontend.parseExpression(text), timeColumn: nil, nowNanos: nowNanos)
    }

    /// Runs the statement and collects its rows (or its explanation).
    public func execute(_ request: QueryRequest) async throws(QueryError) -> QueryOutcome {
        let (language, statement) = try parse(request.text, language: request.language)
        switch statement {
        case .query(let plan):
            let collected = Collected()
            let (names, profile) = try await run(plan, budget: request.budget, nowNanos: request.nowNanos) { names in
                collected.names = names
            } batch: { batch throws(QueryError) in
                collected.batches.append(batch)
            }
            return .rows(QueryResult(names: names, batches: collected.batches, stats: ExecutionStats()), profile)
        case .explain(let plan, let analyze):
            return .explanation(try await explain(plan, language: language, analyze: analyze, budget: request.budget, nowNanos: request.nowNanos))
        }
    }

    final class Collected: @unchecked Sendable {
        // Written only by the task running one query.
        var names: [String] = []
        var batches: [ColumnBatch] = []
    }

    /// Runs a query statement, streaming: `header` gets the column names before any row,
    /// `batch` each batch as the executor produces it. An EXPLAIN statement is refused here.
    public func stream(_ request: QueryRequest, header: @escaping @Sendable ([String]) async throws(QueryError) -> Void,
                       batch: @escaping @Sendable (ColumnBatch) async throws(QueryError) -> Void) async throws(QueryError) -> QueryProfile {
        let (_, statement) = try parse(request.text, language: request.language)
        guard case .query(let plan) = statement else {
            throw .semantic("EXPLAIN returns a plan, not rows: ask for the explanation", at: nil)
        }
        return try await run(plan, budget: request.budget, nowNanos: request.nowNanos, header: header, batch: batch).1
    }

    /// Runs a plan built by the caller (k2i's lookups) and collects the rows.
    public func run(_ plan: LogicalPlan, budget: QueryBudget = QueryBudget(), nowNanos: Int64) async throws(QueryError) -> (QueryResult, QueryProfile) {
        let collected = Collected()
        let (names, profile) = try await run(plan, budget: budget, nowNanos: nowNanos) { names in collected.names = names } batch: { b throws(QueryError) in
            collected.batches.append(b)
        }
        return (QueryResult(names: names, batches: collected.batches, stats: ExecutionStats()), profile)
    }

    /// The explanation of `plan`; with `analyze`, the plan is run and its costs added.
    public func explain(_ plan: LogicalPlan, language: String, analyze: Bool, budget: QueryBudget, nowNanos: Int64) async throws(QueryError) -> Explanation {
        try await bounded(budget) { () async throws(QueryError) -> Explanation in
            let counter = ByteCounter()
            return try await Self.counting(counter) { () async throws(QueryError) -> Explanation in
                let clock = ContinuousClock()
                let started = clock.now
                let (prepared, source) = try await prepare(plan, nowNanos: nowNanos)
                let scan = try await source.scan(ScanRequest(table: plan.table, spec: prepared.scan, nowNanos: nowNanos, wantTotals: true))
                var profile = QueryProfile()
                profile.add(scan: scan.stats)
                if analyze {
                    let physical = PhysicalPlan(prepared, units: scan.units)
                    let executionStart = clock.now
                    let stats = try await QueryExecutor.run(physical, readers: source.readers, budget: budget, bytesRead: { counter.value },
                                                            scanner: scanner(for: scan.units)) { _ throws(QueryError) in }
                    profile.add(execution: stats)
                    profile.executionMillis = Self.millis(clock.now - executionStart)
                    profile.dataBytesRead = counter.value - profile.footerBytesRead + stats.nodes.reduce(0) { $0 + $1.bytesRead }
                    profile.storeRequests = counter.requests + stats.nodes.reduce(0) { $0 + $1.requests }
                    profile.totalMillis = Self.millis(clock.now - started)
                }
                return Explanation(language: language, prepared: prepared, pushedDown: scan.pushedDown, units: scan.units.count,
                                   profile: profile, analyzed: analyze, distributed: scanner(for: scan.units) != nil)
            }
        }
    }

    func prepare(_ plan: LogicalPlan, nowNanos: Int64) async throws(QueryError) -> (PreparedQuery, any TableSource) {
        let source = plan.table == LogicalPlan.noTable
            ? try InMemoryTableSource(table: LogicalPlan.noTable, timeColumn: nil, parts: [[ColumnBatch(rowCount: 1)]])
            : try await sources.source(for: plan.table)
        return (try QueryOptimizer.prepare(plan, timeColumn: source.timeColumn, nowNanos: nowNanos), source)
    }

    /// The whole path for one plan, within the budget: names, then batches, then the profile.
    func run(_ plan: LogicalPlan, budget: QueryBudget, nowNanos: Int64, header: @escaping @Sendable ([String]) async throws(QueryError) -> Void,
             batch: @escaping @Sendable (ColumnBatch) async throws(QueryError) -> Void) async throws(QueryError) -> ([String], QueryProfile) {
        try await bounded(budget) { () async throws(QueryError) -> ([String], QueryProfile) in
            let counter = ByteCounter()
            return try await Self.counting(counter) { () async throws(QueryError) -> ([String], QueryProfile) in
                let clock = ContinuousClock()
                let started = clock.now
                let (prepared, source) = try await prepare(plan, nowNanos: nowNanos)
                let scan = try await source.scan(ScanRequest(table: plan.table, spec: prepared.scan, nowNanos: nowNanos))
                var profile = QueryProfile()
                profile.add(scan: scan.stats)
                let physical = PhysicalPlan(prepared, units: scan.units)
                let names = QueryExecutor.outputNames(physical, scanColumns: scan.columns)
                try await header(names)
                let executionStart = clock.now
                let stats = try await QueryExecutor.run(physical, readers: source.readers, budget: budget, bytesRead: { counter.value },
                                                        scanner: scanner(for: scan.units)) { b throws(QueryError) in
                    try await batch(b)
                }
                profile.add(execution: stats)
                profile.executionMillis = Self.millis(clock.now - executionStart)
                profile.dataBytesRead = counter.value - profile.footerBytesRead + stats.nodes.reduce(0) { $0 + $1.bytesRead }
                profile.storeRequests = counter.requests + stats.nodes.reduce(0) { $0 + $1.requests }
                profile.totalMillis = Self.millis(clock.now - started)
                return (names, profile)
            }
        }
    }

    /// Runs `work`, stopping it with `.timeout` when the budget's time runs out: the work is
    /// cancelled (a catalog query in flight is cancelled in PostgreSQL too) and not waited for
    /// beyond its own reaction to cancellation.
    func bounded<T: Sendable>(_ budget: QueryBudget, _ work: @escaping @Sendable () async throws(QueryError) -> T) async throws(QueryError) -> T {
        guard let seconds = budget.timeoutSeconds else { return try await work() }
        guard seconds > 0 else { throw .timeout(seconds: seconds) }
        return try await Deadline.run(seconds: seconds, work)
    }

    /// `work` with `counter` counting the bytes its task tree reads.
    static func counting<T>(_ counter: ByteCounter, _ work: () async throws(QueryError) -> T) async throws(QueryError) -> T {
        do {
            return try await ByteCounter.$current.withValue(counter) { try await work() }
        } catch {
            throw StorageErrors.queryError(error, doing: "running the query")
        }
    }

    static func millis(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
