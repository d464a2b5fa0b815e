// Streaming reads: one decoded batch per kept block, fetched and decoded only when the consumer
// asks for it, so memory stays bounded by one block whatever the extent's size.

import KymaCore

/// The batches of an extent's selected blocks, in block order, decoded lazily.
public struct ExtentBatchStream: AsyncSequence, Sendable {
    public typealias Element = ColumnBatch

    let reader: any ExtentReader
    let selection: BlockSelection
    let columns: [String]?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: any ExtentReader
        let selection: BlockSelection
        let columns: [String]?
        var position = 0

        public mutating func next() async throws -> ColumnBatch? {
            guard position < selection.blocks.count else { return nil }
            let block = selection.blocks[position]
            position += 1
            let single = BlockSelection(blocks: [block], rowSelections: selection.rowSelections.filter { $0.key == block })
            return try await reader.read(blocks: single, columns: columns, rowSelections: nil).first
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, selection: selection, columns: columns)
    }
}

extension ExtentReader {
    /// Streams the selected blocks one batch at a time (errors are `FormatError`s).
    public func stream(_ selection: BlockSelection, columns: [String]? = nil) -> ExtentBatchStream {
        ExtentBatchStream(reader: self, selection: selection, columns: columns)
    }
}
