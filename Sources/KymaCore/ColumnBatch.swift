// The in-memory columnar batch every operator and format exchanges: typed, contiguous column
// buffers (no per-value objects), validity bitmaps, and an optional selection vector.

/// Which rows of a column hold a value: bit i of word i/64 is 1 when row i is not null.
public struct ValidityBitmap: Sendable, Hashable {
    public var words: [UInt64]
    public let count: Int

    public init(allValid count: Int) {
        self.count = count
        words = [UInt64](repeating: ~0, count: (count + 63) / 64)
        clearTail()
    }

    public init(words: [UInt64], count: Int) {
        self.words = words
        self.count = count
        clearTail()
    }

    private mutating func clearTail() {
        if count % 64 != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(count % 64)) - 1 }
    }

    @inlinable
    public func isValid(_ row: Int) -> Bool { words[row >> 6] >> UInt64(row & 63) & 1 == 1 }

    @inlinable
    public mutating func set(_ row: Int, valid: Bool) {
        if valid { words[row >> 6] |= 1 << UInt64(row & 63) } else { words[row >> 6] &= ~(1 << UInt64(row & 63)) }
    }

    public var nullCount: Int { count - words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

/// The values of one column, stored contiguously by type. Null rows hold a placeholder
/// (0, false, empty) that readers must not interpret; the validity bitmap says which.
public enum ColumnValues: Sendable, Hashable {
    case bool([Bool])
    case int64([Int64])
    case float64([Double])
    /// Nanoseconds since the Unix epoch.
    case timestamp([Int64])
    /// `offsets.count == rows + 1`; row i is `bytes[offsets[i]..<offsets[i+1]]` (UTF-8).
    case string(offsets: [Int32], bytes: [UInt8])
    case binary(offsets: [Int32], bytes: [UInt8])
    /// `values.count == rows * dimension`.
    case float32Vector(dimension: Int, values: [Float])

    public var dataType: DataType {
        switch self {
        case .bool: .bool
        case .int64: .int64
        case .float64: .float64
        case .timestamp: .timestamp
        case .string: .string
        case .binary: .binary
        case .float32Vector: .float32Vector
        }
    }

    public var count: Int {
        switch self {
        case .bool(let v): v.count
        case .int64(let v), .timestamp(let v): v.count
        case .float64(let v): v.count
        case .string(let offsets, _), .binary(let offsets, _): max(0, offsets.count - 1)
        case .float32Vector(let dimension, let values): dimension > 0 ? values.count / dimension : 0
        }
    }
}

/// A string or binary column's values also given as codes into its distinct values, as a
/// dictionary-encoded chunk decodes: grouping can work on codes (one hash per entry, not per
/// row). It MUST agree with the column's values row for row (a null row may hold any code), so
/// whoever builds new values from a column builds a new dictionary or none.
public struct ColumnDictionary: Sendable {
    /// One code per row, each < `entryCount`.
    public var codes: [UInt32]
    /// The entries' bytes, entry i at `entryBytes[entryOffsets[i]..<entryOffsets[i + 1]]`.
    public var entryOffsets: [Int32]
    public var entryBytes: [UInt8]

    public init(codes: [UInt32], entryOffsets: [Int32], entryBytes: [UInt8]) {
        self.codes = codes
        self.entryOffsets = entryOffsets
        self.entryBytes = entryBytes
    }

    public var entryCount: Int { max(0, entryOffsets.count - 1) }

    /// The dictionary of the rows `rows` (in range) of this one.
    public func gathered(_ rows: [UInt32]) -> ColumnDictionary {
        ColumnDictionary(codes: rows.map { codes[Int($0)] }, entryOffsets: entryOffsets, entryBytes: entryBytes)
    }
}

/// One column: its values and, when any row is null, a validity bitmap.
public struct Column: Sendable, Hashable {
    public var values: ColumnValues
    /// nil when every row is valid.
    public var validity: ValidityBitmap?
    /// The values as dictionary codes too, when the decoder had them (never part of equality).
    public var dictionary: ColumnDictionary?

    public init(_ values: ColumnValues, validity: ValidityBitmap? = nil, dictionary: ColumnDictionary? = nil) {
        self.values = values
        self.validity = validity.flatMap { $0.nullCount == 0 ? nil : $0 }
        self.dictionary = dictionary
    }

    public static func == (a: Column, b: Column) -> Bool { a.values == b.values && a.validity == b.validity }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(values)
        hasher.combine(validity)
    }

    public var count: Int { values.count }
    public var dataType: DataType { values.dataType }
    public var nullCount: Int { validity?.nullCount ?? 0 }

    @inlinable
    public func isNull(_ row: Int) -> Bool { validity.map { !$0.isValid(row) } ?? false }

    /// Row `row` as a scalar: for tests, printing and slow paths, not for kernels.
    public func value(at row: Int) -> ScalarValue {
        if isNull(row) { return .null }
        switch values {
        case .bool(let v): return .bool(v[row])
        case .int64(let v): return .int64(v[row])
        case .float64(let v): return .float64(v[row])
        case .timestamp(let v): return .timestamp(v[row])
        case .string(let offsets, let bytes):
            return .string(String(decoding: bytes[Int(offsets[row])..<Int(offsets[row + 1])], as: UTF8.self))
        case .binary(let offsets, let bytes): return .binary(Array(bytes[Int(offsets[row])..<Int(offsets[row + 1])]))
        case .float32Vector(let dimension, let values):
            return .binary(values[row * dimension..<(row + 1) * dimension].flatMap { f in
                withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) }
            })
        }
    }

    /// The bytes of string or binary row `row`, without copying into a String.
    @inlinable
    public func bytes(at row: Int) -> ArraySlice<UInt8>? {
        switch values {
        case .string(let offsets, let bytes), .binary(let offsets, let bytes): bytes[Int(offsets[row])..<Int(offsets[row + 1])]
        default: nil
        }
    }
}

