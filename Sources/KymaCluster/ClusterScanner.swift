// The coordinator's side of a distributed scan: place, call, retry once, report.

import AsyncAlgorithms
import KymaExec
import KymaPlan
import KymaTableSource
import Synchronization

/// Scans units on the live nodes through their leaf services (this node's own included).
public struct ClusterScanner: UnitScanner {
    public let membership: any ClusterMembership
    public let client: any LeafClient

    public init(membership: any ClusterMembership, client: any LeafClient) {
        self.membership = membership
        self.client = client
    }

    public func scan(_ plan: PhysicalPlan, indexes: [Int], budget: QueryBudget) -> any AsyncSequence<ScanEvent, any Error> {
        // A channel, not a buffered stream: a leaf's reply waits until the executor takes the
        // one before, so a slow consumer (an HTTP client reading slowly) holds the leaves back
        // through gRPC's flow control instead of piling their rows up here.
        let channel = AsyncThrowingChannel<ScanEvent, any Error>()
        let task = Task {
            do {
                try await run(plan, indexes: indexes, budget: budget, events: channel)
                channel.finish()
            } catch {
                channel.fail(Task.isCancelled ? QueryError.cancelled : error)
            }
        }
        return ScanEvents(channel: channel, work: WorkHandle(task))
    }

    typealias Events = AsyncThrowingChannel<ScanEvent, any Error>

    /// One scan: its units, where they were placed, and the calls made for them.
    struct Call: Sendable {
        let plan: PhysicalPlan
        let indexes: [Int]
        let placement: Placement
        let budget: QueryBudget
        let deadline: ContinuousClock.Instant?
        let queryID: String
        let events: Events
    }

    func run(_ plan: PhysicalPlan, indexes: [Int], budget: QueryBudget, events: Events) async throws {
        let nodes = try await membership.liveNodes()
        guard !nodes.isEmpty else {
            throw QueryError.nodeUnavailable(node: "any", reason: "no live query node serves the leaf API (see `kyma status`)")
        }
        let units = indexes.map { plan.units[$0] }
        let placement = Placement(units: units.map { (key: $0.objectKey, cost: Self.cost($0)) }, nodes: nodes)
        let call = Call(plan: plan, indexes: indexes, placement: placement, budget: budget,
                        deadline: budget.timeoutSeconds.map { ContinuousClock.now.advanced(by: .nanoseconds(Int64(min($0, 1e9) * 1e9))) },
                        queryID: String(UInt64.random(in: 0...UInt64.max), radix: 16), events: events)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (node, positions) in placement.assignments.sorted(by: { $0.key < $1.key }) {
                group.addTask { try await send(positions, to: node, tried: [node], call) }
            }
            try await group.waitForAll()
        }
    }

    /// Sends units (positions in `call.indexes`) to `node`; on a node failure, the units it did
    /// not answer go once more, each to the best node of its ranking not yet tried.
    func send(_ positions: [Int], to node: Int, tried: Set<Int>, _ call: Call) async throws {
        var fragment = call.plan
        fragment.units = positions.map { call.plan.units[call.indexes[$0]] }
        let received = Mutex<Set<Int>>([])
        let nodeID = call.placement.nodes[node].id
        let remaining = call.deadline.map { deadline in
            let left = (deadline - ContinuousClock.now).components
            return Double(left.seconds) + Double(left.attoseconds) * 1e-18
        }
        if let remaining, remaining <= 0 { throw QueryError.timeout(seconds: call.budget.timeoutSeconds ?? 0) }
        do {
            try await client.scan(fragment, budget: call.budget, on: call.placement.nodes[node], timeoutSeconds: remaining,
                                  queryID: call.queryID) { reply in
                let position = positions[reply.index]
                received.withLock { _ = $0.insert(position) }
                await call.events.send(.unit(index: call.indexes[position], node: nodeID, output: reply.output, bytesRead: reply.bytesRead,
                                             requests: reply.requests))
            }
        } catch {
            if Task.isCancelled { throw QueryError.cancelled }
            let failure = error as? LeafCallError ?? .unavailable(reason: "\(error)")
            guard failure.isRetryable else {
                if case .query(let queryError) = failure { throw queryError }
                throw error
            }
            let missing = received.withLock { got in positions.filter { !got.contains($0) } }
            var regrouped: [Int: [Int]] = [:]
            var stranded: [Int] = []
            for position in missing {
                // One retry per unit: a unit already retried is not sent a third time.
                if tried.count < 2, let next = call.placement.next(for: position, excluding: tried) {
                    regrouped[next, default: []].append(position)
                } else {
                    stranded.append(position)
                }
            }
            if !stranded.isEmpty {
                guard call.budget.allowPartial else { throw QueryError.nodeUnavailable(node: nodeID, reason: failure.reason) }
                for position in stranded {
                    await call.events.send(.failed(index: call.indexes[position], node: nodeID, reason: failure.reason))
                }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (next, retried) in regrouped.sorted(by: { $0.key < $1.key }) {
                    await call.events.send(.retried(node: call.placement.nodes[next].id, units: retried.count))
                    group.addTask { try await send(retried, to: next, tried: tried.union([next]), call) }
                }
                try await group.waitForAll()
            }
        }
    }

    /// A unit's cost for placement: its object's size (what reading it may cost).
    static func cost(_ unit: ScanUnit) -> Int {
        max(1, unit.byteSize)
    }
}

/// The events of one scan; dropping the iterator (the executor stopped early) cancels the work.
struct ScanEvents: AsyncSequence, Sendable {
    typealias Element = ScanEvent
    let channel: AsyncThrowingChannel<ScanEvent, any Error>
    let work: WorkHandle

    struct Iterator: AsyncIteratorProtocol {
        var inner: AsyncThrowingChannel<ScanEvent, any Error>.AsyncIterator
        let work: WorkHandle

        mutating func next() async throws -> ScanEvent? {
            try await inner.next()
        }
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(inner: channel.makeAsyncIterator(), work: work)
    }
}

/// Cancels the scan's task when the last holder lets go.
final class WorkHandle: Sendable {
    let task: Task<Void, Never>
    init(_ task: Task<Void, Never>) { self.task = task }
    deinit { task.cancel() }
}
