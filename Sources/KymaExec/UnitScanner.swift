// The seam between merging a query's units and scanning them: a `UnitScanner` scans units of a
// plan wherever it places them (KymaCluster sends them to the live nodes over the internal gRPC
// API, this node included) and hands back each unit's output for the executor to merge.

import KymaPlan

/// What a scanner reports while it scans.
public enum ScanEvent: Sendable {
    /// A unit's output, from `node`, which made `requests` reads of `bytesRead` bytes for it.
    case unit(index: Int, node: String, output: UnitOutput, bytesRead: Int, requests: Int)
    /// A unit no node could scan, when the query allows partial results.
    case failed(index: Int, node: String, reason: String)
    /// `units` were sent again, to `node`, after the node first chosen failed.
    case retried(node: String, units: Int)
}

/// Scans units of a plan somewhere and reports each unit's output.
///
/// ## Contract
/// `scan(_:indexes:budget:)` MUST report every unit of `indexes` exactly once, as `.unit` or
/// (only when the caller allowed partial results) `.failed`, in any order, then finish. A unit
/// it cannot scan otherwise ends the sequence with a `QueryError` of the right kind. The
/// sequence MUST apply backpressure: while the consumer does not ask for the next event, the
/// scanner reads no further than what is in flight (results are not buffered without bound).
/// When the consumer stops iterating (a satisfied `take`) and drops the iterator, the scanner
/// MUST stop its work (cancel calls in flight). It MUST NOT hold state beyond the call: a
/// scanner is config plus connections.
///
/// ## Concurrency
/// Sendable; one scanner serves many queries at once.
public protocol UnitScanner: Sendable {
    func scan(_ plan: PhysicalPlan, indexes: [Int], budget: QueryBudget) -> any AsyncSequence<ScanEvent, any Error>
}

/// A unit left out of a partial result, and why.
public struct FailedUnit: Sendable, Hashable, Codable {
    public var objectKey: String
    public var node: String
    public var reason: String

    public init(objectKey: String, node: String, reason: String) {
        self.objectKey = objectKey
        self.node = node
        self.reason = reason
    }
}

/// What one node did for a query, for EXPLAIN ANALYZE.
public struct NodeExecution: Sendable, Hashable, Codable {
    public var node: String
    public var units = 0
    public var blocksRead = 0
    public var rowsDecoded = 0
    public var rowsMatched = 0
    /// Rows the node sent (0 for partial aggregate states).
    public var rowsSent = 0
    public var partialStates = 0
    public var bytesRead = 0
    /// Read requests the node made to its store (or cache) for its units.
    public var requests = 0
    public var scanNanos: UInt64 = 0
    /// Units this node took over from a failed one.
    public var retriedUnits = 0

    public init(node: String) { self.node = node }
}

extension ExecutionStats {
    mutating func record(node: String, output: UnitOutput, bytesRead: Int, requests: Int) {
        let i = nodeIndex(node)
        nodes[i].units += 1
        nodes[i].blocksRead += output.blocksRead
        nodes[i].rowsDecoded += output.rowsDecoded
        nodes[i].rowsMatched += output.rowsMatched
        nodes[i].rowsSent += output.rowCount
        if case .partialState = output.payload { nodes[i].partialStates += 1 }
        nodes[i].bytesRead += bytesRead
        nodes[i].requests += requests
        nodes[i].scanNanos += output.nanos
    }

    mutating func recordRetry(node: String, units: Int) {
        nodes[nodeIndex(node)].retriedUnits += units
    }

    private mutating func nodeIndex(_ node: String) -> Int {
        if let i = nodes.firstIndex(where: { $0.node == node }) { return i }
        nodes.append(NodeExecution(node: node))
        return nodes.count - 1
    }
}
