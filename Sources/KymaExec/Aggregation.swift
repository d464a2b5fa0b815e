// Hash aggregation: group keys encoded to bytes and interned into dense group ids, then one
// accumulator per aggregate updated with a batch's group ids at a time. Memory is bounded: the
// estimate is checked after every batch against the query's budget (`resourcesExhausted`).

import KymaCore
import KymaIndex
import KymaPlan

/// Appends a canonical byte encoding of values to a key buffer: equal values (across int/float
/// when the float is integral) give equal bytes.
enum KeyEncoding {
    static func append(_ value: ScalarValue, to key: inout [UInt8]) {
        func int(_ tag: UInt8, _ v: Int64) {
            key.append(tag)
            withUnsafeBytes(of: v.littleEndian) { key.append(contentsOf: $0) }
        }
        switch value {
        case .null: key.append(0)
        case .bool(let b): key.append(b ? 2 : 1)
        case .int64(let v): int(3, v)
        case .float64(let v):
            if v == v.rounded(), abs(v) < 9e18 { int(3, Int64(v)) } else {
                key.append(4)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { key.append(contentsOf: $0) }
            }
        case .timestamp(let v): int(5, v)
        case .string(let s):
            key.append(6)
            withUnsafeBytes(of: Int32(s.utf8.count).littleEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: s.utf8)
        case .binary(let b):
            key.append(7)
            withUnsafeBytes(of: Int32(b.count).littleEndian) { key.append(contentsOf: $0) }
            key.append(contentsOf: b)
        }
    }
}

/// Interns rows of key columns into dense ids (0, 1, 2... in first-seen order).
struct GroupTable {
    private var table = ByteStringTable()
    private(set) var keys: [[ScalarValue]] = []
    private(set) var keyBytes = 0
    private var scratch: [UInt8] = []

    var count: Int { keys.count }

    /// The id of the group with these key values (added when new).
    mutating func intern(_ row: [ScalarValue]) -> Int32 {
        scratch.removeAll(keepingCapacity: true)
        for value in row { KeyEncoding.append(value, to: &scratch) }
        let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
        if inserted {
            keys.append(row)
            keyBytes += scratch.count + 48 * row.count
        }
        return id
    }

    /// Group ids of a string column through its dictionary: each entry is interned on its first
    /// use (a grouped scan by a five-value column hashes five strings per batch, not every row).
    private mutating func idsByCode(_ column: Column, _ dictionary: ColumnDictionary, into out: inout [Int32]) {
        var idOfCode = [Int32](repeating: -1, count: dictionary.entryCount)
        var nullID: Int32 = -1
        let validity = column.validity
        for i in 0..<dictionary.codes.count {
            if let validity, !validity.isValid(i) {
                if nullID < 0 { nullID = intern([.null]) }
                out[i] = nullID
                continue
            }
            let code = Int(dictionary.codes[i])
            var id = idOfCode[code]
            if id < 0 {
                let start = Int(dictionary.entryOffsets[code]), end = Int(dictionary.entryOffsets[code + 1])
                id = intern([.string(String(decoding: dictionary.entryBytes[start..<end], as: UTF8.self))])
                idOfCode[code] = id
            }
            out[i] = id
        }
    }

    /// The groups of a decoded state, in their order.
    mutating func restore(_ rows: [[ScalarValue]], keyless: Bool) {
        if keyless { return }
        for row in rows { _ = intern(row) }
    }

    /// Group ids of `count` rows of the key values.
    mutating func ids(for keyValues: [Evaluated], count: Int) -> [Int32] {
        if keyValues.isEmpty {
            if keys.isEmpty { keys.append([]) }
            return [Int32](repeating: 0, count: count)
        }
        var out = [Int32](repeating: 0, count: count)
        // One non-null int64 key column: encoded without going through ScalarValue.
        if keyValues.count == 1, case .column(let column) = keyValues[0].storage, column.validity == nil, case .int64(let values) = column.values {
            for i in 0..<count {
                scratch.removeAll(keepingCapacity: true)
                scratch.append(3)
                withUnsafeBytes(of: values[i].littleEndian) { scratch.append(contentsOf: $0) }
                let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
                out[i] = id
                if inserted {
                    keys.append([.int64(values[i])])
                    keyBytes += 64
                }
            }
            return out
        }
        // A single dictionary-coded string column: one intern per entry, then ids by code.
        if keyValues.count == 1, case .column(let column) = keyValues[0].storage, let dictionary = column.dictionary,
           dictionary.codes.count == count {
            idsByCode(column, dictionary, into: &out)
            return out
        }
        // A single string column: encode straight from its bytes.
        if keyValues.count == 1, case .column(let column) = keyValues[0].storage, case .string(let offsets, let bytes) = column.values {
            for i in 0..<count {
                scratch.removeAll(keepingCapacity: true)
                if column.isNull(i) { scratch.append(0) } else {
                    scratch.append(6)
                    withUnsafeBytes(of: (offsets[i + 1] - offsets[i]).littleEndian) { scratch.append(contentsOf: $0) }
                    scratch.append(contentsOf: bytes[Int(offsets[i])..<Int(offsets[i + 1])])
                }
                let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
                out[i] = id
                if inserted {
                    keys.append([column.value(at: i)])
                    keyBytes += scratch.count + 48
                }
            }
            return out
        }
        for i in 0..<count {
            scratch.removeAll(keepingCapacity: true)
            for key in keyValues { KeyEncoding.append(key.value(at: i), to: &scratch) }
            let (id, inserted) = scratch.withUnsafeBufferPointer { table.intern($0) }
            out[i] = id
            if inserted {
                keys.append(keyValues.map { $0.value(at: i) })
                keyBytes += scratch.count + 48 * keyValues.count
            }
        }
        return out
    }
}

