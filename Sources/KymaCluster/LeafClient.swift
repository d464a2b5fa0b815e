// KymaCluster: a query's scan spread over the live query nodes. The coordinator (any node that
// receives a query) places units on nodes (Placement), calls each node's leaf service through a
// `LeafClient`, retries a failed node's units once on the next node of their ranking, and hands
// every unit's output to the executor, which merges them as it merges local ones. Knows the
// internal API only as `LeafClient`; KymaTransport implements it over gRPC.

import KymaExec
import KymaPlan

/// Why a leaf call failed.
public enum LeafCallError: Error, Sendable {
    /// The leaf ran the fragment and it failed with this error (typed on the leaf, carried back).
    case query(QueryError)
    /// The call did not complete: the node is unreachable, went away mid-call, or the call's
    /// deadline passed.
    case unavailable(reason: String)

    /// A retry elsewhere may help: the node, not the query, failed.
    public var isRetryable: Bool {
        switch self {
        case .unavailable: true
        case .query(let error):
            switch error.kind {
            case .storageUnavailable, .catalogUnavailable, .nodeUnavailable, .internalError, .timeout, .cancelled: true
            case .badQuery, .unknownTable, .budgetExceeded, .corruptData: false
            }
        }
    }

    public var reason: String {
        switch self {
        case .query(let error): error.description
        case .unavailable(let reason): reason
        }
    }
}

/// One unit's reply from a leaf.
public struct LeafReply: Sendable {
    /// The unit's position in the plan sent.
    public var index: Int
    public var output: UnitOutput
    public var bytesRead: Int
    public var requests: Int

    public init(index: Int, output: UnitOutput, bytesRead: Int, requests: Int) {
        self.index = index
        self.output = output
        self.bytesRead = bytesRead
        self.requests = requests
    }
}

/// Calls one node's leaf service.
///
/// ## Contract
/// `scan` runs `plan` (holding only the units sent to `node`) on `node` within `timeoutSeconds`
/// and calls `reply` once per unit (its position in `plan.units`, its output, what the leaf
/// read for it), in completion order. It returns when every unit was
/// replied; otherwise it throws `LeafCallError` (some units may have been replied before).
/// Cancelling the calling task MUST cancel the call on the leaf. `reply` errors end the call
/// and are rethrown as they are.
///
/// ## Concurrency
/// Sendable; many calls at once, to the same or different nodes.
public protocol LeafClient: Sendable {
    func scan(_ plan: PhysicalPlan, budget: QueryBudget, on node: ClusterNode, timeoutSeconds: Double?, queryID: String,
              reply: @escaping @Sendable (LeafReply) async throws -> Void) async throws
}

/// The live nodes a coordinator may place units on.
///
/// ## Contract
/// `liveNodes()` returns the nodes whose heartbeat is recent and that serve the leaf API, in a
/// stable order; a catalog failure is `QueryError.catalogUnavailable`. It MAY cache for a few
/// seconds. Sendable.
public protocol ClusterMembership: Sendable {
    func liveNodes() async throws(QueryError) -> [ClusterNode]
}
