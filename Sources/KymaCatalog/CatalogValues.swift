// Manifest values stored in the catalog: tables, extents, filters for catalog pruning.

import KymaCore

public struct TableDefinition: Sendable, Hashable {
    public var name: String
    /// The declared schema; empty for schema-on-read tables whose columns come from ingest.
    public var schema: Schema
    public var formatName: String
    /// Format options (block size, codec...) as the format's own option names and values.
    public var options: [String: String]
    /// The column that is the table's pruning time (`_time`), when not `_time` itself.
    public var timeColumn: String?

    public init(name: String, schema: Schema = .empty, formatName: String, options: [String: String] = [:], timeColumn: String? = nil) {
        self.name = name
        self.schema = schema
        self.formatName = formatName
        self.options = options
        self.timeColumn = timeColumn
    }
}

public struct TableInfo: Sendable, Hashable {
    public var id: Int64
    public var definition: TableDefinition
    public var createdAtMillis: Int64

    public init(id: Int64, definition: TableDefinition, createdAtMillis: Int64) {
        self.id = id
        self.definition = definition
        self.createdAtMillis = createdAtMillis
    }

    public var name: String { definition.name }
}

/// A UUID in its canonical lowercase text form.
public struct ExtentID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let uuid: String

    public init(_ uuid: String) throws(CatalogError) {
        let lower = uuid.lowercased()
        let groups = lower.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
        guard groups == [8, 4, 4, 4, 12], lower.allSatisfy({ $0 == "-" || $0.isHexDigit }) else {
            throw .invalidArgument("'\(uuid)' is not a UUID")
        }
        self.uuid = lower
    }

    /// A new random (version 4) id.
    public static func random() -> ExtentID {
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        let hex = bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let c = Array(hex)
        let text = String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
        return ExtentID(validated: text)
    }

    private init(validated: String) { self.uuid = validated }

    public var description: String { uuid }
    public static func < (lhs: ExtentID, rhs: ExtentID) -> Bool { lhs.uuid < rhs.uuid }
}

/// Min, max and null count of one column in one extent.
public struct ColumnStatistics: Sendable, Hashable, Codable {
    public var min: ScalarValue?
    public var max: ScalarValue?
    public var nullCount: Int64

    public init(min: ScalarValue?, max: ScalarValue?, nullCount: Int64) {
        self.min = min
        self.max = max
        self.nullCount = nullCount
    }
}

public enum ExtentState: String, Sendable, Hashable {
    case active
    /// Replaced by compaction; its object is deleted after a grace period.
    case retired
}

/// The catalog's record of one extent: an immutable object written by a `SegmentFormat`.
public struct ExtentRecord: Sendable, Hashable {
    public var id: ExtentID
    public var formatName: String
    public var formatVersion: Int
    public var objectKey: String
    public var byteSize: Int64
    public var rowCount: Int64
    /// The extent's `_time` range; `TimeRange.all` when it has no time column.
    public var timeRange: TimeRange
    public var columnStatistics: [String: ColumnStatistics]
    /// JSON paths (dotted column names) present in the extent.
    public var presentPaths: [String]
    /// Format-specific summaries the format wants kept with the manifest (opaque JSON text).
    public var summaries: String
    public var state: ExtentState
    public var createdAtMillis: Int64?

    public init(
        id: ExtentID = .random(), formatName: String, formatVersion: Int, objectKey: String, byteSize: Int64, rowCount: Int64,
        timeRange: TimeRange, columnStatistics: [String: ColumnStatistics] = [:], presentPaths: [String] = [],
        summaries: String = "{}", state: ExtentState = .active, createdAtMillis: Int64? = nil
    ) {
        self.id = id
        self.formatName = formatName
        self.formatVersion = formatVersion
        self.objectKey = objectKey
        self.byteSize = byteSize
        self.rowCount = rowCount
        self.timeRange = timeRange
        self.columnStatistics = columnStatistics
        self.presentPaths = presentPaths
        self.summaries = summaries
        self.state = state
        self.createdAtMillis = createdAtMillis
    }
}

