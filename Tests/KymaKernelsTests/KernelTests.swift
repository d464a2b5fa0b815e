// Every kernel against its scalar reference: every bit width, lengths that are not multiples of
// the vector or group width, and random data.

import Testing
import KymaKernels

func randomValues(count: Int, width: Int) -> [UInt64] {
    var generator = SystemRandomNumberGenerator()
    let mask: UInt64 = width == 64 ? ~0 : (1 << UInt64(width)) - 1
    return (0..<count).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) & mask }
}

let awkwardLengths = [0, 1, 7, 8, 31, 33, 63, 64, 65, 127, 1000, 4099]

@Suite("BitPacking")
struct BitPackingTests {
    @Test(arguments: Array(0...32))
    func unpack32MatchesTheReference(width: Int) {
        for count in awkwardLengths {
            let values = randomValues(count: count, width: width)
            var packed: [UInt8] = []
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
            #expect(packed.count == BitPacking.packedByteCount(count: count, width: width))
            #expect(BitPacking.unpackReference(packed, width: width, count: count) == values, "pack, width \(width), count \(count)")
            var out = [UInt32](repeating: 0xDEAD, count: count)
            packed.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { BitPacking.unpack32(raw, width: width, into: $0) } }
            #expect(out.map { UInt64($0) } == values, "unpack32 width \(width) count \(count)")
        }
    }

    @Test(arguments: Array(0...64))
    func unpack64MatchesTheReference(width: Int) {
        for count in awkwardLengths {
            let values = randomValues(count: count, width: width)
            var packed: [UInt8] = []
            values.withUnsafeBufferPointer { BitPacking.pack($0, width: width, into: &packed) }
            var out = [UInt64](repeating: 0, count: count)
            packed.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { BitPacking.unpack64(raw, width: width, into: $0) } }
            #expect(out == values, "unpack64 width \(width) count \(count)")
        }
    }

    @Test func packingAppendsAfterExistingBytes() {
        var packed: [UInt8] = [0xFF, 0xEE]
        [1, 2, 3].map(UInt64.init).withUnsafeBufferPointer { BitPacking.pack($0, width: 2, into: &packed) }
        #expect(packed == [0xFF, 0xEE, 0b0011_1001])
        #expect(BitPacking.width(of: 0) == 0 && BitPacking.width(of: 1) == 1 && BitPacking.width(of: 255) == 8 && BitPacking.width(of: .max) == 64)
    }
}

@Suite("Delta, gather, runs, predicates")
struct OtherKernelTests {
    @Test func prefixSumAndZigzag() {
        var generator = SystemRandomNumberGenerator()
        for count in awkwardLengths {
            let original = (0..<count).map { _ in Int64.random(in: -1_000_000...1_000_000, using: &generator) &* 1_000_000 }
            var deltas = original.indices.map { $0 == 0 ? 0 : original[$0] &- original[$0 - 1] }
            let zigzag = deltas.map(DeltaKernels.zigzagEncode)
            var decoded = zigzag
            decoded.withUnsafeMutableBufferPointer { DeltaKernels.zigzagDecode($0) }
            #expect(decoded.map { Int64(bitPattern: $0) } == deltas)
            deltas.withUnsafeMutableBufferPointer { DeltaKernels.prefixSum($0, first: original.first ?? 0) }
            #expect(deltas == original)
        }
        // Wrapping: extreme differences survive.
        var extremes: [Int64] = [Int64.max, Int64.min &- Int64.max]
        extremes.withUnsafeMutableBufferPointer { DeltaKernels.prefixSum($0, first: 0) }
        #expect(extremes == [Int64.max, Int64.min])
    }

    @Test func frameOfReference() {
        let offsets: [UInt64] = [0, 1, 250, 7]
        var out = [Int64](repeating: 0, count: 4)
        offsets.withUnsafeBufferPointer { o in out.withUnsafeMutableBufferPointer { DeltaKernels.addReference(o, reference: -100, into: $0) } }
        #expect(out == [-100, -99, 150, -93])
    }

