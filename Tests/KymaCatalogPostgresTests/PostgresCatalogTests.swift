// The PostgreSQL catalog against a real server: migrations, tables, atomic extent commits,
// idempotent batches, compaction swaps, catalog pruning (checked against a brute-force
// evaluation), index use (EXPLAIN), nodes, and concurrent work-unit claims.

import Testing
import KymaCatalog
import KymaCatalogPostgres
import KymaCore
import KymaTestSupport

func extent(_ name: String, time: ClosedRange<Int64>, stats: [String: ColumnStatistics] = [:], paths: [String] = []) -> ExtentRecord {
    ExtentRecord(formatName: "test", formatVersion: 1, objectKey: "t/\(name)-\(ExtentID.random())", byteSize: 100, rowCount: 10,
                 timeRange: TimeRange(lowerNanos: time.lowerBound, upperNanos: time.upperBound), columnStatistics: stats, presentPaths: paths)
}

extension PostgresCatalog {
    /// Registers the extents' keys (as a writer does before uploading), then commits them.
    func registerAndCommit(table: String, extents: [ExtentRecord], batch: BatchPart? = nil) async throws(CatalogError) -> CommitOutcome {
        try await registerUploads(table: table, objectKeys: extents.map(\.objectKey))
        return try await commitExtents(table: table, extents: extents, batch: batch)
    }
}

