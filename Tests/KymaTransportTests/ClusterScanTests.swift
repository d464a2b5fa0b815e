// A query over three leaf services on loopback (real gRPC, HTTP/2 and in-process) answers as
// the executor does on its own tasks; a stopped node's units are retried on the next node;
// partial results name what they left out; a leaf's typed error arrives as the same kind.

import KymaCluster
import KymaCore
import KymaExec
import KymaKQL
import KymaPlan
import KymaQueryService
import KymaTableSource
import KymaTestSupport
import KymaTransport
import Testing

/// The nodes a test started, all alive.
struct FixedMembership: ClusterMembership {
    let nodes: [ClusterNode]
    func liveNodes() async throws(QueryError) -> [ClusterNode] { nodes }
}

@Suite("Cluster scans over gRPC")
struct ClusterScanTests {
    static let base: Int64 = 1_795_000_000_000_000_000

    /// A table of `parts` units with nulls, strings, floats and times.
    static func source(parts: Int, rows: Int, seed: UInt64) throws -> InMemoryTableSource {
        var g = SplitMix64(seed: seed)
        var batches: [[ColumnBatch]] = []
        for p in 0..<parts {
            var n = ColumnBuilder(.int64), name = ColumnBuilder(.string), ts = ColumnBuilder(.timestamp), score = ColumnBuilder(.float64)
            for i in 0..<rows {
                try n.append(g.next() % 11 == 0 ? .null : .int64(Int64(g.next() % 500)))
                try name.append(g.next() % 13 == 0 ? .null : .string(["alpha", "beta", "gamma", "delta"][Int(g.next() % 4)] + String(g.next() % 5)))
                try ts.append(.timestamp(base + Int64(p * rows + i) * 1_000_000_000))
                try score.append(.float64(Double(g.next() % 100_000) / 7))
            }
            batches.append([try ColumnBatch(rowCount: rows, columns: [("n", n.finish()), ("name", name.finish()), ("ts", ts.finish()),
                                                                      ("score", score.finish())])])
        }
        // Not "memory": the query service hands these units to the scanner.
        return try InMemoryTableSource(table: "t", timeColumn: "ts", parts: batches, format: "test")
    }

    static let queries = [
        "t | count",
        "t | summarize c = count(), s = sum(n), a = avg(score), d = dcount(name), lo = min(ts), hi = max(ts) by name",
        "t | where n > 250 and name startswith 'b' | project n, name, score",
        "t | extend k = n % 7 | summarize c = count() by k",
        "t | top 7 by score desc",
        "t | sort by ts desc | take 5",
        "t | distinct name",
        "t | where isnull(n) | summarize make_set(name)",
    ]

    /// Rows as sorted text (order checked separately where the query orders).
    static func rows(_ result: QueryResult) -> [String] {
        result.rows.map { $0.map { "\($0)" }.joined(separator: "|") }
    }

    /// Three nodes serving `source`'s units.
    static func startNodes(_ source: InMemoryTableSource) async throws -> [LeafTransport] {
        var transports: [LeafTransport] = []
        for i in 0..<3 { transports.append(try await LeafTransport.start(nodeID: "node-\(i)", bind: "127.0.0.1:0", readers: source)) }
        return transports
    }

    static func service(_ source: InMemoryTableSource, through transports: [LeafTransport], coordinator: Int = 0) -> QueryService {
        let nodes = transports.enumerated().map { ClusterNode(id: "node-\($0.offset)", address: $0.element.address) }
        return QueryService(frontends: FrontendRegistry([KQLFrontend()]), sources: FixedTableSources([source]),
                            scanner: ClusterScanner(membership: FixedMembership(nodes: nodes), client: transports[coordinator].client))
    }

    @Test func threeNodesAnswerAsOneProcess() async throws {
        let source = try Self.source(parts: 12, rows: 300, seed: 21)
        let transports = try await Self.startNodes(source)
        let local = QueryService(frontends: FrontendRegistry([KQLFrontend()]), sources: FixedTableSources([source]))
        for (i, text) in Self.queries.enumerated() {
            let plan = try KQLFrontend().parse(text)
            let expected = try await local.run(plan, nowNanos: Self.base).0
            // Each query coordinated by another node.
            let (result, profile) = try await Self.service(source, through: transports, coordinator: i % 3).run(plan, nowNanos: Self.base)
            let ordered = text.contains("top") || text.contains("sort")
            #expect(ordered ? Self.rows(result) == Self.rows(expected) : Self.rows(result).sorted() == Self.rows(expected).sorted(), "\(text)")
            #expect(profile.nodes.count == 3 || text.contains("take") || text.contains("sort"), "\(text): \(profile.nodes.map(\.node))")
            #expect(profile.nodes.reduce(0) { $0 + $1.units } <= 12)
        }
        for transport in transports { await transport.stop() }
    }

