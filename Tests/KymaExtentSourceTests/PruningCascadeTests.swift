// The pruning cascade end to end on the real catalog: no level may drop a matching row (answers
// equal a direct filter of the generated rows), the levels do prune, time-ordered top-N and take
// stop early, and budgets fail clearly.

import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaExec
import KymaFormat
import KymaFormatTLM
import KymaIngest
import KymaKQL
import KymaObjectStore
import KymaExtentSource
import KymaObjectStoreLocal
import KymaPlan
import KymaQueryService
import KymaTestSupport
import Testing

struct Row: Sendable {
    var id: Int
    var ts: Int64  // seconds
    var service: String
    var status: Int
    var latency: Double
    var user: String?
    var msg: String
}

struct PlannerFixture {
    let service: QueryService
    let rows: [Row]

    static func make(blockRows: Int) async throws -> PlannerFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_planner")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let base = String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)])
        let catalog = try await PostgresCatalog(url: base + name)
        let store = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-planner"))
        let formats = FormatRegistry([TLMFormat()])
        _ = try await catalog.createTable(TableDefinition(name: "logs", formatName: "tlm", options: ["block_rows": String(blockRows)], timeColumn: "ts"))
        var rng = SplitMix64(seed: 11)
        let services = ["api", "auth", "billing", "search"]
        let words = ["timeout", "connected", "retry", "cache", "miss", "hit", "upstream", "error", "ok"]
        var rows: [Row] = []
        for i in 0..<720 {
            rows.append(Row(id: i, ts: 1_700_000_000 + Int64(i) * 60, service: services[Int(rng.next() % 4)],
                            status: [200, 200, 200, 404, 500][Int(rng.next() % 5)], latency: Double(rng.next() % 10_000) / 10,
                            user: rng.next() % 5 == 0 ? nil : "u\(rng.next() % 50)",
                            msg: (0..<3).map { _ in words[Int(rng.next() % 9)] }.joined(separator: " ") + (i == 333 ? " needleterm" : "")))
        }
        let ingestor = LogIngestor(catalog: catalog, store: store, formats: formats)
        var options = IngestOptions()
        options.timeField = "ts"
        options.timeFormat = .epochSeconds
        options.timeWindowNanos = 3 * 3_600_000_000_000  // 3-hour extents: 4 per 720 minutes
        for chunk in stride(from: 0, to: rows.count, by: 240) {
            let lines = rows[chunk..<chunk + 240].map { r in
                "{\"ts\":\(r.ts),\"id\":\(r.id),\"service\":\"\(r.service)\",\"status\":\(r.status),\"latency\":\(r.latency)" +
                    (r.user.map { ",\"user\":\"\($0)\"" } ?? "") + ",\"msg\":\"\(r.msg)\"}"
            }
            _ = try await ingestor.ingest(Array(lines.joined(separator: "\n").utf8), into: "logs", options: options, nowNanos: 0)
        }
        let sources = CatalogTableSources(catalog: catalog, readers: ExtentReaderProvider(store: store, formats: formats))
        return PlannerFixture(service: QueryService(frontends: FrontendRegistry([KQLFrontend()]), sources: sources), rows: rows)
    }

    /// The ids a query returns, and EXPLAIN ANALYZE's profile of the same query.
    func ids(_ kql: String, budget: QueryBudget = QueryBudget()) async throws -> ([Int], QueryProfile) {
        guard case .rows(let result, _) = try await service.execute(QueryRequest(text: kql, language: "kql", budget: budget, nowNanos: 0)) else {
            throw QueryError.internalError("no rows")
        }
        let ids = result.rows.compactMap { row -> Int? in if case .int64(let v) = row[0] { Int(v) } else { nil } }
        let explained = try await service.explain(try KQLFrontend().parse(kql), language: "kql", analyze: true, budget: budget, nowNanos: 0)
        return (ids, explained.profile)
    }

    func run(_ plan: LogicalPlan, budget: QueryBudget = QueryBudget()) async throws(QueryError) -> QueryResult {
        try await service.run(plan, budget: budget, nowNanos: 0).0
    }
}