/// A batch of rows: named columns of equal length, and optionally the rows that are selected.
/// Columns may be absent (schema on read): an absent column reads as all null.
public struct ColumnBatch: Sendable, Hashable {
    public private(set) var rowCount: Int
    public private(set) var names: [String]
    public private(set) var columns: [Column]
    /// Ascending row numbers that are selected; nil selects every row.
    public var selection: [UInt32]?

    public init(rowCount: Int) {
        self.rowCount = rowCount
        names = []
        columns = []
    }

    /// Builds a batch; throws when a column's length differs from `rowCount` or a name repeats.
    public init(rowCount: Int, columns: [(String, Column)], selection: [UInt32]? = nil) throws(KymaCoreError) {
        self.init(rowCount: rowCount)
        for (name, column) in columns { try add(name, column) }
        self.selection = selection
    }

    public mutating func add(_ name: String, _ column: Column) throws(KymaCoreError) {
        guard column.count == rowCount else { throw .columnLength(name: name, expected: rowCount, actual: column.count) }
        guard !names.contains(name) else { throw .duplicateField(name) }
        names.append(name)
        columns.append(column)
    }

    public func column(named name: String) -> Column? {
        names.firstIndex(of: name).map { columns[$0] }
    }

    /// The selected row numbers (all rows when there is no selection vector).
    public var selectedRows: [Int] { selection.map { $0.map(Int.init) } ?? Array(0..<rowCount) }
}

/// Appends scalar values to a column of a fixed type: for ingest and tests.
public struct ColumnBuilder: Sendable {
    public let dataType: DataType
    private var bools: [Bool] = []
    private var ints: [Int64] = []
    private var doubles: [Double] = []
    private var offsets: [Int32] = [0]
    private var bytes: [UInt8] = []
    private var validity: [Bool] = []

    public init(_ dataType: DataType) {
        self.dataType = dataType
    }

    public var count: Int { validity.count }

    /// Bytes of a string, binary or vector column's values so far (0 for other types).
    public var byteCount: Int { bytes.count }

