// Text relevance for hybrid search: an in-memory inverted index over the records' text with
// BM25 (k1 = 1.2, b = 0.75, Lucene's idf), terms cut by the same Kusto tokenizer as TLM's
// inverted index; and the fusion of a text ranking with a vector ranking.

import KymaCore
import KymaExec
import KymaFormat
import KymaIndex
import KymaIngest

struct TextIndex {
    private var postings: [[UInt8]: [UInt32: Int]] = [:]
    private var lengths: [UInt32: Int] = [:]
    private var totalLength = 0

    static let k1 = 1.2, b = 0.75

    mutating func add(_ position: UInt32, _ text: String?) {
        guard let text else { return }
        var length = 0
        Tokenizer.forEachTerm(Array(text.utf8)[...]) { term in
            postings[term, default: [:]][position, default: 0] += 1
            length += 1
        }
        lengths[position] = length
        totalLength += length
    }

    mutating func remove(_ position: UInt32, _ text: String?) {
        guard let text, let length = lengths.removeValue(forKey: position) else { return }
        totalLength -= length
        for term in Tokenizer.terms(Array(text.utf8)) {
            postings[term]?.removeValue(forKey: position)
            if postings[term]?.isEmpty == true { postings.removeValue(forKey: term) }
        }
    }

    /// The best `limit` documents for the query's terms by BM25, highest first (ties by position).
    func bm25(_ query: String, limit: Int, live: Int) -> [(UInt32, Double)] {
        let documents = Double(max(1, lengths.count))
        let averageLength = lengths.isEmpty ? 1 : Double(totalLength) / Double(lengths.count)
        var scores: [UInt32: Double] = [:]
        for term in Tokenizer.terms(Array(query.utf8)) {
            guard let list = postings[term] else { continue }
            let n = Double(list.count)
            let idf = Self.idf(documents: documents, containing: n)
            for (position, frequency) in list {
                let tf = Double(frequency)
                let length = Double(lengths[position] ?? 0)
                scores[position, default: 0] += idf * tf * (Self.k1 + 1) / (tf + Self.k1 * (1 - Self.b + Self.b * length / averageLength))
            }
        }
        return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(limit).map { ($0.key, $0.value) }
    }

    /// Lucene's idf: ln(1 + (N - n + 0.5) / (n + 0.5)), never negative.
    static func idf(documents: Double, containing n: Double) -> Double {
        (1 + (documents - n + 0.5) / (n + 0.5)).log
    }
}

extension Double {
    /// Natural logarithm (the executor's implementation, without Foundation).
    var log: Double { NaturalLog.ln(self) }
}

enum HybridFusion {
    /// Fuses a vector ranking (distances, lower is better) with a text ranking (BM25, higher is
    /// better) into one list, best first; ties by position.
    static func fuse(vector: [(UInt32, Double)], text: [(UInt32, Double)], fusion: Fusion) -> [(UInt32, Double)] {
        var scores: [UInt32: Double] = [:]
        switch fusion {
        case .reciprocalRank(let k):
            for (rank, item) in vector.enumerated() { scores[item.0, default: 0] += 1 / Double(k + rank + 1) }
            for (rank, item) in text.enumerated() { scores[item.0, default: 0] += 1 / Double(k + rank + 1) }
        case .weighted(let weight):
            // Similarity is the negated distance; both lists min-max normalised to [0, 1].
            for (id, value) in normalise(vector.map { ($0.0, -$0.1) }) { scores[id, default: 0] += weight * value }
            for (id, value) in normalise(text) { scores[id, default: 0] += (1 - weight) * value }
        }
        return scores.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func normalise(_ items: [(UInt32, Double)]) -> [(UInt32, Double)] {
        guard let lo = items.map(\.1).min(), let hi = items.map(\.1).max() else { return [] }
        return items.map { ($0.0, hi > lo ? ($0.1 - lo) / (hi - lo) : 1) }
    }
}

/// Payload fields as a column batch, so filters run through the executor's evaluator.
enum PayloadBatch {
    static func make(_ rows: [[String: ScalarValue]]) -> ColumnBatch {
        var names: [String] = []
        var seen = Set<String>()
        for row in rows { for name in row.keys.sorted() where seen.insert(name).inserted { names.append(name) } }
        var columns: [(String, Column)] = []
        for name in names {
            let type = ColumnTyping.commonType(rows.map { $0[name] ?? .null })
            var builder = ColumnBuilder(type ?? .string)
            for row in rows {
                let value = row[name] ?? .null
                let coerced: ScalarValue
                switch (value, type ?? .string) {
                case (.int64(let v), .float64): coerced = .float64(Double(v))
                case (.null, _): coerced = .null
                case (_, .string) where value.dataType != .string: coerced = .string(PayloadJSON.scalar(value))
                default: coerced = value
                }
                try? builder.append(coerced)  // coerced to the column's type above
            }
            columns.append((name, builder.finish()))
        }
        return (try? ColumnBatch(rowCount: rows.count, columns: columns)) ?? ColumnBatch(rowCount: rows.count)
    }
}

/// Payload fields as a flat JSON object of scalars.
public enum PayloadJSON {
    public static func encode(_ fields: [String: ScalarValue]) -> String {
        "{" + fields.keys.sorted().map { JSONText.quote($0) + ":" + scalar(fields[$0] ?? .null, quoted: true) }.joined(separator: ",") + "}"
    }

    static func scalar(_ value: ScalarValue, quoted: Bool = false) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int64(let v): return String(v)
        case .float64(let v): return v.isFinite ? String(v) : "null"
        case .timestamp(let v): return String(v)
        case .string(let s): return quoted ? JSONText.quote(s) : s
        case .binary(let b): return quoted ? JSONText.quote(String(decoding: b, as: UTF8.self)) : String(decoding: b, as: UTF8.self)
        }
    }

    /// Parses a JSON object; nested objects flatten to dotted names, arrays stay JSON text.
    public static func decode(_ text: String) -> [String: ScalarValue]? {
        guard let pairs = try? JSONLineParser.flatten(Array(text.utf8)[...]) else { return nil }
        var fields: [String: ScalarValue] = [:]
        for (name, value) in pairs { fields[name] = value }
        return fields
    }
}