@Suite("Pruning cascade", .serialized)
struct PruningCascadeTests {
    static let cases: [(String, @Sendable (Row) -> Bool)] = [
        ("status == 500", { $0.status == 500 }),
        ("service == \"auth\" and latency > 500", { $0.service == "auth" && $0.latency > 500 }),
        ("msg has \"needleterm\"", { $0.msg.contains("needleterm") }),
        ("msg has \"timeout\" or status == 404", { $0.msg.split(separator: " ").contains("timeout") || $0.status == 404 }),
        ("ts between (datetime(2023-11-14T22:13:20Z) .. datetime(2023-11-15T00:00:00Z))", { $0.ts >= 1_700_000_000 && $0.ts <= 1_700_006_400 }),
        ("_time > datetime(2023-11-15T06:00:00Z) and service in (\"api\", \"search\")", { $0.ts > 1_700_028_000 && ["api", "search"].contains($0.service) }),
        ("isnotnull(user) and user == \"u7\"", { $0.user == "u7" }),
        ("id == 719", { $0.id == 719 }),
        ("id < 0", { _ in false }),
        ("latency >= 999.9", { $0.latency >= 999.9 }),
        ("status != 200 and msg !has \"ok\"", { $0.status != 200 && !$0.msg.split(separator: " ").contains("ok") }),
    ]

    @Test func answersEqualADirectFilterAtEveryBlockSize() async throws {
        for blockRows in [3, 64] {
            let f = try await PlannerFixture.make(blockRows: blockRows)
            for (predicate, reference) in Self.cases {
                let (ids, profile) = try await f.ids("logs | where \(predicate) | project id")
                #expect(ids.sorted() == f.rows.filter(reference).map(\.id), "block_rows=\(blockRows): \(predicate)")
                #expect(profile.blocksAfterIndex <= profile.blocksTotal)
            }
        }
    }

    /// A leading top-N reads its key column first and the other columns only of rows that can
    /// still enter the N best: the same rows as ranking every row, fewer rows decoded whole.
    @Test func topNReadsOtherColumnsOnlyForContenders() async throws {
        for blockRows in [3, 64] {
            let f = try await PlannerFixture.make(blockRows: blockRows)
            for (n, descending) in [(1, true), (7, true), (7, false), (40, true), (2000, false)] {
                let (ids, _) = try await f.ids("logs | top \(n) by latency \(descending ? "desc" : "asc") | project id, latency")
                let ranked = f.rows.sorted { descending ? $0.latency > $1.latency : $0.latency < $1.latency }
                // Ties may come in any order: compare the keys, and that every id has its key.
                let latency = Dictionary(uniqueKeysWithValues: f.rows.map { ($0.id, $0.latency) })
                #expect(ids.map { latency[$0]! } == ranked.prefix(n).map(\.latency), "top \(n), block_rows=\(blockRows)")
                #expect(Set(ids).count == min(n, f.rows.count))
            }
            let (newest, _) = try await f.ids("logs | top 5 by ts desc | project id")
            #expect(newest == f.rows.sorted { $0.ts > $1.ts }.prefix(5).map(\.id))
        }
    }

    @Test func aWarmNodeFetchesFootersAndBloomFiltersOnce() async throws {
        let f = try await PlannerFixture.make(blockRows: 8)
        let plan = try KQLFrontend().parse("logs | where user == \"u7\" | project id")
        let cold = try await f.service.explain(plan, language: "kql", analyze: true, budget: QueryBudget(), nowNanos: 0)
        let warm = try await f.service.explain(plan, language: "kql", analyze: true, budget: QueryBudget(), nowNanos: 0)
        #expect(cold.profile.footerBytesRead > 0)
        #expect(warm.profile.footerBytesRead == 0)
        #expect(warm.profile.blocksAfterBloom == cold.profile.blocksAfterBloom)
        #expect(warm.profile.blocksAfterBloom < warm.profile.blocksAfterStats)
        #expect(warm.profile.rowsMatched == f.rows.filter { $0.user == "u7" }.count)
    }