/// "The column has a non-null value in `[lower, upper]`" (either bound may be open).
/// The catalog drops an extent only when its statistics prove the condition false: bounds of
/// the same kind (numeric or text) that miss the interval, or no non-null value at all. Stats
/// of another kind (a column that is text in this extent but compared with a number) keep it.
public struct ColumnRangeCondition: Sendable, Hashable {
    public var column: String
    public var lower: ScalarValue?
    public var upper: ScalarValue?

    public init(column: String, lower: ScalarValue?, upper: ScalarValue?) {
        self.column = column
        self.lower = lower
        self.upper = upper
    }
}

/// A table's active extents counted.
public struct ExtentTotals: Sendable, Hashable {
    public var extents: Int
    public var rows: Int
    public var bytes: Int

    public init(extents: Int, rows: Int, bytes: Int) {
        self.extents = extents
        self.rows = rows
        self.bytes = bytes
    }
}

/// What catalog-level pruning may use; every part is ANDed.
public struct ExtentFilter: Sendable, Hashable {
    public var timeRange: TimeRange?
    public var columnConditions: [ColumnRangeCondition]
    /// Paths that must all be present in the extent.
    public var requiredPaths: [String]

    public init(timeRange: TimeRange? = nil, columnConditions: [ColumnRangeCondition] = [], requiredPaths: [String] = []) {
        self.timeRange = timeRange
        self.columnConditions = columnConditions
        self.requiredPaths = requiredPaths
    }

    public static let all = ExtentFilter()
}

public enum CommitOutcome: Sendable, Hashable {
    case committed
    /// The batch part was committed before; nothing changed.
    case alreadyCommitted
}

/// One committed piece of a client batch: lines `lines` (1-based, inclusive) of the input whose
/// SHA-256 is `inputDigest`. Idempotence is keyed by content: the same lines of the same input
/// are committed once under a batch id, however the input is named or cut into parts.
public struct BatchPart: Sendable, Hashable, Codable {
    /// The longest batch id, in UTF-8 bytes.
    public static let maxIDBytes = 256

    public var batchID: String
    /// Lowercase hex SHA-256 of the whole input the lines come from.
    public var inputDigest: String
    public var lines: ClosedRange<Int>

    public init(batchID: String, inputDigest: String, lines: ClosedRange<Int>) {
        self.batchID = batchID
        self.inputDigest = inputDigest
        self.lines = lines
    }
}

/// What a client batch has committed so far: for each input (by SHA-256), its committed line
/// ranges, sorted and disjoint.
/// What a client batch's committed parts left in its table (`Catalog.batchOutput`).
public struct BatchOutput: Sendable, Hashable {
    /// Its extents still active, and their rows.
    public var active: [ExtentID]
    public var activeRows: Int64
    /// Its extents no longer active: compacted into other extents (their rows live on there)
    /// or dropped.
    public var gone: Int

    public init(active: [ExtentID], activeRows: Int64, gone: Int) {
        self.active = active
        self.activeRows = activeRows
        self.gone = gone
    }
}

public struct BatchProgress: Sendable, Hashable {
    public var committedLines: [String: [ClosedRange<Int>]]

    public init(committedLines: [String: [ClosedRange<Int>]]) {
        self.committedLines = committedLines
    }

    /// The runs of `1...lineCount` of `inputDigest` not yet committed, in order.
    public func uncommitted(inputDigest: String, lineCount: Int) -> [ClosedRange<Int>] {
        guard lineCount > 0 else { return [] }
        var runs: [ClosedRange<Int>] = []
        var next = 1
        for range in (committedLines[inputDigest] ?? []).sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { runs.append(next...min(range.lowerBound - 1, lineCount)) }
            next = max(next, range.upperBound + 1)
            if next > lineCount { break }
        }
        if next <= lineCount { runs.append(next...lineCount) }
        return runs.filter { !$0.isEmpty && $0.lowerBound <= lineCount }
    }
}
