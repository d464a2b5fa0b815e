// KymaIndex: the indexes segment formats embed for pruning. This file: the split-block Bloom
// filter of the Parquet specification (BloomFilter.md), so TLM's and Parquet's filters are the
// same structure and the same false-positive arithmetic.

/// A split-block Bloom filter: blocks of 256 bits (eight 32-bit words); a value sets one bit in
/// each word of one block. Hashes are XXH64 (seed 0) of the value's plain encoding.
///
/// Layout on disk: the words, little-endian, block after block (`numBytes` = 32 x blocks).
public struct SplitBlockBloomFilter: Sendable, Hashable {
    public static let bytesPerBlock = 32
    public static let minimumBytes = 32
    public static let maximumBytes = 128 << 20

    @usableFromInline
    static let salt: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x47b6_137b, 0x4497_4d91, 0x8824_ad5b, 0xa2b7_289d, 0x7054_95c7, 0x2df1_424b, 0x9efc_4947, 0x5c6b_fb31)

    /// The filter's words, 8 per block.
    public private(set) var words: [UInt32]

    public var blockCount: Int { words.count / 8 }
    public var byteCount: Int { words.count * 4 }

    /// An empty filter of `byteCount` bytes, rounded up to a power of two within the limits.
    /// A filter of `byteCount` bytes rounded up to a power of two (Parquet's rule), or, with
    /// `powerOfTwo: false`, to a whole number of 32-byte blocks: the block index is a
    /// multiply-shift, so any block count works, and a power of two can waste up to half.
    public init(byteCount: Int, powerOfTwo: Bool = true) {
        var bytes = Self.minimumBytes
        if powerOfTwo {
            while bytes < byteCount && bytes < Self.maximumBytes { bytes <<= 1 }
        } else {
            bytes = min(Self.maximumBytes, max(Self.minimumBytes, (byteCount + 31) / 32 * 32))
        }
        words = [UInt32](repeating: 0, count: bytes / 4)
    }

    /// Rebuilds a filter from its words (as read from disk). Returns nil unless the count is a
    /// whole, non-zero number of blocks.
    public init?(words: [UInt32]) {
        guard !words.isEmpty, words.count % 8 == 0, words.count * 4 <= Self.maximumBytes else { return nil }
        self.words = words
    }

    /// The size for `distinctValues` insertions at false-positive rate `falsePositiveRate`,
    /// from the spec's formula m = -8 n / ln(1 - p^(1/8)) bits.
    public static func optimalByteCount(distinctValues: Int, falsePositiveRate: Double) -> Int {
        let p = min(max(falsePositiveRate, 1e-9), 0.5)
        let bits = -8.0 * Double(max(distinctValues, 1)) / log1pApproximation(-pow8th(p))
        return Int(min(Double(maximumBytes), max(Double(minimumBytes), (bits / 8).rounded(.up))))
    }

    public mutating func insert(hash: UInt64) {
        let block = blockIndex(hash)
        let key = UInt32(truncatingIfNeeded: hash)
        words.withUnsafeMutableBufferPointer { w in
            let base = block * 8
            w[base + 0] |= 1 << ((key &* Self.salt.0) >> 27)
            w[base + 1] |= 1 << ((key &* Self.salt.1) >> 27)
            w[base + 2] |= 1 << ((key &* Self.salt.2) >> 27)
            w[base + 3] |= 1 << ((key &* Self.salt.3) >> 27)
            w[base + 4] |= 1 << ((key &* Self.salt.4) >> 27)
            w[base + 5] |= 1 << ((key &* Self.salt.5) >> 27)
            w[base + 6] |= 1 << ((key &* Self.salt.6) >> 27)
            w[base + 7] |= 1 << ((key &* Self.salt.7) >> 27)
        }
    }

    /// False means the value was certainly never inserted.
    public func mightContain(hash: UInt64) -> Bool {
        let block = blockIndex(hash)
        let key = UInt32(truncatingIfNeeded: hash)
        return words.withUnsafeBufferPointer { w in
            let base = block * 8
            var all: UInt32 = ~0
            all &= w[base + 0] >> ((key &* Self.salt.0) >> 27)
            all &= w[base + 1] >> ((key &* Self.salt.1) >> 27)
            all &= w[base + 2] >> ((key &* Self.salt.2) >> 27)
            all &= w[base + 3] >> ((key &* Self.salt.3) >> 27)
            all &= w[base + 4] >> ((key &* Self.salt.4) >> 27)
            all &= w[base + 5] >> ((key &* Self.salt.5) >> 27)
            all &= w[base + 6] >> ((key &* Self.salt.6) >> 27)
            all &= w[base + 7] >> ((key &* Self.salt.7) >> 27)
            return all & 1 == 1
        }
    }

    public mutating func insert(_ bytes: [UInt8]) { insert(hash: XXHash64.hash(bytes)) }
    public func mightContain(_ bytes: [UInt8]) -> Bool { mightContain(hash: XXHash64.hash(bytes)) }

    /// Block `((hash >> 32) * blocks) >> 32`: the upper half of the hash picks the block.
    @inlinable
    func blockIndex(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(words.count / 8)) >> 32)
    }

    // p^(1/8) and ln(1 + x) without Foundation: Newton's method and a series are ample here.
    static func pow8th(_ p: Double) -> Double {
        var x = 0.5
        for _ in 0..<60 { x -= (x * x * x * x * x * x * x * x - p) / (8 * x * x * x * x * x * x * x) }
        return x
    }

    static func log1pApproximation(_ x: Double) -> Double {
        // ln(1 + x) for -1 < x < 0 via ln(y) = 2 atanh((y - 1) / (y + 1)).
        let y = 1 + x
        let z = (y - 1) / (y + 1)
        var term = z, sum = 0.0, n = 1.0
        while abs(term / n) > 1e-17 && n < 10_000 {
            sum += term / n
            term *= z * z
            n += 2
        }
        return 2 * sum
    }
}
