// How a scan task reads one block: whole, or late-materialized. With a scan filter on fewer
// columns than the scan needs, the filter's columns are decoded first and the others only for
// the rows the filter keeps (a block it empties decodes nothing more). With a leading top-N by a
// column (`LateTopN`), the block's statistics are checked against the N-th best key passed on so
// far, then the key column is decoded and the others only for rows that can still enter.

import KymaCore
import KymaFormat
import KymaPlan
import KymaTableSource

/// A block's rows as read, and what reading it cost.
struct BlockRead {
    var batches: [ColumnBatch] = []
    /// The scan filter was applied already (its rows alone are in `batches`).
    var filtered = false
    /// False when statistics skipped the block unread.
    var read = true
    /// Rows decoded in columns read before the rest (beyond the rows in `batches`).
    var rowsDecodedFirst = 0
}

enum BlockReads {
    static func read(_ block: Int, of unit: ScanUnit, reader: any ExtentReader, plan: PhysicalPlan, columns: [String]?,
                     late: LateTopN?) async throws(QueryError) -> BlockRead {
        let single = BlockSelection(blocks: [block], rowSelections: unit.rowSelections.filter { $0.key == block })
        let preselected = single.rowSelections[block]
        do {
            // Blocks with an index's row selection are read as they are (their rows are few).
            if preselected == nil, let late, let index = reader.schema.index(of: late.column) {
                return try await topN(block, single, reader: reader, columns: columns, late: late, type: reader.schema.fields[index].type)
            }
            if preselected == nil, let filter = plan.scanFilter {
                let wanted = columns ?? reader.schema.fields.map(\.name)
                let filterColumns = wanted.filter { filter.columns.contains($0) }
                if !filterColumns.isEmpty, filterColumns.count < wanted.count {
                    return try await filtered(block, single, reader: reader, columns: columns, wanted: wanted, filterColumns: filterColumns,
                                              filter: filter, now: plan.nowNanos)
                }
            }
            return BlockRead(batches: try await reader.read(blocks: single, columns: columns, rowSelections: preselected.map { [block: $0] }))
        } catch {
            throw StorageErrors.queryError(error, doing: "reading \(unit.objectKey)")
        }
    }

    /// One batch of exactly `rows` of the block, from what a reader returned for them: readers
    /// MAY return the rows alone, or the whole block with or without its selection marked. nil
    /// when it is neither (the caller then reads the block whole).
    static func exactly(_ batches: [ColumnBatch], rows: [UInt32]) -> ColumnBatch? {
        guard batches.count == 1, let batch = batches.first else { return nil }
        if batch.rowCount == rows.count, batch.selection == nil { return batch }
        guard batch.selection == nil || batch.selection == rows, rows.allSatisfy({ Int($0) < batch.rowCount }) else { return nil }
        return try? ColumnBatch(rowCount: rows.count, columns: zip(batch.names, batch.columns).map { ($0, $1.gathered(rows)) })
    }

    /// The one batch of a whole block without a selection of its own, or nil.
    static func whole(_ batches: [ColumnBatch]) -> ColumnBatch? {
        guard batches.count == 1, let batch = batches.first, batch.selection == nil else { return nil }
        return batch
    }

    private static func topN(_ block: Int, _ single: BlockSelection, reader: any ExtentReader, columns: [String]?, late: LateTopN,
                             type: DataType) async throws(FormatError) -> BlockRead {
        if let bound = late.blockPredicate(for: type), !(try await reader.pruneBlocks(bound)).0.blocks.contains(block) {
            return BlockRead(read: false)
        }
        guard let keys = whole(try await reader.read(blocks: single, columns: [late.column], rowSelections: nil)),
              let key = keys.column(named: late.column), let contenders = late.contenders(key) else {
            return BlockRead(batches: try await reader.read(blocks: single, columns: columns, rowSelections: nil))
        }
        var result = BlockRead(rowsDecodedFirst: keys.rowCount - contenders.count)
        guard !contenders.isEmpty else { return result }
        guard let rest = exactly(try await reader.read(blocks: single, columns: columns, rowSelections: [block: contenders]), rows: contenders) else {
            return BlockRead(batches: try await reader.read(blocks: single, columns: columns, rowSelections: nil))
        }
        result.batches = [rest]
        return result
    }

    private static func filtered(_ block: Int, _ single: BlockSelection, reader: any ExtentReader, columns: [String]?, wanted: [String],
                                 filterColumns: [String], filter: Expr, now: Int64) async throws -> BlockRead {
        guard let first = whole(try await reader.read(blocks: single, columns: filterColumns, rowSelections: nil)) else {
            return BlockRead(batches: try await reader.read(blocks: single, columns: columns, rowSelections: nil))
        }
        let selected = try ExpressionEvaluator.select(filter, first, rows: nil, now: now)
        var result = BlockRead(filtered: true, rowsDecodedFirst: first.rowCount - selected.count)
        guard !selected.isEmpty else { return result }
        let all = selected.count == first.rowCount
        let others = wanted.filter { !filterColumns.contains($0) }
        let read = try await reader.read(blocks: single, columns: others, rowSelections: all ? nil : [block: selected])
        guard let rest = all ? whole(read).flatMap({ $0.rowCount == first.rowCount ? $0 : nil }) : exactly(read, rows: selected) else {
            return BlockRead(batches: try await reader.read(blocks: single, columns: columns, rowSelections: nil))
        }
        var combined: [(String, Column)] = []
        for name in wanted {
            if let column = first.column(named: name) {
                combined.append((name, all ? column : column.gathered(selected)))
            } else if let column = rest.column(named: name) {
                combined.append((name, column))
            }
        }
        result.batches = [try ColumnBatch(rowCount: selected.count, columns: combined)]
        return result
    }
}
