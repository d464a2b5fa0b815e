// The integrity headers of S3 uploads: Content-MD5 and the x-amz-checksum-* family (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256; base64 of the big-endian digest), which current botocore sends by
// default. Every one a request carries (in its headers or its aws-chunked trailer) is verified;
// the first is kept with the object and returned when a client asks (x-amz-checksum-mode).

import Foundation
import KymaCompression
import KymaCore
import KymaKernels

public enum S3Checksum: String, Sendable, CaseIterable {
    case crc32, crc32c, crc64nvme, sha1, sha256

    public var header: String { "x-amz-checksum-\(rawValue)" }

    /// The value of this checksum for `bytes`, base64 as S3 writes it.
    public func value(_ bytes: [UInt8]) -> String {
        func bigEndian<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        let digest: [UInt8] = switch self {
        case .crc32: bigEndian(CRC32.checksum(bytes))
        case .crc32c: bigEndian(CRC32C.checksum(bytes))
        case .crc64nvme: bigEndian(CRC64NVME.checksum(bytes))
        case .sha1: SHA1.digest(bytes)
        case .sha256: DigestKernels.sha256(bytes)
        }
        return Data(digest).base64EncodedString()
    }

    /// Checks every integrity header of `headers` (lowercased names) and `trailers` against
    /// `payload`; returns the x-amz-checksum the request carried, if any, as (algorithm, value).
    public static func verify(_ payload: [UInt8], headers: [String: String], trailers: [String: String]) throws(S3Error) -> (S3Checksum, String)? {
        if let md5 = headers["content-md5"] {
            guard let given = Data(base64Encoded: md5), given.count == 16 else {
                throw S3Error(.invalidDigest, "the Content-MD5 you specified is not valid")
            }
            guard Array(given) == DigestKernels.md5(payload) else { throw S3Error(.badDigest, "the Content-MD5 you specified did not match what we received") }
        }
        var carried: (S3Checksum, String)? = nil
        for algorithm in Self.allCases {
            guard let given = trailers[algorithm.header] ?? headers[algorithm.header] else { continue }
            guard Data(base64Encoded: given) != nil else { throw S3Error(.invalidRequest, "the value of \(algorithm.header) is not base64") }
            guard given == algorithm.value(payload) else {
                throw S3Error(.badDigest, "the \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum")
            }
            if carried == nil { carried = (algorithm, given) }
        }
        if let declared = headers["x-amz-sdk-checksum-algorithm"]?.lowercased(), S3Checksum(rawValue: declared) == nil {
            throw S3Error(.invalidRequest, "checksum algorithm '\(declared)' is not supported")
        }
        return carried
    }
}
