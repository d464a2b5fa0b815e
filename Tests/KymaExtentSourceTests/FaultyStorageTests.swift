// Ingest and queries over an object store that fails on purpose (5xx, timeouts, hung and slow
// calls, truncated reads, puts that fail before or after writing), behind the retrying store
// the runtime uses. Ingest must lose nothing and duplicate nothing; a query must answer exactly
// what it answers on a healthy store, or fail with the storage error kind.

import KymaCatalog
import KymaCatalogPostgres
import KymaCore
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

struct FaultyStorageFixture {
    let catalog: PostgresCatalog
    let healthy: LocalFileSystemObjectStore
    let formats = FormatRegistry([TLMFormat()])

    static func make() async throws -> FaultyStorageFixture {
        let admin = try TestServices.require("KYMA_PG_ADMIN_URL")
        let name = TestServices.uniqueName("kyma_faults")
        _ = try await PostgresCatalog(url: admin, migrate: false).executeForTesting("CREATE DATABASE \(name)")
        let catalog = try await PostgresCatalog(url: String(admin[...(admin.lastIndex(of: "/") ?? admin.startIndex)]) + name)
        return FaultyStorageFixture(catalog: catalog, healthy: try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-faults")))
    }

    func service(over store: any ObjectStore) -> QueryService {
        QueryService(frontends: FrontendRegistry([KQLFrontend()]),
                     sources: CatalogTableSources(catalog: catalog, readers: ExtentReaderProvider(store: store, formats: formats)))
    }

    /// The answer rows of `kql` as text, or the error.
    func answer(_ kql: String, over store: any ObjectStore) async -> Result<[String], QueryError> {
        do throws(QueryError) {
            guard case .rows(let result, _) = try await service(over: store).execute(QueryRequest(text: kql, language: "kql", nowNanos: 0)) else {
                return .failure(.internalError("no rows"))
            }
            return .success(result.rows.map { $0.map { JSONValue.render($0) }.joined(separator: "|") })
        } catch {
            return .failure(error)
        }
    }
}

/// Appends a line of counts for reports/reliability.md when KYMA_RELIABILITY_LOG names a file.
func reportReliability(_ line: String) {
    guard let path = TestServices.environment("KYMA_RELIABILITY_LOG") else { return }
    TestServices.append(line + "\n", to: path)
}

@Suite("Faulty object storage", .serialized)
struct FaultyStorageTests {
    static let allFaults: Set<StoreFault> = Set(StoreFault.allCases)

    /// 1,200 rows in 24 client batches through a store where 30% of calls fail in one of seven
    /// ways. A batch whose ingest fails is run again with the same id until it is acknowledged.
    /// Then, healthy: every row is there exactly once, and the garbage collector removes only
    /// what nothing references.
    @Test func ingestThroughFaultsLosesAndDuplicatesNothing() async throws {
        let f = try await FaultyStorageFixture.make()
        let faulty = FaultInjectingObjectStore(base: f.healthy, faults: Self.allFaults, rate: 0.3, seed: 2323, slowMillis: 5)
        let store = RetryingObjectStore(base: faulty, policy: RetryPolicy(maxAttempts: 4, baseDelayMillis: 1, maxDelayMillis: 8),
                                        attemptTimeoutMillis: 500)
        faulty.schedule([.serviceError, .timeout, .hang, .slow, .failedPut, .failedPutAfterWrite])
        let ingestor = LogIngestor(catalog: f.catalog, store: store, formats: f.formats)
        var failedAttempts = 0
        for batch in 0..<24 {
            let lines = (0..<50).map { i in "{\"id\":\(batch * 50 + i),\"batch\":\(batch),\"msg\":\"row \(batch * 50 + i) of batch \(batch)\"}" }
            let input = Array(lines.joined(separator: "\n").utf8)
            var acknowledged = false
            for _ in 0..<20 where !acknowledged {
                do {
                    _ = try await ingestor.ingest(input, into: "logs", batchID: "batch-\(batch)", options: IngestOptions(), nowNanos: 0)
                    acknowledged = true
                } catch {
                    failedAttempts += 1  // a store error the retries did not absorb: the client runs the batch again
                }
            }
            #expect(acknowledged, "batch \(batch) was never acknowledged")
        }
        for fault in StoreFault.allCases where fault != .truncatedRead {
            #expect(faulty.injected[fault, default: 0] > 0, "\(fault) was injected")
        }
        faulty.setEnabled(false)
        let collector = GarbageCollector(catalog: f.catalog, store: f.healthy, uploadGraceSeconds: 0)
        let collected = try await collector.collectAbandoned(nowMillis: Int64.max / 2)
        let answer = await f.answer("logs | summarize rows = count(), ids = dcount(id), lo = min(id), hi = max(id)", over: f.healthy)
        #expect(answer == .success(["1200|1200|0|1199"]), "every row once")
        let committed = try await f.catalog.extents(table: "logs", matching: .all).map(\.objectKey)
        let stored = try await f.healthy.listAll(prefix: "tables/").map(\.key.rawValue)
        #expect(Set(stored) == Set(committed), "after collection the store holds exactly the committed objects")
        reportReliability("fault-ingest: calls=\(faulty.calls) faults=\(faulty.totalInjected) \(faulty.injected.map { "\($0.key.rawValue)=\($0.value)" }.sorted().joined(separator: ",")) client-retries=\(failedAttempts) rows=1200 lost=0 duplicated=0 orphans-collected=\(collected.registered + collected.unregistered)")
    }

