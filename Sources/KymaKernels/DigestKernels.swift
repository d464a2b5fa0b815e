// SHA-256 and MD5 over the C block kernels (SHA extensions when the CPU has them): the hashes of
// S3 payloads and ETags, where bytes arrive by the hundred megabytes. KymaCore's SHA256 and MD5
// are the scalar references these are tested against, and serve short inputs elsewhere.

import CKymaKernels

public enum DigestKernels {
    /// Whether SHA-256 runs on the SHA extensions here.
    public static var sha256UsesExtensions: Bool { kyma_sha256_ni_available() == 1 }

    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] { sha256(bytes, portable: false) }

    /// SHA-256 on the scalar C rounds, as a CPU without the extensions runs it (its tests run
    /// both paths on any machine).
    public static func sha256Portable(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { sha256($0, portable: true) } }

    static func sha256(_ bytes: UnsafeRawBufferPointer, portable: Bool) -> [UInt8] {
        var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        digest(bytes, bigEndianLength: true) { blocks, count in
            if portable { kyma_sha256_blocks_scalar(&state, blocks, count) } else { kyma_sha256_blocks(&state, blocks, count) }
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }

    public static func md5(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var state: [UInt32] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
        digest(bytes, bigEndianLength: false) { blocks, count in kyma_md5_blocks(&state, blocks, count) }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * UInt32($0))) } }
    }

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { sha256($0) } }
    public static func md5(_ bytes: [UInt8]) -> [UInt8] { bytes.withUnsafeBytes { md5($0) } }

    /// 64 lowercase hex digits.
    public static func sha256Hex(_ bytes: [UInt8]) -> String { hex(sha256(bytes)) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
    }

    /// The whole blocks in place, then the tail with the padding both digests use: 0x80, zeros,
    /// and the bit length in the last 8 bytes (big-endian for SHA-256, little-endian for MD5).
    static func digest(_ bytes: UnsafeRawBufferPointer, bigEndianLength: Bool,
                       _ compress: (UnsafePointer<UInt8>, Int) -> Void) {
        let whole = bytes.count / 64
        if whole > 0, let base = bytes.baseAddress { compress(base.assumingMemoryBound(to: UInt8.self), whole) }
        var tail = Array(bytes[(whole * 64)...])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        let bits = UInt64(bytes.count) &* 8
        for i in 0..<8 { tail.append(UInt8(truncatingIfNeeded: bits >> (bigEndianLength ? 56 - 8 * UInt64(i) : 8 * UInt64(i)))) }
        tail.withUnsafeBufferPointer { compress($0.baseAddress!, tail.count / 64) }
    }
}
