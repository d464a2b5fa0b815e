// Work units claimed concurrently from several connections (no unit twice), leases that expire,
// failure and retry accounting; nodes and their liveness.

import Testing
import KymaCatalog
import KymaCatalogPostgres
import KymaTestSupport

@Suite("Work units and nodes")
struct WorkUnitAndNodeTests {
    @Test func concurrentClaimersNeverShareAUnit() async throws {
        let url = try await CatalogTestDatabase.makeURL()
        let setup = try await PostgresCatalog(url: url)
        let unitCount = 400
        for i in 0..<unitCount { _ = try await setup.enqueueWork(kind: "compact", payload: "{\"n\": \(i)}", deduplicationKey: nil) }
        _ = try await setup.enqueueWork(kind: "other", payload: "{}", deduplicationKey: nil)

        // Six workers, each with its own catalog (its own connections), as separate processes would.
        let claims = try await withThrowingTaskGroup(of: [WorkUnitID].self) { group in
            for worker in 0..<6 {
                group.addTask {
                    let catalog = try await PostgresCatalog(url: url, maxIdleConnections: 1, migrate: false)
                    var mine: [WorkUnitID] = []
                    while let unit = try await catalog.claimWork(kinds: ["compact"], owner: "w\(worker)", leaseSeconds: 60) {
                        #expect(unit.leaseOwner == "w\(worker)")
                        mine.append(unit.id)
                        try await catalog.completeWork(unit.id, owner: "w\(worker)", result: "{\"ok\": true}")
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [[WorkUnitID]]()) { $0.append($1) }
        }
        let all = claims.flatMap { $0 }
        #expect(all.count == unitCount, "every unit claimed")
        #expect(Set(all).count == unitCount, "no unit claimed twice")
        #expect(claims.filter { !$0.isEmpty }.count >= 2, "the work was shared")
        let rows = try await setup.executeForTesting("SELECT state, count(*) FROM work_units GROUP BY state ORDER BY state")
        #expect(rows == [["done", "\(unitCount)"], ["pending", "1"]])
    }

    @Test func expiredLeasesAreClaimedAgainAndTheOldOwnerLosesThem() async throws {
        let catalog = try await CatalogTestDatabase.make()
        let id = try await catalog.enqueueWork(kind: "k", payload: "{}", deduplicationKey: "only-once")
        #expect(try await catalog.enqueueWork(kind: "k", payload: "{}", deduplicationKey: "only-once") == id, "deduplicated")
        let first = try #require(try await catalog.claimWork(kinds: ["k"], owner: "crashed", leaseSeconds: 60))
        #expect(try await catalog.claimWork(kinds: ["k"], owner: "other", leaseSeconds: 60) == nil, "leased units are not claimable")
        // The owner crashes and its lease runs out: moved into the past rather than slept for,
        // so the test does not depend on how loaded the machine is.
        _ = try await catalog.executeForTesting("UPDATE work_units SET lease_expires_at = now() - interval '1 second' WHERE id = \(first.id)")
        let second = try #require(try await catalog.claimWork(kinds: ["k"], owner: "other", leaseSeconds: 60))
        #expect(second.id == first.id)
        #expect(second.attempts == 2)
        await #expect(throws: CatalogError.self) { try await catalog.completeWork(id, owner: "crashed", result: "{}") }
        try await catalog.renewLease(id, owner: "other", leaseSeconds: 60)
        try await catalog.completeWork(id, owner: "other", result: "{\"merged\": 3}")
        let done = try #require(try await catalog.workUnit(id))
        #expect(done.state == .done)
        #expect(done.result == "{\"merged\": 3}")
    }

    @Test func failedUnitsRetryWithBackoffUntilTheirAttemptsRunOut() async throws {
        let catalog = try await CatalogTestDatabase.make()
        let id = try await catalog.enqueueWork(kind: "k", payload: "{}", deduplicationKey: nil)
        for attempt in 1...5 {
            let unit = try #require(try await catalog.claimWork(kinds: ["k"], owner: "w", leaseSeconds: 60))
            #expect(unit.attempts == attempt)
            try await catalog.failWork(id, owner: "w", error: "boom \(attempt)")
            if attempt < 5 {
                // The next attempt waits 2^attempts seconds after the failure (read from the
                // row, not from a clock); a unit whose wait has not passed is not claimable (the
                // wait moved an hour ahead, so a slow machine cannot outlast it), then it is
                // moved into the past rather than slept through.
                let wait = try await catalog.executeForTesting("SELECT round(extract(epoch from not_before - updated_at)) FROM work_units WHERE id = \(id)")
                #expect(wait == [["\(1 << attempt)"]])
                _ = try await catalog.executeForTesting("UPDATE work_units SET not_before = now() + interval '1 hour' WHERE id = \(id)")
                #expect(try await catalog.claimWork(kinds: ["k"], owner: "w", leaseSeconds: 60) == nil, "backing off")
                _ = try await catalog.executeForTesting("UPDATE work_units SET not_before = now() - interval '1 second' WHERE id = \(id)")
            }
        }
        #expect(try await catalog.claimWork(kinds: ["k"], owner: "w", leaseSeconds: 60) == nil)
        let failed = try #require(try await catalog.workUnit(id))
        #expect(failed.state == .failed)
        #expect(failed.lastError == "boom 5")
    }

    @Test func nodesNotSeenWithinTheTimeoutAreDead() async throws {
        let catalog = try await CatalogTestDatabase.make()
        try await catalog.registerNode(NodeIdentity(id: "q1", role: .query, address: "127.0.0.1:7001"))
        try await catalog.registerNode(NodeIdentity(id: "w1", role: .worker, address: "127.0.0.1:7002"))
        #expect(try await catalog.nodes(timeoutSeconds: 30).allSatisfy(\.isAlive))
        // w1 falls silent for a minute (its last heartbeat moved into the past); q1 heartbeats.
        _ = try await catalog.executeForTesting("UPDATE nodes SET last_heartbeat = now() - interval '60 seconds' WHERE id = 'w1'")
        try await catalog.heartbeat(nodeID: "q1")
        let nodes = try await catalog.nodes(timeoutSeconds: 30)
        #expect(nodes.map(\.identity.id) == ["q1", "w1"])
        #expect(nodes.map(\.isAlive) == [true, false])
        await #expect(throws: CatalogError.self) { try await catalog.heartbeat(nodeID: "never-registered") }
    }
}
