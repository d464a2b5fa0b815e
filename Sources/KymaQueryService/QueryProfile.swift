// What each level of the pruning cascade kept and what execution cost: the numbers of EXPLAIN
// ANALYZE (`kyma explain --analyze`, SQL's EXPLAIN ANALYZE), also consumed by the pruning
// harness as JSON. "Extents" are the table source's scan units.

import KymaCore
import KymaExec
import KymaTableSource

public struct QueryProfile: Sendable, Hashable, Codable {
    public var extentsTotal = 0
    public var extentsAfterCatalog = 0
    public var extentsAfterFooters = 0
    public var blocksTotal = 0
    public var blocksAfterStats = 0
    public var blocksAfterBloom = 0
    public var blocksAfterPathBitmaps = 0
    public var blocksAfterIndex = 0
    public var blocksRead = 0
    public var rowsTotal = 0
    public var rowsDecoded = 0
    public var rowsMatched = 0
    public var rowsReturned = 0
    public var extentsSkippedByOrder = 0
    public var partialAggregatesMerged = 0
    public var stoppedEarly = false
    public var bytesTotal = 0
    public var footerBytesRead = 0
    public var dataBytesRead = 0
    /// Read requests to the object store (or the node's cache) for footers and data, every node's.
    public var storeRequests = 0
    public var catalogMillis = 0.0
    public var footerMillis = 0.0
    public var executionMillis = 0.0
    public var totalMillis = 0.0
    /// Per node, when the scan ran on the cluster's leaf services.
    public var nodes: [NodeExecution] = []
    /// Units a partial result left out (`allow_partial`), with the node that failed them.
    public var failedUnits: [FailedUnit] = []

    public init() {}

    mutating func add(scan stats: ScanStats) {
        extentsTotal = stats.unitsTotal
        extentsAfterCatalog = stats.unitsAfterCatalog
        extentsAfterFooters = stats.unitsAfterFooters
        blocksTotal = stats.blocksTotal
        blocksAfterStats = stats.blocksAfterStats
        blocksAfterBloom = stats.blocksAfterBloom
        blocksAfterPathBitmaps = stats.blocksAfterPathBitmaps
        blocksAfterIndex = stats.blocksAfterIndex
        rowsTotal = stats.rowsTotal
        bytesTotal = stats.bytesTotal
        footerBytesRead = stats.footerBytesRead
        catalogMillis = stats.catalogMillis
        footerMillis = stats.footerMillis
    }

    mutating func add(execution stats: ExecutionStats) {
        blocksRead = stats.blocksRead
        rowsDecoded = stats.rowsDecoded
        rowsMatched = stats.rowsMatched
        rowsReturned = stats.rowsReturned
        extentsSkippedByOrder = stats.unitsSkippedByOrder
        partialAggregatesMerged = stats.partialAggregatesMerged
        stoppedEarly = stats.stoppedEarly
        nodes = stats.nodes
        failedUnits = stats.failedUnits
    }

    /// One JSON object, fields in declaration order (what `--format json` prints).
    public var json: String {
        var parts: [String] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            let value: String
            switch child.value {
            case let v as Int: value = String(v)
            case let v as Double: value = String(v)
            case let v as Bool: value = v ? "true" : "false"
            default: continue
            }
            parts.append(JSONText.quote(label) + ":" + value)
        }
        let nodeObjects = nodes.map { node in
            "{\"node\":\(JSONText.quote(node.node)),\"units\":\(node.units),\"blocksRead\":\(node.blocksRead),\"rowsDecoded\":\(node.rowsDecoded),"
                + "\"rowsMatched\":\(node.rowsMatched),\"rowsSent\":\(node.rowsSent),\"partialStates\":\(node.partialStates),"
                + "\"bytesRead\":\(node.bytesRead),\"requests\":\(node.requests),\"scanMillis\":\(Double(node.scanNanos) / 1e6),\"retriedUnits\":\(node.retriedUnits)}"
        }
        parts.append("\"nodes\":[" + nodeObjects.joined(separator: ",") + "]")
        let failed = failedUnits.map { "{\"objectKey\":\(JSONText.quote($0.objectKey)),\"node\":\(JSONText.quote($0.node)),\"reason\":\(JSONText.quote($0.reason))}" }
        parts.append("\"failedUnits\":[" + failed.joined(separator: ",") + "]")
        return "{" + parts.joined(separator: ",") + "}"
    }
}