@Suite("PostgresCatalog")
struct PostgresCatalogTests {
    @Test func migrationsApplyOnceAndANewerSchemaIsRefused() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let catalog = try await PostgresCatalog(url: url)
        let known = try PostgresCatalog.bundledMigrations().count
        #expect(try await catalog.schemaVersion() == known)
        #expect(try await catalog.migrate().isEmpty, "a second migrate applies nothing")
        _ = try await catalog.executeForTesting("INSERT INTO kyma_migrations (version, name) VALUES (\(known + 1), 'from_the_future')")
        await #expect(throws: CatalogError.schemaTooNew(found: known + 1, known: known)) {
            _ = try await PostgresCatalog(url: url)
        }
    }

    @Test func unreachableCatalogNamesTheURLWithoutPassword() async {
        do {
            _ = try await PostgresCatalog(url: "postgres://kyma:secret@127.0.0.1:9/kyma?connect_timeout=2")
            Issue.record("connected to a closed port")
        } catch {
            guard case .cannotConnect(let url, _) = error else { Issue.record("got \(error)"); return }
            #expect(url == "postgres://kyma:REDACTED@127.0.0.1:9/kyma?connect_timeout=2")
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func tablesAreUniqueByName() async throws {
        let catalog = try await CatalogTestDatabase.make()
        let schema = try Schema([Field(name: "_time", type: .timestamp), Field(name: "msg", type: .string)])
        let created = try await catalog.createTable(TableDefinition(name: "logs", schema: schema, formatName: "tlm", options: ["block_rows": "1024"]))
        #expect(created.name == "logs")
        await #expect(throws: CatalogError.self) { _ = try await catalog.createTable(TableDefinition(name: "logs", formatName: "tlm")) }
        let found = try #require(try await catalog.table(named: "logs"))
        #expect(found.definition.schema == schema)
        #expect(found.definition.options == ["block_rows": "1024"])
        #expect(try await catalog.table(named: "nope") == nil)
        let altered = try await catalog.setTableOptions(named: "logs", options: ["codec": "lz4"])
        #expect(altered.definition.options == ["codec": "lz4"] && altered.id == created.id)
        #expect(try await catalog.table(named: "logs")?.definition.options == ["codec": "lz4"])
        await #expect(throws: CatalogError.tableNotFound("nope")) { _ = try await catalog.setTableOptions(named: "nope", options: [:]) }
        try await catalog.dropTable(named: "logs")
        await #expect(throws: CatalogError.tableNotFound("logs")) { try await catalog.dropTable(named: "logs") }
    }

    @Test func extentCommitIsAllOrNothing() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let first = extent("a", time: 0...10)
        #expect(try await catalog.registerAndCommit(table: "t", extents: [first]) == .committed)
        // The second batch reuses the first extent's object key in its last extent: it must fail
        // as a whole, leaving its first extent invisible.
        var clash = extent("c", time: 0...10)
        clash.objectKey = first.objectKey
        await #expect(throws: CatalogError.self) {
            _ = try await catalog.registerAndCommit(table: "t", extents: [extent("b", time: 0...10), clash])
        }
        #expect(try await catalog.extents(table: "t", matching: .all).map(\.id) == [first.id])
        await #expect(throws: CatalogError.tableNotFound("missing")) {
            _ = try await catalog.registerAndCommit(table: "missing", extents: [extent("x", time: 0...1)])
        }
    }

    @Test func batchPartsMakeRetriesNoOps() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let digest = SHA256.hexDigest(Array("input".utf8))
        #expect(try await catalog.beginBatch(table: "t", batchID: "client-42", inputDigests: [digest]).committedLines.isEmpty)
        let part = BatchPart(batchID: "client-42", inputDigest: digest, lines: 1...100)
        let batch = [extent("a", time: 0...10), extent("b", time: 5...20)]
        #expect(try await catalog.registerAndCommit(table: "t", extents: batch, batch: part) == .committed)
        // A retry with new extent ids (a re-upload after a lost acknowledgement) changes nothing.
        let retry = [extent("a2", time: 0...10), extent("b2", time: 5...20)]
        #expect(try await catalog.registerAndCommit(table: "t", extents: retry, batch: part) == .alreadyCommitted)
        // The same commit again (its answer was lost on the wire) is recognised as committed.
        #expect(try await catalog.commitExtents(table: "t", extents: batch, batch: part) == .committed)
        #expect(try await catalog.extents(table: "t", matching: .all).count == 2)
        #expect(try await catalog.beginBatch(table: "t", batchID: "client-42", inputDigests: [digest]).committedLines == [digest: [1...100]])
        // Other inputs under the same id are refused.
        await #expect(throws: CatalogError.self) {
            _ = try await catalog.beginBatch(table: "t", batchID: "client-42", inputDigests: [SHA256.hexDigest([1])])
        }
        // Concurrent retries of a new part: exactly one commits.
        let second = BatchPart(batchID: "client-42", inputDigest: digest, lines: 101...200)
        let outcomes = try await withThrowingTaskGroup(of: CommitOutcome.self) { group in
            for i in 0..<6 {
                group.addTask { try await catalog.registerAndCommit(table: "t", extents: [extent("r\(i)", time: 0...1)], batch: second) }
            }
            return try await group.reduce(into: [CommitOutcome]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .committed }.count == 1)
        #expect(try await catalog.extents(table: "t", matching: .all).count == 3)
        // A part of lines 150-250 straddles a committed part: refused, nothing written.
        await #expect(throws: CatalogError.self) {
            _ = try await catalog.registerAndCommit(table: "t", extents: [extent("x", time: 0...1)],
                                                    batch: BatchPart(batchID: "client-42", inputDigest: digest, lines: 150...250))
        }
        #expect(try await catalog.extents(table: "t", matching: .all).count == 3)
    }

    @Test func aCommitOfAnUploadTheCollectorTookFails() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let late = extent("late", time: 0...1), live = extent("live", time: 0...1), committed = extent("done", time: 0...1)
        try await catalog.registerUploads(table: "t", objectKeys: [late.objectKey, live.objectKey, committed.objectKey])
        #expect(try await catalog.commitExtents(table: "t", extents: [committed], batch: nil) == .committed)
        #expect(try await catalog.knownObjectKeys([late.objectKey, committed.objectKey, "t/unknown"]) == [late.objectKey, committed.objectKey])
        _ = try await catalog.executeForTesting("UPDATE pending_uploads SET registered_at = now() - interval '2 hours' WHERE object_key = '\(late.objectKey)'")
        #expect(try await catalog.takeStaleUploads(olderThanSeconds: 3600) == [late.objectKey])
        await #expect(throws: CatalogError.uploadCollected(objectKey: late.objectKey)) {
            _ = try await catalog.commitExtents(table: "t", extents: [late], batch: nil)
        }
        #expect(try await catalog.commitExtents(table: "t", extents: [live], batch: nil) == .committed)
        #expect(Set(try await catalog.extents(table: "t", matching: .all).map(\.id)) == [committed.id, live.id])
        #expect(try await catalog.knownObjectKeys([late.objectKey]).isEmpty)
    }

    /// Regression (issue 23): a string over ~1,336 bytes as an extent's min or max failed the
    /// commit with PostgreSQL's btree row-size error; a NUL failed it too. Statistics are now
    /// bounded, and pruning with the bounds still finds every extent that holds a match.
    @Test func longAndNULStatisticsAreBoundedAndPruneCorrectly() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let long = String(repeating: "m", count: 50_000)
        let records = [
            extent("long", time: 0...1, stats: ["s": ColumnStatistics(min: .string("a" + long), max: .string("z" + long), nullCount: 0)], paths: ["s"]),
            extent("nul", time: 0...1, stats: ["s": ColumnStatistics(min: .string("k\u{0}x"), max: .string("k\u{0}y"), nullCount: 0)], paths: ["s"]),
            extent("lead", time: 0...1, stats: ["s": ColumnStatistics(min: .string("\u{0}a"), max: .string("\u{0}b"), nullCount: 0)], paths: ["s"]),
        ]
        #expect(try await catalog.registerAndCommit(table: "t", extents: records) == .committed)
        func hits(_ value: String) async throws -> Set<String> {
            let found = try await catalog.extents(table: "t", matching: ExtentFilter(
                columnConditions: [ColumnRangeCondition(column: "s", lower: .string(value), upper: .string(value))]))
            return Set(found.map { String($0.objectKey.split(separator: "/")[1].split(separator: "-")[0]) })
        }
        // Each extent whose true range holds the value is found ("lead" has no bound: always kept).
        #expect(try await hits("a" + long + "x") == ["long", "lead"])
        #expect(try await hits("q") == ["long", "lead"])
        #expect(try await hits("k\u{0}xx") == ["long", "nul", "lead"])
        #expect(try await hits("zz") == ["lead"])
        let stored = try #require(try await catalog.extents(table: "t", matching: .all).first { $0.objectKey.contains("long-") })
        #expect(stored.columnStatistics["s"]?.max.map { if case .string(let v) = $0 { v.utf8.count } else { 0 } } ?? 0 <= 260)
    }

    @Test func textParametersWithNULAndOverlongKeysGetTypedErrors() async throws {
        let catalog = try await CatalogTestDatabase.make()
        await #expect(throws: CatalogError.self) { _ = try await catalog.table(named: "a\u{0}b") }
        do {
            _ = try await catalog.table(named: "a\u{0}b")
        } catch {
            guard case .invalidArgument(let why) = error else { Issue.record("got \(error)"); return }
            #expect(why.contains("NUL"))
        }
        await #expect(throws: CatalogError.self) {
            _ = try await catalog.enqueueWork(kind: "k", payload: "{}", deduplicationKey: String(repeating: "k", count: 3000))
        }
        await #expect(throws: CatalogError.self) { _ = try await catalog.createTable(TableDefinition(name: String(repeating: "n", count: 300), formatName: "tlm")) }
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        await #expect(throws: CatalogError.self) {
            _ = try await catalog.beginBatch(table: "t", batchID: String(repeating: "b", count: 5000), inputDigests: ["d"])
        }
    }

    @Test func compactionSwapIsAtomicAndRacesConflict() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let small = [extent("s1", time: 0...10), extent("s2", time: 11...20), extent("s3", time: 21...30)]
        _ = try await catalog.registerAndCommit(table: "t", extents: small)
        let merged = extent("m", time: 0...30)
        try await catalog.registerUploads(table: "t", objectKeys: [merged.objectKey])
        try await catalog.replaceExtents(table: "t", retiring: small.map(\.id), adding: [merged], graceSeconds: 3600)
        #expect(try await catalog.extents(table: "t", matching: .all).map(\.id) == [merged.id])
        // A second compaction of the same inputs lost the race.
        await #expect(throws: CatalogError.self) {
            try await catalog.replaceExtents(table: "t", retiring: small.map(\.id), adding: [extent("m2", time: 0...30)], graceSeconds: 0)
        }
        #expect(try await catalog.extents(table: "t", matching: .all).map(\.id) == [merged.id])
        #expect(try await catalog.retiredExtentsDue(table: nil).isEmpty, "the grace period holds")
        _ = try await catalog.executeForTesting("UPDATE extents SET delete_after = now() - interval '1 second' WHERE state = 'retired'")
        let retired = try await catalog.retiredExtentsDue(table: "t")
        #expect(Set(retired.map(\.id)) == Set(small.map(\.id)))
        try await catalog.purgeRetiredExtents(retired.map(\.id))
        #expect(try await catalog.retiredExtentsDue(table: nil).isEmpty)
    }

    @Test func extentRecordsRoundTrip() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        let record = extent("r", time: -5...Int64.max - 1, stats: [
            "big": ColumnStatistics(min: .int64(Int64.min), max: .int64(Int64.max), nullCount: 3),
            "f": ColumnStatistics(min: .float64(-1.5), max: .float64(2.25e10), nullCount: 0),
            "s": ColumnStatistics(min: .string("a\"b,c"), max: .string("zé{}"), nullCount: 1),
            "n": ColumnStatistics(min: nil, max: nil, nullCount: 10),
        ], paths: ["http.status", "weird \"path\",x", "a{b}"])
        _ = try await catalog.registerAndCommit(table: "t", extents: [record])
        var back = try #require(try await catalog.extents(table: "t", matching: .all).first)
        #expect(back.createdAtMillis != nil)
        back.createdAtMillis = nil
        #expect(back == record)
    }

    @Test func pruningMatchesABruteForceEvaluation() async throws {
        let catalog = try await CatalogTestDatabase.make()
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        var generator = SystemRandomNumberGenerator()
        var records: [ExtentRecord] = []
        let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
        for i in 0..<120 {
            let start = Int64.random(in: 0...1000, using: &generator)
            var stats: [String: ColumnStatistics] = [:]
            if Bool.random(using: &generator) {
                let a = Int64.random(in: 100...599, using: &generator), b = Int64.random(in: 100...599, using: &generator)
                stats["status"] = ColumnStatistics(min: .int64(min(a, b)), max: .int64(max(a, b)), nullCount: 0)
            } else if Int.random(in: 0..<4, using: &generator) == 0 {
                stats["status"] = ColumnStatistics(min: .string("200"), max: .string("ok"), nullCount: 0)  // mixed type: text here
            }
            let w1 = words.randomElement(using: &generator)!, w2 = words.randomElement(using: &generator)!
            stats["service"] = ColumnStatistics(min: .string(min(w1, w2)), max: .string(max(w1, w2)), nullCount: 0)
            let paths = ["status", "service", "http.method", "trace.id"].filter { _ in Bool.random(using: &generator) }
            records.append(extent("e\(i)", time: start...(start + Int64.random(in: 0...200, using: &generator)), stats: stats, paths: paths))
        }
        _ = try await catalog.registerAndCommit(table: "t", extents: records)

        func bruteForce(_ filter: ExtentFilter) -> Set<ExtentID> {
            Set(records.filter { record in
                if let range = filter.timeRange, !record.timeRange.overlaps(range) { return false }
                if !Set(filter.requiredPaths).isSubset(of: Set(record.presentPaths)) { return false }
                for condition in filter.columnConditions {
                    guard let stats = record.columnStatistics[condition.column], let min = stats.min, let max = stats.max else { return false }
                    switch (min, max, condition.lower ?? condition.upper) {
                    case (.int64(let lo), .int64(let hi), .some(.int64)):
                        if case .int64(let l)? = condition.lower, hi < l { return false }
                        if case .int64(let u)? = condition.upper, lo > u { return false }
                    case (.string(let lo), .string(let hi), .some(.string)):
                        if case .string(let l)? = condition.lower, hi.utf8.lexicographicallyPrecedes(l.utf8) { return false }
                        if case .string(let u)? = condition.upper, u.utf8.lexicographicallyPrecedes(lo.utf8) { return false }
                    default:
                        continue  // stats of another type cannot prove a miss
                    }
                }
                return true
            }.map(\.id))
        }

        for _ in 0..<60 {
            var filter = ExtentFilter()
            if Bool.random(using: &generator) {
                let lo = Int64.random(in: 0...1200, using: &generator)
                filter.timeRange = TimeRange(lowerNanos: lo, upperNanos: lo + Int64.random(in: 0...100, using: &generator))
            }
            if Bool.random(using: &generator) {
                let v = Int64.random(in: 100...599, using: &generator)
                filter.columnConditions.append(ColumnRangeCondition(column: "status", lower: .int64(v), upper: Bool.random(using: &generator) ? .int64(v) : nil))
            }
            if Bool.random(using: &generator) {
                let w = words.randomElement(using: &generator)!
                filter.columnConditions.append(ColumnRangeCondition(column: "service", lower: .string(w), upper: .string(w)))
            }
            if Bool.random(using: &generator) { filter.requiredPaths = ["trace.id"] }
            let got = Set(try await catalog.extents(table: "t", matching: filter).map(\.id))
            #expect(got == bruteForce(filter), "filter \(filter)")
        }
    }

    @Test func pruningQueriesUseTheIndexes() async throws {
        let catalog = try await CatalogTestDatabase.make()
        let table = try await catalog.createTable(TableDefinition(name: "big", formatName: "test"))
        // 20,000 extents of one-minute windows, each with a status range and a path set.
        _ = try await catalog.executeForTesting("""
            INSERT INTO extents (id, table_id, format_name, format_version, object_key, byte_size, row_count, min_time_ns, max_time_ns, present_paths)
            SELECT md5(g::text)::uuid, \(table.id), 'test', 1, 'k/' || g, 1000, 100, g * 60000000000, g * 60000000000 + 59999999999,
                   CASE WHEN g % 100 = 0 THEN ARRAY['status', 'rare.path'] ELSE ARRAY['status'] END
            FROM generate_series(1, 20000) g;
            INSERT INTO extent_column_stats (extent_id, table_id, column_name, min_num, max_num, null_count)
            SELECT md5(g::text)::uuid, \(table.id), 'status', 200 + (g % 300), 200 + (g % 300) + 5, 0 FROM generate_series(1, 20000) g;
            ANALYZE extents; ANALYZE extent_column_stats;
            """)
        let time = try await catalog.explainExtentsQuery(table: "big", matching: ExtentFilter(
            timeRange: TimeRange(lowerNanos: 5000 * 60_000_000_000, upperNanos: 5010 * 60_000_000_000)))
        #expect(time.contains("extents_active_time"), "\(time)")
        #expect(!time.contains("Seq Scan on extents"), "\(time)")
        let paths = try await catalog.explainExtentsQuery(table: "big", matching: ExtentFilter(requiredPaths: ["rare.path"]))
        #expect(paths.contains("extents_present_paths"), "\(paths)")
        let column = try await catalog.explainExtentsQuery(table: "big", matching: ExtentFilter(
            columnConditions: [ColumnRangeCondition(column: "status", lower: .int64(1000), upper: .int64(1000))]))
        #expect(column.contains("extent_column_stats_num") || column.contains("extent_column_stats_pkey"), "\(column)")
        #expect(!column.contains("Seq Scan on extent_column_stats"), "\(column)")
        // And the answers are right.
        #expect(try await catalog.extents(table: "big", matching: ExtentFilter(requiredPaths: ["rare.path"])).count == 200)
        #expect(try await catalog.extents(table: "big", matching: ExtentFilter(
            timeRange: TimeRange(lowerNanos: 5000 * 60_000_000_000, upperNanos: 5000 * 60_000_000_000))).count == 1)
    }
}

