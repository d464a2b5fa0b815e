// Every codec round-trips, and damaged input is a typed error, never a crash.

import Testing
import KymaCompression

@Suite("Codec")
struct CodecTests {
    static func sample(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        // Compressible: a small alphabet with runs, like log text.
        return (0..<count).map { i in i % 97 < 60 ? UInt8(ascii: "a") + UInt8(i % 7) : UInt8.random(in: 0...255, using: &generator) }
    }

    @Test(arguments: Codec.allCases)
    func roundTrips(codec: Codec) throws {
        for size in [0, 1, 17, 4096, 300_000] {
            let input = Self.sample(size)
            let packed = try codec.compress(input)
            #expect(try codec.decompress(packed, uncompressedSize: size) == input)
            if codec != .none && size >= 4096 { #expect(packed.count < size, "\(codec) compresses text-like data") }
        }
        let high = try codec.compress(Self.sample(50_000), level: 9)
        #expect(try codec.decompress(high, uncompressedSize: 50_000).count == 50_000)
    }

    @Test(arguments: [Codec.lz4, .zstd])
    func damagedInputIsATypedError(codec: Codec) throws {
        let input = Self.sample(20_000)
        let packed = try codec.compress(input)
        #expect(throws: CompressionError.self) { try codec.decompress(packed, uncompressedSize: input.count + 1) }
        #expect(throws: CompressionError.self) { try codec.decompress(Array(packed.prefix(packed.count / 2)), uncompressedSize: input.count) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            var damaged = packed
            let position = Int.random(in: 0..<damaged.count, using: &generator)
            damaged[position] ^= UInt8.random(in: 1...255, using: &generator)
            // Either an error or exactly the right length; never a crash or an over-read.
            if let output = try? codec.decompress(damaged, uncompressedSize: input.count) { #expect(output.count == input.count) }
        }
    }

    @Test func codecsHaveStableNamesAndNumbers() {
        #expect(Codec.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(Codec(name: "zstd") == .zstd && Codec(name: "lz4") == .lz4 && Codec(name: "none") == Codec.none && Codec(name: "gzip") == nil)
    }
}
