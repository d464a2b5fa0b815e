// The predicate algebra the planner pushes down to formats for block pruning.

import KymaCore
import KymaKernels

/// A predicate on rows, used only to prune: a format keeps every block where it may be true.
public indirect enum BlockPredicate: Sendable, Hashable {
    case alwaysTrue
    case and([BlockPredicate])
    case or([BlockPredicate])
    case not(BlockPredicate)
    /// The time column lies in the closed range.
    case timeRange(column: String, TimeRange)
    /// `column op constant`; null rows never match.
    case compare(column: String, ComparisonOperator, ScalarValue)
    case inSet(column: String, [ScalarValue])
    /// Kusto `has`: the string column contains `term` as a whole term (case-insensitive).
    case hasTerm(column: String, String)
    /// The string column starts with the prefix (case-sensitive).
    case prefix(column: String, String)
    /// The column has a non-null value.
    case pathExists(String)

    /// Evaluates the predicate on one row: the brute-force meaning pruning must respect.
    public func matches(_ batch: ColumnBatch, row: Int) -> Bool {
        switch self {
        case .alwaysTrue: return true
        case .and(let parts): return parts.allSatisfy { $0.matches(batch, row: row) }
        case .or(let parts): return parts.contains { $0.matches(batch, row: row) }
        case .not(let inner): return !inner.matches(batch, row: row)
        case .timeRange(let column, let range):
            guard case .timestamp(let t)? = batch.column(named: column)?.value(at: row) else { return false }
            return range.contains(t)
        case .compare(let column, let op, let constant):
            guard let value = batch.column(named: column)?.value(at: row), value != .null else { return false }
            guard let order = ScalarOrder.compare(value, constant) else { return false }
            return op.evaluate(order, 0)
        case .inSet(let column, let values):
            guard let value = batch.column(named: column)?.value(at: row), value != .null else { return false }
            return values.contains { ScalarOrder.compare(value, $0) == 0 }
        case .hasTerm(let column, let term):
            guard case .string(let text)? = batch.column(named: column)?.value(at: row) else { return false }
            let wanted = Array(term.lowercased().utf8)
            return Tokenizer.terms(Array(text.utf8)).contains(wanted)
        case .prefix(let column, let prefix):
            guard case .string(let text)? = batch.column(named: column)?.value(at: row) else { return false }
            return text.utf8.starts(with: prefix.utf8)
        case .pathExists(let column):
            guard let value = batch.column(named: column)?.value(at: row) else { return false }
            return value != .null
        }
    }
}

/// Kusto's term rule: maximal runs of ASCII letters and digits (and any non-ASCII byte, so
/// words in other scripts stay whole), lowercased.
public enum Tokenizer {
    /// Terms longer than this many bytes are not indexed (a 50 MB token would be a 50 MB index
    /// entry); a query for such a term cannot use an index and reads the blocks.
    public static let maxIndexedTermBytes = 128

    @inlinable
    public static func isTermByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte >= 0x80
    }

    /// The distinct terms of `text`, lowercased.
    public static func terms(_ text: [UInt8]) -> Set<[UInt8]> {
        var result = Set<[UInt8]>()
        forEachTerm(text[...]) { result.insert(Array($0)) }
        return result
    }

    /// `forEachTerm` for indexing: the terms of at most `maxIndexedTermBytes`, each handed over
    /// in `scratch` (room for `maxIndexedTermBytes`; valid during the call), so no array is made
    /// per term.
    @inlinable
    public static func forEachIndexedTerm(_ text: UnsafeBufferPointer<UInt8>, scratch: UnsafeMutablePointer<UInt8>,
                                          _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var length = 0
        for byte in text {
            if isTermByte(byte) {
                if length < maxIndexedTermBytes { scratch[length] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
                length += 1
            } else if length > 0 {
                if length <= maxIndexedTermBytes { body(UnsafeBufferPointer(start: scratch, count: length)) }
                length = 0
            }
        }
        if length > 0, length <= maxIndexedTermBytes { body(UnsafeBufferPointer(start: scratch, count: length)) }
    }

    /// Calls `body` with each term (lowercased) in order, repeats included.
    public static func forEachTerm(_ text: ArraySlice<UInt8>, _ body: ([UInt8]) -> Void) {
        var current: [UInt8] = []
        for byte in text {
            if isTermByte(byte) {
                current.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
            } else if !current.isEmpty {
                body(current)
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { body(current) }
    }
}

/// What a block's min/max statistics allow, shared by every format's pruning.
public enum StatisticsBounds {
    /// false when no value in [lower, upper] can satisfy `value op constant`; nil when the
    /// bounds and the constant cannot be compared (keep the block).
    public static func mayMatch(_ op: ComparisonOperator, lower: ScalarValue, upper: ScalarValue, constant: ScalarValue) -> Bool? {
        guard let cLo = ScalarOrder.compare(lower, constant), let cHi = ScalarOrder.compare(upper, constant) else { return nil }
        switch op {
        case .equal: return cLo <= 0 && cHi >= 0
        case .notEqual: return !(cLo == 0 && cHi == 0)
        case .less: return cLo < 0
        case .lessOrEqual: return cLo <= 0
        case .greater: return cHi > 0
        case .greaterOrEqual: return cHi >= 0
        }
    }

    /// false when no string in [lower, upper] can start with `prefix`: strings with the prefix
    /// lie in [p, p + 0xFF...), so the block must reach p and start at or below it (or with it).
    public static func prefixMayMatch(lower: String, upper: String, prefix: String) -> Bool {
        let p = Array(prefix.utf8)
        let reaches = !Array(upper.utf8).lexicographicallyPrecedes(p)
        let starts = Array(lower.utf8).starts(with: p) || Array(lower.utf8).lexicographicallyPrecedes(p)
        return reaches && starts
    }
}

extension BlockPredicate: CustomStringConvertible {
    /// As EXPLAIN prints it: `status == 500 and has(msg, "timeout")`.
    public var description: String {
        func value(_ v: ScalarValue) -> String {
            switch v {
            case .string(let s): JSONText.quote(s)
            case .timestamp(let t): TimeText.rfc3339(t)
            default: JSONValue.render(v)
            }
        }
        switch self {
        case .alwaysTrue: return "nothing (every block)"
        case .and(let parts): return parts.map { $0.nested }.joined(separator: " and ")
        case .or(let parts): return parts.map { $0.nested }.joined(separator: " or ")
        case .not(let inner): return "not(\(inner))"
        case .timeRange(let column, let range):
            return "\(column) in [\(range.lowerNanos == .min ? "-inf" : TimeText.rfc3339(range.lowerNanos)), \(range.upperNanos == .max ? "+inf" : TimeText.rfc3339(range.upperNanos))]"
        case .compare(let column, let op, let constant):
            let symbol = ["==", "!=", "<", "<=", ">", ">="][Int(op.rawValue)]
            return "\(column) \(symbol) \(value(constant))"
        case .inSet(let column, let values): return "\(column) in (\(values.map(value).joined(separator: ", ")))"
        case .hasTerm(let column, let term): return "has(\(column), \(JSONText.quote(term)))"
        case .prefix(let column, let prefix): return "starts_with(\(column), \(JSONText.quote(prefix)))"
        case .pathExists(let column): return "exists(\(column))"
        }
    }

    var nested: String {
        switch self {
        case .and, .or: "(\(description))"
        default: description
        }
    }
}
