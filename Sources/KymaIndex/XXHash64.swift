// XXH64 (seed 0 by default), the hash of Parquet's and TLM's Bloom filters.

public enum XXHash64 {
    static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    public static func hash(_ input: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = input.count
        var index = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            while index + 32 <= count {
                v1 = round(v1, input.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian)
                v2 = round(v2, input.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self).littleEndian)
                v3 = round(v3, input.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self).littleEndian)
                v4 = round(v4, input.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self).littleEndian)
                index += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt64(count)
        while index + 8 <= count {
            h ^= round(0, input.loadUnaligned(fromByteOffset: index, as: UInt64.self).littleEndian)
            h = rotl(h, 27) &* prime1 &+ prime4
            index += 8
        }
        if index + 4 <= count {
            h ^= UInt64(input.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian) &* prime1
            h = rotl(h, 23) &* prime2 &+ prime3
            index += 4
        }
        while index < count {
            h ^= UInt64(input[index]) &* prime5
            h = rotl(h, 11) &* prime1
            index += 1
        }
        h ^= h >> 33
        h &*= prime2
        h ^= h >> 29
        h &*= prime3
        h ^= h >> 32
        return h
    }

    @inline(__always) static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }

    @inline(__always) static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotl(accumulator &+ input &* prime2, 31) &* prime1
    }

    @inline(__always) static func merge(_ accumulator: UInt64, _ value: UInt64) -> UInt64 {
        (accumulator ^ round(0, value)) &* prime1 &+ prime4
    }
}