    @Test func stoppedNodeUnitsAreRetriedOnTheNext() async throws {
        let source = try Self.source(parts: 15, rows: 100, seed: 4)
        let transports = try await Self.startNodes(source)
        await transports[2].stop()
        let plan = try KQLFrontend().parse("t | summarize c = count(), s = sum(n) by name")
        let local = QueryService(frontends: FrontendRegistry([KQLFrontend()]), sources: FixedTableSources([source]))
        let expected = try await local.run(plan, nowNanos: Self.base).0
        let (result, profile) = try await Self.service(source, through: transports).run(plan, nowNanos: Self.base)
        #expect(Self.rows(result).sorted() == Self.rows(expected).sorted())
        #expect(profile.nodes.reduce(0) { $0 + $1.retriedUnits } > 0, "node-2 held units: they were retried")
        #expect(!profile.nodes.contains { $0.node == "node-2" })
        #expect(profile.failedUnits.isEmpty)
        for transport in transports.prefix(2) { await transport.stop() }
    }

    @Test func partialResultsNameWhatTheyLeftOut() async throws {
        let source = try Self.source(parts: 30, rows: 10, seed: 8)
        let transports = try await Self.startNodes(source)
        await transports[1].stop()
        await transports[2].stop()
        let plan = try KQLFrontend().parse("t | count")
        let service = Self.service(source, through: transports)
        // Without allow_partial: a typed error naming a node.
        await #expect { try await service.run(plan, nowNanos: Self.base) } throws: { error in
            guard let error = error as? QueryError, case .nodeUnavailable(let node, _) = error else { return false }
            return node == "node-1" || node == "node-2"
        }
        var budget = QueryBudget()
        budget.allowPartial = true
        let (result, profile) = try await service.run(plan, budget: budget, nowNanos: Self.base)
        guard case .int64(let counted)? = result.rows.first?.first else {
            Issue.record("no count")
            return
        }
        // Units whose ranking puts two stopped nodes first are left out; 30 units make some likely.
        #expect(!profile.failedUnits.isEmpty)
        #expect(Int(counted) + profile.failedUnits.count * 10 == 300)
        #expect(Set(profile.failedUnits.map(\.objectKey)).count == profile.failedUnits.count)
        await transports[0].stop()
    }

    @Test func leafErrorsKeepTheirKind() async throws {
        let source = try Self.source(parts: 6, rows: 400, seed: 2)
        let transports = try await Self.startNodes(source)
        // A group-by over every distinct score needs more than 64 KiB on each leaf.
        let plan = try KQLFrontend().parse("t | summarize c = count() by score, name, ts")
        let budget = QueryBudget(maxMemoryBytes: 64 << 10)
        let local = QueryService(frontends: FrontendRegistry([KQLFrontend()]), sources: FixedTableSources([source]))
        var localKind: QueryErrorKind?
        do { _ = try await local.run(plan, budget: budget, nowNanos: Self.base) } catch { localKind = error.kind }
        var clusterKind: QueryErrorKind?
        do { _ = try await Self.service(source, through: transports).run(plan, budget: budget, nowNanos: Self.base) } catch { clusterKind = error.kind }
        #expect(localKind == .budgetExceeded)
        #expect(clusterKind == localKind)
        for transport in transports { await transport.stop() }
    }

    @Test func badAddressesAreTypedErrors() async throws {
        let source = try Self.source(parts: 1, rows: 1, seed: 1)
        await #expect(throws: TransportError.self) { try await LeafTransport.start(nodeID: "x", bind: "nowhere", readers: source) }
        await #expect(throws: TransportError.self) { try await LeafTransport.start(nodeID: "x", bind: "256.1.1.1:0", readers: source) }
    }
}
