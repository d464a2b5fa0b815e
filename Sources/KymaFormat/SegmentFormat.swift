// KymaFormat: the one boundary between storage and everything else. A `SegmentFormat` writes
// extents (immutable objects) from column batches and reads them back, pruning blocks on
// pushed-down predicates. TLM and Parquet implement it in their own modules; the planner,
// executor and ingest see only these protocols.

import KymaCore
import KymaObjectStore

/// A columnar file format for extents.
///
/// ## Identity
/// `name` and `version` are recorded in the catalog with every extent. `tailMagic` is the last
/// bytes of every extent the format writes: `FormatRegistry` picks the reader from them, so
/// extents of several formats and versions coexist in one table.
///
/// ## Writing
/// `makeWriter` returns a writer owned by one task; it takes batches in order and `finish()`
/// returns the object's bytes and its `ExtentManifest`. The caller uploads the bytes, then
/// commits the manifest to the catalog: an extent is visible only after both.
///
/// ## Reading
/// `openExtent` reads the footer with ranged GETs: the tail first (which usually holds the whole
/// footer), then the rest of the footer if needed; at most two requests. `tail` may pass bytes
/// already fetched from the end of the object (by the registry) to save the first request.
///
/// ## Errors
/// Every failure is a `FormatError`. A damaged or truncated extent is `.corrupt` naming the
/// object key and byte offset; no input makes a reader crash or return wrong values silently.
///
/// ## Concurrency
/// Formats and readers are `Sendable`; a reader may serve many concurrent `read` calls.
public protocol SegmentFormat: Sendable {
    var name: String { get }
    var version: Int { get }
    var tailMagic: [UInt8] { get }

    func makeWriter(schema: Schema, options: FormatOptions) throws(FormatError) -> any ExtentWriter

    func openExtent(store: any ObjectStore, key: ObjectKey, size: Int, tail: [UInt8]?) async throws(FormatError) -> any ExtentReader
}

/// Builds one extent. Not shared between tasks.
public protocol ExtentWriter: AnyObject {
    /// Appends rows. Columns missing from the batch are null for its rows; columns not in the
    /// writer's schema are an error (`.schemaMismatch`).
    func append(_ batch: ColumnBatch) throws(FormatError)
    /// Closes the extent: its bytes and manifest. The writer cannot be used afterwards.
    func finish() throws(FormatError) -> FinishedExtent
}

/// Reads one extent.
///
/// ## Pruning
/// `pruneBlocks(_:)` MAY keep blocks that match nothing; it MUST NOT drop a block that has a
/// matching row. The returned `PruningStats` say how many blocks each index kept.
/// ## Reading
/// `read` decodes only the requested columns of the selected blocks, returning one batch per
/// block (rows outside a block's row selection are not materialised); `stream(_:columns:)`
/// yields the same batches one block at a time as an `AsyncSequence`.
public protocol ExtentReader: Sendable {
    var key: ObjectKey { get }
    var schema: Schema { get }
    var rowCount: Int { get }
    var blockCount: Int { get }
    /// Bytes fetched from the store to open the extent.
    var footerBytesFetched: Int { get }
    /// Bytes of the extent's indexes (Bloom filters, term filters, posting lists), known from
    /// the footer without fetching them; 0 when the format keeps none. For format comparisons.
    var indexBytes: Int { get }

    /// May fetch the indexes the predicate needs (Bloom filters, posting lists) with ranged GETs.
    func pruneBlocks(_ predicate: BlockPredicate) async throws(FormatError) -> (BlockSelection, PruningStats)

    /// Decodes `columns` (nil: all) of `blocks`. `rowSelections` optionally narrows rows per
    /// block (block-local row numbers, ascending).
    func read(blocks: BlockSelection, columns: [String]?, rowSelections: [Int: [UInt32]]?) async throws(FormatError) -> [ColumnBatch]
}

extension ExtentReader {
    public var indexBytes: Int { 0 }
}

/// The blocks of an extent that survived pruning, in ascending order, with optional exact
/// block-local row selections (from an inverted index).
public struct BlockSelection: Sendable, Hashable {
    public var blocks: [Int]
    public var rowSelections: [Int: [UInt32]]

    public init(blocks: [Int], rowSelections: [Int: [UInt32]] = [:]) {
        self.blocks = blocks
        self.rowSelections = rowSelections
    }
}

/// What each pruning level kept, for EXPLAIN ANALYZE and the pruning harness.
public struct PruningStats: Sendable, Hashable {
    public var blocksTotal = 0
    public var keptByStats = 0
    public var keptByBloom = 0
    public var keptByPathBitmap = 0
    public var keptByInvertedIndex = 0

    public init(blocksTotal: Int = 0) { self.blocksTotal = blocksTotal }
}

/// The bytes of a finished extent and what the catalog records about it.
public struct FinishedExtent: Sendable {
    public var bytes: [UInt8]
    public var manifest: ExtentManifest

    public init(bytes: [UInt8], manifest: ExtentManifest) {
        self.bytes = bytes
        self.manifest = manifest
    }
}

/// The catalog's view of an extent, produced by the writer.
public struct ExtentManifest: Sendable, Hashable {
    public var formatName: String
    public var formatVersion: Int
    public var rowCount: Int
    public var byteSize: Int
    /// Min and max of the time column (`_time` or the table's time column), when present.
    public var timeRange: TimeRange?
    public var columns: [String: ColumnSummary]
    /// Columns (JSON paths) holding at least one non-null value.
    public var presentPaths: [String]

    public init(formatName: String, formatVersion: Int, rowCount: Int, byteSize: Int, timeRange: TimeRange?,
                columns: [String: ColumnSummary], presentPaths: [String]) {
        self.formatName = formatName
        self.formatVersion = formatVersion
        self.rowCount = rowCount
        self.byteSize = byteSize
        self.timeRange = timeRange
        self.columns = columns
        self.presentPaths = presentPaths
    }
}

public struct ColumnSummary: Sendable, Hashable {
    public var type: DataType
    public var min: ScalarValue?
    public var max: ScalarValue?
    public var nullCount: Int

    public init(type: DataType, min: ScalarValue?, max: ScalarValue?, nullCount: Int) {
        self.type = type
        self.min = min
        self.max = max
        self.nullCount = nullCount
    }
}

/// Format options as names and values (`block_rows`, `codec`, `zstd_level`, `bloom_fpp`,
/// `encoding`, `inverted_index`...). Each format documents and validates its own.
public struct FormatOptions: Sendable, Hashable {
    public var values: [String: String]

    public init(_ values: [String: String] = [:]) { self.values = values }
}
