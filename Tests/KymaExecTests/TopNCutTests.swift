// The top-N pre-cut against its scalar reference: sort the values, take the N-th best, keep
// every position not worse than it nor than the bound. Odd lengths, ties, n beyond the count,
// bounds that remove everything or nothing, both directions.

import KymaTestSupport
import Testing

@testable import KymaExec

@Suite struct TopNCutTests {
    static func reference(_ values: [Int64], n: Int, descending: Bool, bound: Int64?) -> [Int] {
        func better(_ a: Int64, _ b: Int64) -> Bool { descending ? a > b : a < b }
        let eligible = values.filter { v in bound.map { !better($0, v) } ?? true }
        var cut = bound
        if values.count > n, eligible.count >= n {
            let nth = eligible.sorted(by: better)[n - 1]
            if cut.map({ better(nth, $0) }) ?? true { cut = nth }
        }
        return values.indices.filter { i in cut.map { !better($0, values[i]) } ?? true }
    }

    @Test(arguments: [0, 1, 2, 3, 10, 33, 64, 257, 1000])
    func matchesTheScalarReference(count: Int) {
        var g = SplitMix64(seed: UInt64(count) + 11)
        for round in 0..<40 {
            let spread = UInt64([2, 10, 1000, 1 << 40][round % 4])
            let values = (0..<count).map { _ in Int64(bitPattern: g.next() % spread) - Int64(spread / 2) }
            let n = [1, 2, 5, 10, count, count + 3][Int(g.next() % 6)]
            guard n > 0 else { continue }
            let bound: Int64? = round % 3 == 0 ? nil : Int64(bitPattern: g.next() % spread) - Int64(spread / 2)
            for descending in [true, false] {
                let got = values.withUnsafeBufferPointer { TopNCut.contenders($0, n: n, descending: descending, bound: bound) }
                #expect(got == Self.reference(values, n: n, descending: descending, bound: bound),
                        "count \(count) n \(n) bound \(String(describing: bound)) descending \(descending)")
                // The cut never loses one of the true N best.
                let best = values.indices.sorted { descending ? values[$0] > values[$1] : values[$0] < values[$1] }.prefix(n)
                if bound == nil { #expect(Set(best.map { values[$0] }).isSubset(of: Set(got.map { values[$0] }))) }
            }
        }
    }

    @Test func doublesAndAscendingTimeKeepOnlyTheTail() {
        let ascending = (0..<65_536).map { Double($0) / 4 }
        let newest = ascending.withUnsafeBufferPointer { TopNCut.contenders($0, n: 20, descending: true, bound: nil) }
        #expect(newest == Array(65_516..<65_536))
        let oldest = ascending.withUnsafeBufferPointer { TopNCut.contenders($0, n: 20, descending: false, bound: 2.0) }
        #expect(oldest == Array(0...8))
    }
}