    /// Seven queries, each answered on the healthy store first; then 5 runs each through read
    /// faults at 30% (retried): every answer equal. Then 5 runs each at 90% with two attempts:
    /// every run equal or a storage error, never a wrong answer or another kind.
    @Test func queriesAnswerCorrectlyOrFailWithTheStorageKind() async throws {
        let f = try await FaultyStorageFixture.make()
        _ = try await f.catalog.createTable(TableDefinition(name: "logs", formatName: "tlm", options: ["block_rows": "16"], timeColumn: "ts"))
        var options = IngestOptions()
        options.timeField = "ts"
        options.timeFormat = .epochSeconds
        let ingestor = LogIngestor(catalog: f.catalog, store: f.healthy, formats: f.formats)
        for part in 0..<4 {
            let lines = (0..<150).map { i in
                let id = part * 150 + i
                return "{\"ts\":\(1_700_000_000 + id * 60),\"id\":\(id),\"status\":\([200, 404, 500][id % 3]),\"msg\":\"word\(id % 17) tail\"}"
            }
            _ = try await ingestor.ingest(Array(lines.joined(separator: "\n").utf8), into: "logs", options: options, nowNanos: 0)
        }
        let queries = [
            "logs | count",
            "logs | where status == 500 | summarize n = count(), s = sum(id)",
            "logs | where msg has \"word7\" | summarize count() by status | order by status asc",
            "logs | top 5 by ts desc | project id",
            "logs | where id between (100 .. 140) | project id | order by id asc",
            "logs | summarize dcount(msg), min(ts), max(ts)",
            "logs | where msg contains \"d1\" | count",
        ]
        var expected: [String: [String]] = [:]
        for query in queries {
            guard case .success(let rows) = await f.answer(query, over: f.healthy) else { Issue.record("healthy store failed \(query)"); return }
            expected[query] = rows
        }
        let readFaults: Set<StoreFault> = [.serviceError, .timeout, .hang, .slow, .truncatedRead]
        // Hung calls come from the schedule only: the attempt timeout can then be long enough
        // that a healthy call slowed by a loaded machine is never taken for a hung one.
        let mild = FaultInjectingObjectStore(base: f.healthy, faults: readFaults.subtracting([.hang]), rate: 0.3, seed: 77, slowMillis: 5)
        mild.schedule([.serviceError, .timeout, .hang, .slow, .truncatedRead, .hang])
        let retried = RetryingObjectStore(base: mild, policy: RetryPolicy(maxAttempts: 10, baseDelayMillis: 1, maxDelayMillis: 8),
                                          attemptTimeoutMillis: 3000)
        for query in queries {
            for _ in 0..<5 {
                let got = await f.answer(query, over: retried)
                #expect(got == .success(expected[query] ?? []), "\(query)")
            }
        }
        let harsh = FaultInjectingObjectStore(base: f.healthy, faults: readFaults, rate: 0.9, seed: 78, slowMillis: 5)
        let barely = RetryingObjectStore(base: harsh, policy: RetryPolicy(maxAttempts: 2, baseDelayMillis: 1, maxDelayMillis: 2),
                                         attemptTimeoutMillis: 200)
        var answered = 0, failed = 0
        for query in queries {
            for _ in 0..<5 {
                switch await f.answer(query, over: barely) {
                case .success(let rows):
                    #expect(rows == expected[query], "a wrong answer under faults: \(query)")
                    answered += 1
                case .failure(let error):
                    #expect(error.kind == .storageUnavailable, "\(query): \(error)")
                    failed += 1
                }
            }
        }
        #expect(failed > 0, "at 90% with two attempts some queries must fail")
        for fault in readFaults { #expect(mild.injected[fault, default: 0] > 0, "\(fault) was injected") }
        reportReliability("fault-query: retried-runs=35 retried-faults=\(mild.totalInjected) wrong=0; harsh-runs=35 harsh-faults=\(harsh.totalInjected) answered=\(answered) storage-errors=\(failed) wrong=0 other-kinds=0")
    }
}
