// The offline embedder: feature hashing of words and adjacent word pairs into a fixed number of
// signed buckets, sublinear term weights, L2-normalised. No model, no network, the same vector
// on every machine (FNV-1a, not Swift's per-process seeded Hasher). Texts sharing words get
// close vectors, so it exercises every path a learned model does; it knows no synonyms.

import Foundation

public struct HashingEmbedder: Embedder {
    public static let defaultDimension = 384

    public let width: Int

    public init(dimension: Int = HashingEmbedder.defaultDimension) {
        self.width = max(1, dimension)
    }

    public var dimension: Int? { width }
    public var name: String { "hashing-\(width)" }

    public func embed(_ texts: [String]) async throws(EmbeddingError) -> [[Float]] {
        texts.map(vector)
    }

    /// The vector of one text; all zeros only for a text without a word.
    public func vector(_ text: String) -> [Float] {
        let words = Self.words(text)
        var counts: [UInt64: Int] = [:]
        for (index, word) in words.enumerated() {
            counts[Self.fnv1a(word), default: 0] += 1
            if index > 0 { counts[Self.fnv1a(words[index - 1] + [0x20] + word), default: 0] += 1 }
        }
        var out = [Float](repeating: 0, count: width)
        for (hash, count) in counts {
            let bucket = Int(hash % UInt64(width))
            let sign: Float = (hash >> 63) == 0 ? 1 : -1
            out[bucket] += sign * (1 + Float(log(Double(count))))
        }
        let norm = out.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        if norm > 0 { for i in out.indices { out[i] /= norm } }
        return out
    }

    /// Lowercased ASCII letters and digits runs (other bytes separate words; UTF-8 letters
    /// beyond ASCII stay inside words as their bytes).
    static func words(_ text: String) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): current.append(byte + 32)
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), 0x80...: current.append(byte)
            default:
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }
}
