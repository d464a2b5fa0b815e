// Snappy against pyarrow's snappy (Google's library): pyarrow decompresses what Kyma compresses
// and the other way round, over text, runs, random bytes and sizes around the 64 KiB fragment;
// damaged blocks are typed errors. Gzip against Python's gzip module.

import Foundation
import KymaCompression
import KymaTestSupport
import Testing

/// Inputs that reach every element form: long literals, short and long copies, overlapping runs,
/// incompressible bytes, fragment edges.
private func samples() -> [[UInt8]] {
    var g = SplitMix64(seed: 11)
    let words = ["GET", "/api/v1/items", "200", "user=", "latency_ms", "{\"id\":", "error", " "]
    var text: [UInt8] = []
    while text.count < 150_000 { text += Array(words[Int(g.next() % UInt64(words.count))].utf8) }
    let random = (0..<70_000).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    return [[], [42], Array("abcd".utf8), Array(repeating: 7, count: 100_000), text, random,
            Array(text.prefix(65_536)), Array(text.prefix(65_537)), Array(random.prefix(61)) + Array(repeating: 1, count: 70) + Array(random.prefix(300))]
}

@Suite("Snappy and gzip")
struct SnappyTests {
    @Test func roundTripsAndShrinksRedundantInput() throws {
        for input in samples() {
            let packed = Snappy.compress(input)
            #expect(try Snappy.decompress(packed) == input)
            #expect(try Snappy.decompress(packed, expectedSize: input.count) == input)
        }
        let runs = Array(repeating: UInt8(7), count: 100_000)
        #expect(Snappy.compress(runs).count < 6_000, "a run is copies of 64 bytes")
    }

    @Test func agreesWithPyarrowsSnappyBothWays() throws {
        let directory = TestServices.makeTemporaryDirectory("kyma-snappy")
        let inputs = samples()
        for (i, input) in inputs.enumerated() {
            try Data(input).write(to: URL(fileURLWithPath: "\(directory)/\(i).raw"))
            try Data(Snappy.compress(input)).write(to: URL(fileURLWithPath: "\(directory)/\(i).ours"))
        }
        // pyarrow expands ours and compresses the same bytes for us.
        _ = try PythonScript.run("""
            import sys, pyarrow as pa
            d, n = sys.argv[1], int(sys.argv[2])
            for i in range(n):
                text, ours = open(f"{d}/{i}.raw", "rb").read(), open(f"{d}/{i}.ours", "rb").read()
                assert pa.decompress(ours, decompressed_size=len(text), codec="snappy", asbytes=True) == text, i
                open(f"{d}/{i}.theirs", "wb").write(pa.compress(text, codec="snappy", asbytes=True))
            """, [directory, String(inputs.count)])
        for (i, input) in inputs.enumerated() {
            let theirs = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(i).theirs")))
            #expect(try Snappy.decompress(theirs) == input, "Kyma expands what Google's snappy wrote (\(input.count) bytes)")
        }
    }

    @Test func damagedBlocksAreTypedErrors() throws {
        let input = samples()[4]
        let packed = Snappy.compress(input)
        #expect(throws: CompressionError.self) { try Snappy.decompress(Array(packed.prefix(packed.count / 2))) }
        #expect(throws: CompressionError.self) { try Snappy.decompress(packed, expectedSize: input.count + 1) }
        #expect(throws: CompressionError.self) { try Snappy.decompress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]) }
        // A copy reaching before the start of the output.
        #expect(throws: CompressionError.self) { try Snappy.decompress([8, 0b0000_0001, 5]) }
        // Random corruption: an error or some bytes, never a crash.
        var g = SplitMix64(seed: 3)
        for _ in 0..<500 {
            var damaged = packed
            damaged[Int(g.next() % UInt64(damaged.count))] ^= UInt8(1 + g.next() % 255)
            _ = try? Snappy.decompress(damaged)
        }
    }

    @Test func gzipAgreesWithPythonBothWays() throws {
        let directory = TestServices.makeTemporaryDirectory("kyma-gzip")
        let text = samples()[4]
        let ours = try Deflate.gzip(text)
        #expect(ours.prefix(2) == [0x1F, 0x8B], "a gzip member starts with its magic")
        try Data(text).write(to: URL(fileURLWithPath: directory + "/raw"))
        try Data(ours).write(to: URL(fileURLWithPath: directory + "/ours"))
        _ = try PythonScript.run("""
            import sys, gzip
            d = sys.argv[1]
            text, ours = open(d + "/raw", "rb").read(), open(d + "/ours", "rb").read()
            assert gzip.decompress(ours) == text
            open(d + "/theirs", "wb").write(gzip.compress(text))
            """, [directory])
        #expect(try Deflate.gunzip([UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/theirs")))) == text)
        var damaged = ours
        damaged[damaged.count - 6] ^= 0xFF  // the trailer's CRC-32
        #expect(throws: CompressionError.self) { try Deflate.gunzip(damaged) }
    }
}
