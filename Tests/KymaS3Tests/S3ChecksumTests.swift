// The integrity headers: each algorithm's value for "123456789" (computed by Python's zlib and
// hashlib, and the CRC catalogue's check values for CRC-32C and CRC-64/NVME), verification of
// headers and trailers, and the errors clients expect for wrong or malformed values.

import KymaS3
import Testing

@Suite struct S3ChecksumTests {
    static let message = Array("123456789".utf8)
    static let expected: [S3Checksum: String] = [
        .crc32: "y/Q5Jg==", .crc32c: "4waSgw==", .crc64nvme: "rosUhgp5mIg=",
        .sha1: "98O8HYCOBHMq32eZZczDTKeuNEE=", .sha256: "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=",
    ]

    @Test(arguments: S3Checksum.allCases) func valueMatchesReference(_ algorithm: S3Checksum) {
        #expect(algorithm.value(Self.message) == Self.expected[algorithm])
    }

    @Test func verifiesEveryHeaderAndReturnsTheFirst() throws {
        let headers = ["content-md5": "JfnnlDI7RTiF9RgfG2JNCw==", "x-amz-checksum-sha256": Self.expected[.sha256]!]
        let carried = try S3Checksum.verify(Self.message, headers: headers, trailers: ["x-amz-checksum-crc32": Self.expected[.crc32]!])
        #expect(carried?.0 == .crc32)
        #expect(try S3Checksum.verify(Self.message, headers: [:], trailers: [:]) == nil)
    }

    @Test func mismatchesAreBadDigest() {
        for headers in [["content-md5": "AAAAAAAAAAAAAAAAAAAAAA=="], ["x-amz-checksum-crc32c": Self.expected[.crc32]!]] {
            #expect { try S3Checksum.verify(Self.message, headers: headers, trailers: [:]) } throws: { ($0 as? S3Error)?.code == .badDigest }
        }
        #expect { try S3Checksum.verify(Self.message, headers: ["content-md5": "not base64!"], trailers: [:]) } throws: {
            ($0 as? S3Error)?.code == .invalidDigest
        }
        #expect { try S3Checksum.verify(Self.message, headers: ["x-amz-sdk-checksum-algorithm": "MD4"], trailers: [:]) } throws: {
            ($0 as? S3Error)?.code == .invalidRequest
        }
    }
}