    @Test func gatherRejectsCodesOutsideTheDictionary() {
        let dictionary: [Int64] = [10, 20, 30]
        var out = [Int64](repeating: 0, count: 4)
        let ok = [2, 0, 1, 2].map(UInt32.init).withUnsafeBufferPointer { codes in
            dictionary.withUnsafeBufferPointer { d in out.withUnsafeMutableBufferPointer { GatherKernels.gather(codes: codes, dictionary: d, into: $0) } }
        }
        #expect(ok && out == [30, 10, 20, 30])
        let bad = [0, 3].map(UInt32.init).withUnsafeBufferPointer { codes in
            dictionary.withUnsafeBufferPointer { d in out.withUnsafeMutableBufferPointer { GatherKernels.gather(codes: codes, dictionary: d, into: $0) } }
        }
        #expect(!bad)
    }

    @Test func runExpansionChecksItsTotal() {
        var out = [UInt8](repeating: 0, count: 6)
        let ok = [7, 9].map(UInt8.init).withUnsafeBufferPointer { v in
            [UInt32(2), 4].withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { GatherKernels.expandRuns(runValues: v, runLengths: l, into: $0) } }
        }
        #expect(ok && out == [7, 7, 9, 9, 9, 9])
        let short = [7].map(UInt8.init).withUnsafeBufferPointer { v in
            [UInt32(5)].withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { GatherKernels.expandRuns(runValues: v, runLengths: l, into: $0) } }
        }
        let long = [7].map(UInt8.init).withUnsafeBufferPointer { v in
            [UInt32(9)].withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { GatherKernels.expandRuns(runValues: v, runLengths: l, into: $0) } }
        }
        #expect(!short && !long)
    }

    @Test(arguments: ComparisonOperator.allCases)
    func comparisonsOnEncodedValuesMatchAScalarLoop(op: ComparisonOperator) {
        var generator = SystemRandomNumberGenerator()
        for count in awkwardLengths {
            let values = (0..<count).map { _ in UInt32.random(in: 0...20, using: &generator) }
            var selection = [UInt64](repeating: 0, count: (count + 63) / 64)
            values.withUnsafeBufferPointer { v in selection.withUnsafeMutableBufferPointer { PredicateKernels.compare(v, op, 10, into: $0) } }
            for i in 0..<count {
                let selected = selection[i / 64] >> UInt64(i % 64) & 1 == 1
                #expect(selected == op.evaluate(values[i], 10))
            }
            if count % 64 != 0 { #expect(selection.last! >> UInt64(count % 64) == 0, "no bits past the end") }
        }
    }
}

@Suite("CRC32C")
struct CRC32CTests {
    @Test func knownVectors() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum([]) == 0)
    }

    @Test func tableVersionMatchesTheBitwiseReferenceAndChains() {
        var generator = SystemRandomNumberGenerator()
        for count in awkwardLengths {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32C.checksum(bytes) == CRC32C.reference(bytes))
            #expect(bytes.withUnsafeBytes { CRC32C.tableChecksum($0) } == CRC32C.reference(bytes), "the portable table version")
            let split = count / 3
            #expect(CRC32C.checksum(Array(bytes[split...]), initial: CRC32C.checksum(Array(bytes[..<split]))) == CRC32C.checksum(bytes))
        }
    }

    /// The hardware version runs three chains over blocks of 256 and 8,192 bytes and joins them
    /// with shift tables: lengths on both sides of each block threshold, unaligned starts and
    /// chained calls, against the portable table version (itself checked against the bitwise one).
    @Test func threeStreamVersionMatchesTheTableVersion() {
        var generator = SystemRandomNumberGenerator()
        let lengths = [767, 768, 769, 1024, 1535, 1536, 2000, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 768 + 5, 100_003]
        for count in lengths {
            let bytes = (0..<count + 8).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for start in [0, 1, 3, 7] {
                bytes.withUnsafeBytes { all in
                    let part = UnsafeRawBufferPointer(rebasing: all[start..<start + count])
                    let initial = UInt32.random(in: 0...UInt32.max, using: &generator)
                    let expected = CRC32C.tableChecksum(part, initial: initial)
                    #expect(CRC32C.checksum(part, initial: initial) == expected, "\(count) bytes from \(start)")
                    #expect(CRC32C.oneChainChecksum(part, initial: initial) == expected, "one chain, \(count) bytes from \(start)")
                }
            }
        }
        let zeros = [UInt8](repeating: 0, count: 3 * 8192 + 3 * 256)
        #expect(CRC32C.checksum(zeros) == CRC32C.reference(zeros))
    }
}

