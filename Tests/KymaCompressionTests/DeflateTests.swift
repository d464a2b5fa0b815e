// Raw deflate against Python's zlib (wbits=-15, the Avro "deflate" codec): both directions, and
// damaged streams are typed errors.

import KymaCompression
import KymaTestSupport
import Testing

@Suite("Raw deflate")
struct DeflateTests {
    @Test func agreesWithPythonZlibBothWays() throws {
        var g = SplitMix64(seed: 7)
        let text = (0..<20_000).map { _ in UInt8(97 + g.next() % 6) }
        let ours = try Deflate.deflateRaw(text)
        #expect(ours.count < text.count / 2)
        #expect(try Deflate.inflateRaw(ours) == text)
        // Python decompresses ours and compresses the same bytes for us.
        let printed = try PythonScript.run("""
            import sys, zlib
            ours, text = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
            d = zlib.decompressobj(-15)
            assert d.decompress(ours) == text
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            print((c.compress(text) + c.flush()).hex())
            """, [ours.map { String(format: "%02x", $0) }.joined(), text.map { String(format: "%02x", $0) }.joined()])
        let hex = Array(printed.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        let theirs = stride(from: 0, to: hex.count - 1, by: 2).map { UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)! }
        #expect(try Deflate.inflateRaw(theirs) == text)
    }

    @Test func damagedStreamsAreTypedErrors() throws {
        let packed = try Deflate.deflateRaw(Array(repeating: 7, count: 5000) + Array(0..<255))
        #expect(throws: CompressionError.self) { try Deflate.inflateRaw(Array(packed.prefix(packed.count / 2))) }
        #expect(throws: CompressionError.self) { try Deflate.inflateRaw([0xFF, 0xFF, 0xFF, 0x00]) }
        #expect(throws: CompressionError.self) { try Deflate.inflateRaw(packed, limit: 100) }
    }
}