    @Test func levelsPrune() async throws {
        let f = try await PlannerFixture.make(blockRows: 8)
        // The needle term is in one row: the inverted index leaves one block, and one row decoded.
        let (ids, needle) = try await f.ids("logs | where msg has \"needleterm\" | project id")
        #expect(ids == [333])
        // Extents are the ingest chunks (240 rows) cut at 3-hour windows; blocks hold 8 rows.
        let groups = Dictionary(grouping: f.rows) { "\($0.id / 240)-\($0.ts / 10_800)" }
        #expect(needle.extentsTotal == groups.count)
        #expect(needle.blocksTotal == groups.values.reduce(0) { $0 + ($1.count + 7) / 8 })
        #expect(needle.blocksAfterIndex == 1)
        #expect(needle.rowsDecoded == 1)
        // A time slice: the catalog keeps one extent of four.
        let (_, slice) = try await f.ids("logs | where ts between (datetime(2023-11-15T04:00:00Z) .. datetime(2023-11-15T04:30:00Z)) | project id")
        let overlapping = groups.values.filter { g in g.contains { $0.ts >= 1_700_020_800 - 10_800 } && g.contains { $0.ts <= 1_700_022_600 + 10_800 } }
            .filter { g in (g.map(\.ts).min() ?? 0) <= 1_700_022_600 && (g.map(\.ts).max() ?? 0) >= 1_700_020_800 }
        #expect(slice.extentsAfterCatalog == overlapping.count)
        #expect(slice.extentsAfterCatalog < slice.extentsTotal)
        #expect(slice.blocksAfterStats < slice.blocksTotal)
        // An id no block holds: block statistics drop everything.
        let (_, none) = try await f.ids("logs | where id == 100000 | project id")
        #expect(none.blocksAfterStats == 0 || none.extentsAfterCatalog == 0)
        #expect(none.rowsDecoded == 0)
    }

    @Test func timeOrderedTopNAndTakeStopEarly() async throws {
        let f = try await PlannerFixture.make(blockRows: 16)
        let (ids, profile) = try await f.ids("logs | top 5 by ts desc | project id")
        #expect(ids == [719, 718, 717, 716, 715])
        #expect(profile.extentsSkippedByOrder > 0, "the older extents are never read")
        // One scan task: the stop is then a property, not a race. With two, a slow first unit lets
        // later ones finish first, and their decoded rows count (CI saw 720 of 720 once).
        let (taken, takeProfile) = try await f.ids("logs | take 10 | project id", budget: QueryBudget(parallelism: 1))
        #expect(taken.count == 10)
        #expect(takeProfile.stoppedEarly)
        #expect(takeProfile.rowsDecoded < 720)
    }

    @Test func budgetsAndUnknownTablesAreClearErrors() async throws {
        let f = try await PlannerFixture.make(blockRows: 16)
        let plan = try KQLFrontend().parse("logs | summarize count() by msg")
        do {
            _ = try await f.run(plan, budget: QueryBudget(maxBytesRead: 100))
            Issue.record("the byte budget did not stop the query")
        } catch {
            guard case .resourcesExhausted(let resource, 100, _) = error else { Issue.record("wrong error: \(error)"); return }
            #expect(resource == "bytes read")
        }
        do {
            _ = try await f.run(plan, budget: QueryBudget(timeoutSeconds: 1e-9))
            Issue.record("the timeout did not stop the query")
        } catch {
            #expect(error == .timeout(seconds: 1e-9))
        }
        // Cancelling the query's task stops it before its next block read.
        let task = Task { try await f.run(plan) }
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("a cancelled query ran to the end")
        } catch {
            #expect(error as? QueryError == .cancelled, "cancellation surfaced as \(error)")
        }
        do {
            _ = try await f.run(try KQLFrontend().parse("nosuch | count"))
            Issue.record("an unknown table answered")
        } catch {
            #expect(error == .unknownTable("nosuch"))
        }
    }
}

