// The digest kernels against KymaCore's Swift SHA256 and MD5 (themselves checked against
// hashlib's values): every length around the block and padding boundaries, and long random
// inputs; the SHA-extension path and the portable C path both.

import KymaCore
import KymaKernels
import Testing

@Suite("DigestKernels")
struct DigestKernelTests {
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test func everyLengthUpToThreeBlocksAndLongInputs() {
        for count in Array(0...200) + [1000, 4096, 65_535, 1_000_003] {
            let input = Self.bytes(count, seed: UInt64(count))
            #expect(DigestKernels.sha256(input) == SHA256.digest(input), "sha256 of \(count) bytes")
            #expect(DigestKernels.sha256Portable(input) == SHA256.digest(input), "portable sha256 of \(count) bytes")
            #expect(DigestKernels.md5(input) == MD5.digest(input), "md5 of \(count) bytes")
        }
        #expect(DigestKernels.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