    /// Room for `rows` more values and, in a string, binary or vector column, `bytes` more
    /// bytes of them: a decoder that can estimate its output grows each array once instead of
    /// by doubling (copies, and fresh pages each time).
    public mutating func reserve(rows: Int, bytes extra: Int) {
        validity.reserveCapacity(validity.count + rows)
        switch dataType {
        case .bool: bools.reserveCapacity(bools.count + rows)
        case .int64, .timestamp: ints.reserveCapacity(ints.count + rows)
        case .float64: doubles.reserveCapacity(doubles.count + rows)
        case .string, .binary, .float32Vector:
            offsets.reserveCapacity(offsets.count + rows)
            bytes.reserveCapacity(bytes.count + extra)
        }
    }

    /// Appends `value`, or null. Throws when the value's type is not the column's.
    public mutating func append(_ value: ScalarValue) throws(KymaCoreError) {
        switch (dataType, value) {
        case (_, .null): appendNull()
        case (.bool, .bool(let v)): appendBool(v)
        case (.int64, .int64(let v)), (.timestamp, .timestamp(let v)): appendInt(v)
        case (.float64, .float64(let v)): appendDouble(v)
        case (.string, .string(var v)): v.withUTF8 { appendBytes($0) }
        case (.binary, .binary(let v)): v.withUnsafeBufferPointer { appendBytes($0) }
        default: throw .typeMismatch(expected: dataType, actual: value.dataType)
        }
    }

    // Typed appends for decoders that already know the column's type (no ScalarValue boxing).
    // The caller appends only the column's own kind (asserted in debug builds).

    public mutating func appendNull() {
        switch dataType {
        case .bool: bools.append(false)
        case .int64, .timestamp: ints.append(0)
        case .float64: doubles.append(0)
        case .string, .binary, .float32Vector: offsets.append(Int32(bytes.count))
        }
        validity.append(false)
    }

    /// An int64 or timestamp value.
    public mutating func appendInt(_ value: Int64) {
        assert(dataType == .int64 || dataType == .timestamp)
        ints.append(value)
        validity.append(true)
    }

    public mutating func appendDouble(_ value: Double) {
        assert(dataType == .float64)
        doubles.append(value)
        validity.append(true)
    }

    public mutating func appendBool(_ value: Bool) {
        assert(dataType == .bool)
        bools.append(value)
        validity.append(true)
    }

    /// A string (UTF-8) or binary value.
    public mutating func appendBytes(_ value: UnsafeBufferPointer<UInt8>) {
        assert(dataType == .string || dataType == .binary || dataType == .float32Vector)
        bytes.append(contentsOf: value)
        offsets.append(Int32(bytes.count))
        validity.append(true)
    }

    /// The value at `row` (null when the row is null).
    public func value(at row: Int) -> ScalarValue {
        guard validity[row] else { return .null }
        switch dataType {
        case .bool: return .bool(bools[row])
        case .int64: return .int64(ints[row])
        case .timestamp: return .timestamp(ints[row])
        case .float64: return .float64(doubles[row])
        case .string: return .string(String(decoding: bytes[Int(offsets[row])..<Int(offsets[row + 1])], as: UTF8.self))
        case .binary, .float32Vector: return .binary(Array(bytes[Int(offsets[row])..<Int(offsets[row + 1])]))
        }
    }

    public func finish() -> Column {
        var bitmap = ValidityBitmap(allValid: validity.count)
        for (row, valid) in validity.enumerated() where !valid { bitmap.set(row, valid: false) }
        let values: ColumnValues
        switch dataType {
        case .bool: values = .bool(bools)
        case .int64: values = .int64(ints)
        case .timestamp: values = .timestamp(ints)
        case .float64: values = .float64(doubles)
        case .string: values = .string(offsets: offsets, bytes: bytes)
        case .binary, .float32Vector: values = .binary(offsets: offsets, bytes: bytes)
        }
        return Column(values, validity: bitmap)
    }
}

extension Column {
    /// A column of `count` nulls (a column a file or batch lacks, read as null).
    public static func nulls(_ type: DataType, count: Int) -> Column {
        var builder = ColumnBuilder(type)
        for _ in 0..<count { try? builder.append(.null) }
        return builder.finish()
    }
}