@Suite("PostgresCatalog connections")
struct PostgresCatalogConnectionTests {
    @Test func reconnectsAfterTheServerDropsItsConnections() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let catalog = try await PostgresCatalog(url: url)
        _ = try await catalog.createTable(TableDefinition(name: "t", formatName: "test"))
        #expect(try await catalog.tables().count == 1)  // leaves a pooled connection behind
        // Another session terminates every backend of this database, as a server restart or an
        // idle-connection killer would.
        let admin = try await PostgresCatalog(url: try TestServices.require("KYMA_PG_ADMIN_URL"), migrate: false)
        let database = String(url[url.index(after: url.lastIndex(of: "/")!)...])
        let killed = try await admin.executeForTesting(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(database)'")
        #expect(killed.first?.first == "1")
        // Reads and idempotent writes go through on a new connection.
        #expect(try await catalog.tables().map(\.name) == ["t"])
        try await catalog.registerNode(NodeIdentity(id: "n", role: .query, address: "a"))
        // A non-idempotent call on a connection killed under it reports that its outcome is unknown.
        _ = try await admin.executeForTesting("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '\(database)'")
        do {
            _ = try await catalog.createTable(TableDefinition(name: "u", formatName: "test"))
            // Also acceptable: the pool noticed the broken connection before sending.
        } catch {
            guard case .connectionLost = error else { Issue.record("expected connectionLost, got \(error)"); return }
        }
        _ = try await catalog.table(named: "u")  // and the catalog is usable afterwards
    }
}
