// The indexer's tokenizer against the query side's: `forEachIndexedTerm` hands over exactly the
// terms `forEachTerm` finds that are short enough to index, in order — over random bytes with
// upper case, digits, punctuation, non-ASCII and runs around the length limit.

import KymaFormat
import KymaTestSupport
import Testing

@Suite struct TokenizerTests {
    @Test func indexedTermsAreTheShortTermsInOrder() {
        var g = SplitMix64(seed: 41)
        let alphabet = Array("aZ9 .-_\u{e9}x".utf8)
        let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: Tokenizer.maxIndexedTermBytes)
        defer { scratch.deallocate() }
        for round in 0..<400 {
            var text: [UInt8] = []
            for _ in 0..<Int(g.next() % 300) {
                // Now and then a run right at the limit, or just past it.
                if g.next() % 50 == 0 {
                    text += [UInt8](repeating: UInt8(ascii: "Q"), count: Tokenizer.maxIndexedTermBytes - 1 + Int(g.next() % 3))
                } else {
                    text.append(alphabet[Int(g.next() % UInt64(alphabet.count))])
                }
            }
            var expected: [[UInt8]] = []
            Tokenizer.forEachTerm(text[...]) { if $0.count <= Tokenizer.maxIndexedTermBytes { expected.append($0) } }
            var got: [[UInt8]] = []
            text.withUnsafeBufferPointer { Tokenizer.forEachIndexedTerm($0, scratch: scratch) { got.append(Array($0)) } }
            #expect(got == expected, "round \(round)")
        }
    }
}