/// The hash aggregate operator: feed batches (or merge partial aggregators), then take the
/// result batch. Memory is checked against the budget after every batch and merge.
public final class HashAggregator {
    let keys: [NamedExpr]
    let aggregates: [Aggregate]
    let accumulators: [any Accumulator]
    var groups = GroupTable()
    let memoryLimit: Int
    let now: Int64

    public init(keys: [NamedExpr], aggregates: [Aggregate], memoryLimit: Int, now: Int64) {
        self.keys = keys
        self.aggregates = aggregates
        self.accumulators = aggregates.map(Accumulators.make)
        self.memoryLimit = memoryLimit
        self.now = now
    }

    /// Groups with state: an aggregation without keys has its one group even before any row.
    var stateGroupCount: Int { keys.isEmpty ? 1 : groups.count }

    public func add(_ batch: ColumnBatch) throws(QueryError) {
        let input = EvaluationInput(batch: batch, rows: batch.selection, nowNanos: now)
        guard input.count > 0 else { return }
        var keyValues: [Evaluated] = []
        for key in keys { keyValues.append(try ExpressionEvaluator.evaluate(key.expr, input)) }
        let ids = groups.ids(for: keyValues, count: input.count)
        for (aggregate, accumulator) in zip(aggregates, accumulators) {
            var arguments: [Evaluated] = []
            for argument in aggregate.arguments { arguments.append(try ExpressionEvaluator.evaluate(argument, input)) }
            if let filter = aggregate.filter {
                // FILTER (WHERE ...): only the rows where it is true, as positions of the input.
                let positions = try ExpressionEvaluator.positions(matching: filter, batch, rows: batch.selection, now: now)
                guard !positions.isEmpty else { continue }
                try accumulator.update(groups: positions.map { ids[Int($0)] }, groupCount: groups.count,
                                       arguments: arguments.map { $0.gathered(positions) }, count: positions.count)
            } else {
                try accumulator.update(groups: ids, groupCount: groups.count, arguments: arguments, count: input.count)
            }
        }
        try checkMemory()
    }

    func checkMemory() throws(QueryError) {
        let used = groups.keyBytes + accumulators.reduce(0) { $0 + $1.estimatedBytes }
        if used > memoryLimit { throw .resourcesExhausted(resource: "aggregation memory (bytes)", limit: memoryLimit, used: used) }
    }

    /// Folds `other` (same keys and aggregates, over rows that come after these) in.
    public func merge(_ other: HashAggregator) throws(QueryError) {
        guard other.accumulators.count == accumulators.count, other.keys.count == keys.count else {
            throw .internalError("merging aggregators of different shapes")
        }
        var mapping: [Int32] = []
        mapping.reserveCapacity(other.stateGroupCount)
        if keys.isEmpty {
            mapping = [0]
        } else {
            for row in other.groups.keys { mapping.append(groups.intern(row)) }
        }
        for (mine, theirs) in zip(accumulators, other.accumulators) {
            try mine.merge(theirs, mapping: mapping, groupCount: stateGroupCount)
        }
        try checkMemory()
    }

    public func finish() throws(QueryError) -> ColumnBatch {
        // Kusto and SQL: an aggregation without keys returns one row even over no input.
        let groupCount = stateGroupCount
        var columns: [(String, Column)] = []
        for (k, key) in keys.enumerated() {
            columns.append((key.name, ColumnFactory.column(groups.keys.map { $0[k] })))
        }
        for (aggregate, accumulator) in zip(aggregates, accumulators) {
            for (name, column) in zip(aggregate.outputNames, try accumulator.results(groupCount: groupCount)) {
                columns.append((name, column))
            }
        }
        return try BatchBuilding.batch(rowCount: groupCount, columns: columns)
    }
}

enum BatchBuilding {
    /// A batch from columns; a repeated name keeps the last column (Kusto's replace semantics).
    static func batch(rowCount: Int, columns: [(String, Column)]) throws(QueryError) -> ColumnBatch {
        var unique: [(String, Column)] = []
        for (name, column) in columns {
            if let index = unique.firstIndex(where: { $0.0 == name }) { unique[index] = (name, column) } else { unique.append((name, column)) }
        }
        do {
            return try ColumnBatch(rowCount: rowCount, columns: unique)
        } catch {
            throw .internalError("building a batch: \(error)")
        }
    }
}
