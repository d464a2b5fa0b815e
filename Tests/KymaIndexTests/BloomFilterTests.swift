// XXH64 against published vectors; the split-block Bloom filter has no false negatives and a
// measured false-positive rate within 2x of its target.

import Testing
import Foundation
import KymaIndex

@Suite("XXHash64")
struct XXHash64Tests {
    @Test func publishedVectors() {
        #expect(XXHash64.hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(XXHash64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXHash64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXHash64.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
    }
}

@Suite("SplitBlockBloomFilter")
struct SplitBlockBloomFilterTests {
    @Test(arguments: [0.01, 0.001, 0.05])
    func falsePositiveRateIsWithinTwiceTheTarget(target: Double) {
        let inserted = 20_000
        var filter = SplitBlockBloomFilter(byteCount: SplitBlockBloomFilter.optimalByteCount(distinctValues: inserted, falsePositiveRate: target))
        for i in 0..<inserted { filter.insert(Array("trace-\(i)".utf8)) }
        for i in 0..<inserted { #expect(filter.mightContain(Array("trace-\(i)".utf8)), "no false negatives") }
        let probes = 200_000
        var falsePositives = 0
        for i in 0..<probes where filter.mightContain(Array("absent-\(i)".utf8)) { falsePositives += 1 }
        let rate = Double(falsePositives) / Double(probes)
        #expect(rate <= 2 * target, "measured \(rate) for target \(target) with \(filter.byteCount) bytes")
    }

    @Test(arguments: [0.1, 0.01, 0.001, 0.0001])
    func sizingFollowsTheSpecFormula(target: Double) {
        // m = -8 n / ln(1 - p^(1/8)) bits, computed here with Foundation's libm (the filter uses
        // its own Foundation-free approximations).
        let n = 1_000_000
        let expectedBytes = (-8.0 * Double(n) / log(1 - pow(target, 1.0 / 8)) / 8).rounded(.up)
        let bytes = SplitBlockBloomFilter.optimalByteCount(distinctValues: n, falsePositiveRate: target)
        #expect(abs(Double(bytes) - expectedBytes) <= 1, "\(bytes) vs \(expectedBytes)")
    }

    @Test func sizesAreWholePowerOfTwoBlocks() {
        #expect(SplitBlockBloomFilter(byteCount: 1000).byteCount == 1024)
        #expect(SplitBlockBloomFilter(byteCount: 1).byteCount == 32)
        #expect(SplitBlockBloomFilter(words: [1, 2, 3]) == nil)
    }
}