@Suite("Kernels against scalar references")
struct RandomizedReferenceTests {
    static func randomWords(count: Int, density: Int, _ g: inout SystemRandomNumberGenerator) -> [UInt64] {
        (0..<(count + 63) / 64).map { _ in
            switch density {
            case 0: 0
            case 100: ~0
            default: (0..<64).reduce(UInt64(0)) { word, bit in Int.random(in: 0..<100, using: &g) < density ? word | 1 << UInt64(bit) : word }
            }
        }
    }

    @Test(arguments: [0, 3, 50, 97, 100])
    func validityKernelsMatchTheReference(density: Int) {
        var g = SystemRandomNumberGenerator()
        for count in awkwardLengths {
            let words = Self.randomWords(count: count, density: density, &g)
            let expected = ValidityKernels.validRowsReference(words, count: count)
            #expect(words.withUnsafeBufferPointer { ValidityKernels.validRows($0, count: count) } == expected)
            let values = (0..<count).map { _ in Int64.random(in: -1000...1000, using: &g) }
            let sum = values.withUnsafeBufferPointer { v in words.withUnsafeBufferPointer { ValidityKernels.sumValid(v, $0) } }
            #expect(sum == expected.reduce(0) { $0 &+ values[Int($1)] })
        }
    }

    @Test func gatherAndRunsMatchScalarLoops() {
        var g = SystemRandomNumberGenerator()
        for count in awkwardLengths {
            let dictionary = (0..<max(1, count / 3)).map { _ in Int64.random(in: .min ... .max, using: &g) }
            let codes = (0..<count).map { _ in UInt32.random(in: 0..<UInt32(dictionary.count), using: &g) }
            var out = [Int64](repeating: 0, count: count)
            let ok = codes.withUnsafeBufferPointer { c in
                dictionary.withUnsafeBufferPointer { d in out.withUnsafeMutableBufferPointer { GatherKernels.gather(codes: c, dictionary: d, into: $0) } }
            }
            #expect(ok && out == codes.map { dictionary[Int($0)] })

            var lengths: [UInt32] = [], values: [Int64] = [], reference: [Int64] = []
            while reference.count < count {
                let length = UInt32.random(in: 1...UInt32(min(9, count - reference.count)), using: &g)
                let value = Int64.random(in: -5...5, using: &g)
                lengths.append(length); values.append(value)
                reference += Array(repeating: value, count: Int(length))
            }
            var expanded = [Int64](repeating: 0, count: count)
            let expandedOK = values.withUnsafeBufferPointer { v in
                lengths.withUnsafeBufferPointer { l in expanded.withUnsafeMutableBufferPointer { GatherKernels.expandRuns(runValues: v, runLengths: l, into: $0) } }
            }
            #expect(expandedOK && expanded == reference)
        }
    }
}

@Suite("JSONStringScan")
struct JSONStringScanTests {
    /// The definition, byte by byte.
    static func reference(_ bytes: [UInt8], from: Int) -> (Int, Bool) {
        var nonASCII = false
        for i in from..<bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { return (i, nonASCII) }
            if b >= 0x80 { nonASCII = true }
        }
        return (bytes.count, nonASCII)
    }

    @Test func stopMatchesTheReferenceAtEveryPosition() {
        var generator = SystemRandomNumberGenerator()
        // Plain text with a sprinkling of each special byte and of bytes >= 0x80, so stops fall at
        // every offset within a 32-byte step and past it.
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x0A, 0x80, 0xC3, 0xFF, 0x20, 0x7F]
        for length in awkwardLengths {
            for _ in 0..<20 {
                let density = Int.random(in: 1...200, using: &generator)
                let bytes: [UInt8] = (0..<length).map { _ in
                    Int.random(in: 0..<density, using: &generator) == 0 ? specials.randomElement(using: &generator)! : UInt8.random(in: 0x21...0x7E, using: &generator)
                }
                for from in Set([0, 1, length / 2, max(0, length - 1), length]) where from <= length {
                    let got = bytes.withUnsafeBufferPointer { JSONStringScan.stop(in: $0, from: from) }
                    let want = Self.reference(bytes, from: from)
                    #expect(got.index == want.0 && got.nonASCII == want.1, "length \(length) from \(from)")
                }
            }
        }
    }
}
