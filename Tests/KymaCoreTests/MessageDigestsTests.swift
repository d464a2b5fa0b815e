// MD5, SHA-1, HMAC-SHA256 and CRC-64/NVME against values computed by Python's hashlib and hmac
// (MD5, SHA-1, HMAC) and the CRC catalogue's check value (CRC-64/NVME over "123456789").

import KymaCore
import Testing

@Suite struct MessageDigestsTests {
    static let fox = Array("The quick brown fox jumps over the lazy dog".utf8)
    /// bytes(range(256)) * 5: crosses several 64-byte blocks and the padding boundary.
    static let ramp = Array((0..<1280).map { UInt8($0 % 256) })

    @Test func md5MatchesHashlib() {
        #expect(Hex.encode(MD5.digest([])) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Hex.encode(MD5.digest(Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(Hex.encode(MD5.digest(Self.fox)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(Hex.encode(MD5.digest(Self.ramp)) == "82829f1f3f2bb0f18b25f278e5bba8bd")
    }

    @Test func sha1MatchesHashlib() {
        #expect(Hex.encode(SHA1.digest([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(Hex.encode(SHA1.digest(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(Hex.encode(SHA1.digest(Self.fox)) == "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12")
        #expect(Hex.encode(SHA1.digest(Self.ramp)) == "e37a04cb2353309f5cff4ee036cfb91a5e31cefd")
    }

    @Test func hmacSHA256MatchesPythonHmac() {
        #expect(Hex.encode(HMACSHA256.authenticate(Self.fox, key: Array("key".utf8)))
            == "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        // A key longer than the block is hashed first.
        #expect(Hex.encode(HMACSHA256.authenticate(Array("msg".utf8), key: Array(repeating: UInt8(ascii: "k"), count: 100)))
            == "bd56a1782c2830e8abc6ed866a57a1230661e650b84c62f7ee3accc5fa5af491")
    }

    @Test func crc64NVMECheckValue() {
        #expect(CRC64NVME.checksum(Array("123456789".utf8)) == 0xAE8B_1486_0A79_9888)
        #expect(CRC64NVME.checksum([]) == 0)
    }

    @Test func hexRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7F, 0x80, 0xAB, 0xFF]
        #expect(Hex.encode(bytes) == "00017f80abff")
    }
}
