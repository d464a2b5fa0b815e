// aws-chunked bodies: the AWS documentation's signed example ("Signature Calculations for the
// Authorization Header: Transferring Payload in Multiple Chunks": 66,560 bytes of 'a' in a
// 64 KiB chunk and a 1 KiB chunk, seed signature and chunk signatures as published), unsigned
// chunks with a checksum trailer as botocore sends them, and malformed bodies.

import KymaCore
import KymaS3
import Testing

@Suite struct AWSChunkedTests {
    static let claim = SigV4Claim(accessKey: "AKIAIOSFODNN7EXAMPLE", date: "20130524", region: "us-east-1", service: "s3",
                                  signedHeaders: [], signature: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
                                  timestamp: "20130524T000000Z", expires: nil)
    static let signatures = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                             "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                             "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]

    static func body(sizes: [Int], signatures: [String]?) -> [UInt8] {
        var out: [UInt8] = []
        for (i, size) in sizes.enumerated() {
            var header = String(size, radix: 16)
            if let signatures { header += ";chunk-signature=" + signatures[i] }
            out += Array((header + "\r\n").utf8) + Array(repeating: UInt8(ascii: "a"), count: size) + Array("\r\n".utf8)
        }
        return out
    }

    var chain: AWSChunked.Chain {
        AWSChunked.Chain(claim: Self.claim, key: SigV4.signingKey(secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", claim: Self.claim),
                         seed: Self.claim.signature)
    }

    @Test func signedChunksOfTheDocumentationExample() throws {
        let body = Self.body(sizes: [65536, 1024, 0], signatures: Self.signatures)
        #expect(body.count == 66824)
        let decoded = try AWSChunked.decode(body, chain: chain, decodedLength: 66560)
        #expect(decoded.payload == Array(repeating: UInt8(ascii: "a"), count: 66560))
        #expect(decoded.trailers.isEmpty)
    }

    @Test func aChunkSignatureOutOfChainIsRejected() {
        // The two data chunks' signatures swapped: each is a valid signature, not of this link.
        let swapped = [Self.signatures[1], Self.signatures[0], Self.signatures[2]]
        #expect(throws: S3Error.self) { try AWSChunked.decode(Self.body(sizes: [65536, 1024, 0], signatures: swapped), chain: chain, decodedLength: nil) }
        var altered = Self.body(sizes: [65536, 1024, 0], signatures: Self.signatures)
        altered[200] = UInt8(ascii: "b")
        #expect(throws: S3Error.self) { try AWSChunked.decode(altered, chain: chain, decodedLength: nil) }
    }

    @Test func unsignedChunksWithATrailer() throws {
        var body = Array("5\r\nhello\r\n6\r\n world\r\n0\r\n".utf8)
        body += Array("x-amz-checksum-crc32:DUoRhQ==\r\n\r\n".utf8)
        let decoded = try AWSChunked.decode(body, chain: nil, decodedLength: 11)
        #expect(decoded.payload == Array("hello world".utf8))
        #expect(decoded.trailers == ["x-amz-checksum-crc32": "DUoRhQ=="])
        #expect(try S3Checksum.verify(decoded.payload, headers: [:], trailers: decoded.trailers)?.0 == .crc32)
    }

    @Test func malformedBodies() {
        #expect(throws: S3Error.self) { try AWSChunked.decode(Array("zz\r\nhello\r\n0\r\n\r\n".utf8), chain: nil, decodedLength: nil) }
        #expect(throws: S3Error.self) { try AWSChunked.decode(Array("10\r\nhello\r\n".utf8), chain: nil, decodedLength: nil) }
        #expect(throws: S3Error.self) { try AWSChunked.decode(Array("5\r\nhello".utf8), chain: nil, decodedLength: nil) }
        // The decoded length is a promise the chunks must keep.
        #expect(throws: S3Error.self) { try AWSChunked.decode(Array("5\r\nhello\r\n0\r\n\r\n".utf8), chain: nil, decodedLength: 6) }
    }
}
