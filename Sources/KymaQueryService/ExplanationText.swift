// EXPLAIN's text: the prepared plan, what each pruning level was given, and what each kept
// (with execution costs when analyzed). One rendering for `kyma explain`, SQL's EXPLAIN and
// the server.

import KymaCore
import KymaPlan

extension Explanation {
    public var text: String {
        let p = profile
        func ratio(_ kept: Int, _ total: Int) -> String {
            total == 0 ? "" : "  (\(Self.percent(Double(total - kept) / Double(total))) pruned)"
        }
        var lines: [String] = []
        lines.append("Logical plan (\(language), after prepare):")
        lines.append("  " + prepared.logical.description.split(separator: "\n").joined(separator: "\n  "))
        for (level, predicate) in pushedDown { lines.append("Pushed to the \(level): \(predicate)") }
        lines.append("Physical plan: \(units) scan unit(s) on \(distributed ? "the cluster's nodes (rendezvous placement)" : "this node"), order \(prepared.scan.order.rawValue), columns \(prepared.scan.columns.map { $0.joined(separator: ", ") } ?? "all")")
        if let filter = prepared.scan.filterExpression { lines.append("  scan filter: \(filter)") }
        if prepared.scan.provablyEmpty { lines.append("  the filter is false for every row: nothing is read") }
        for op in prepared.pipeline { lines.append("  then: \(op)") }
        if p.partialAggregatesMerged > 0 { lines.append("  aggregation in two phases: \(p.partialAggregatesMerged) partial state(s) merged") }
        lines.append("Pruning cascade:")
        lines.append("  1 catalog        extents \(p.extentsTotal) -> \(p.extentsAfterCatalog)\(ratio(p.extentsAfterCatalog, p.extentsTotal))  [\(Self.ms(p.catalogMillis))]")
        lines.append("  2 extent footers extents \(p.extentsAfterCatalog) -> \(p.extentsAfterFooters)\(ratio(p.extentsAfterFooters, p.extentsAfterCatalog))  [\(Self.ms(p.footerMillis)), \(p.footerBytesRead) bytes]")
        lines.append("    blocks \(p.blocksTotal) -> stats \(p.blocksAfterStats) -> bloom \(p.blocksAfterBloom) -> path bitmaps \(p.blocksAfterPathBitmaps)")
        lines.append("  3 blocks / index blocks \(p.blocksAfterPathBitmaps) -> \(p.blocksAfterIndex)\(ratio(p.blocksAfterIndex, p.blocksTotal)) of all blocks")
        if analyzed {
            lines.append("  4 decode + execute")
            lines.append("    blocks read \(p.blocksRead)\(p.extentsSkippedByOrder > 0 ? ", \(p.extentsSkippedByOrder) extents skipped by time order" : "")\(p.stoppedEarly ? ", stopped early (limit reached)" : "")")
            lines.append("    rows: table \(p.rowsTotal), decoded \(p.rowsDecoded), matched \(p.rowsMatched), returned \(p.rowsReturned)")
            let read = p.footerBytesRead + p.dataBytesRead
            lines.append("    bytes from the object store: \(read) of \(p.bytesTotal)\(p.bytesTotal > 0 ? " (\(Self.percent(Double(read) / Double(p.bytesTotal))))" : "") (footers \(p.footerBytesRead), data \(p.dataBytesRead)), \(p.storeRequests) read requests")
            lines.append("    time: execute \(Self.ms(p.executionMillis)), total \(Self.ms(p.totalMillis))")
            for node in p.nodes {
                lines.append("  node \(node.node): units \(node.units)\(node.retriedUnits > 0 ? " (\(node.retriedUnits) retried here)" : ""), blocks read \(node.blocksRead), "
                             + "rows decoded \(node.rowsDecoded), matched \(node.rowsMatched), sent \(node.rowsSent) rows + \(node.partialStates) partial state(s), "
                             + "\(node.bytesRead) bytes in \(node.requests) reads, scan \(Self.ms(Double(node.scanNanos) / 1e6))")
            }
            for failed in p.failedUnits {
                lines.append("  NOT READ (partial result): \(failed.objectKey) on \(failed.node): \(failed.reason)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func ms(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return "\(rounded) ms"
    }

    static func percent(_ fraction: Double) -> String {
        let value = (fraction * 10000).rounded() / 100
        return "\(value)%"
    }
}
