// `dcount`: HyperLogLog with an exact sparse phase, and the logarithm it needs without Foundation.

import KymaCore
import KymaIndex
import KymaPlan

/// HyperLogLog (Flajolet et al.) with an exact sparse phase: a group keeps the set of its
/// values' 64-bit hashes until it would outgrow the registers, so small counts are exact. The
/// registers are a function of the set of hashes, so any split of the rows merges to the same.
final class DistinctCountAccumulator: Accumulator {
    let precision: Int
    var sparse: [Set<UInt64>] = []
    var registers: [[UInt8]?] = []
    var scratch: [UInt8] = []

    init(precision: Int) { self.precision = precision }

    var sparseLimit: Int { (1 << precision) / 8 }

    func grow(_ groupCount: Int) {
        sparse.grow(to: groupCount, with: [])
        registers.grow(to: groupCount, with: nil)
    }

    func update(groups: [Int32], groupCount: Int, arguments: [Evaluated], count: Int) throws(QueryError) {
        grow(groupCount)
        for i in 0..<count {
            let value = arguments[0].value(at: i)
            guard value != .null else { continue }
            scratch.removeAll(keepingCapacity: true)
            KeyEncoding.append(value, to: &scratch)
            insert(XXHash64.hash(scratch), into: Int(groups[i]))
        }
    }

    func insert(_ hash: UInt64, into g: Int) {
        if registers[g] != nil {
            add(hash, to: g)
        } else {
            sparse[g].insert(hash)
            if sparse[g].count > sparseLimit { densify(g) }
        }
    }

    func densify(_ g: Int) {
        registers[g] = [UInt8](repeating: 0, count: 1 << precision)
        for h in sparse[g] { add(h, to: g) }
        sparse[g] = []
    }

    func add(_ hash: UInt64, to g: Int) {
        let index = Int(hash >> UInt64(64 - precision))
        let rest = hash << UInt64(precision)
        let rank = UInt8(min(rest.leadingZeroBitCount, 64 - precision) + 1)
        guard var regs = registers[g] else { return }
        registers[g] = nil  // keeps the array uniquely referenced while it changes
        if rank > regs[index] { regs[index] = rank }
        registers[g] = regs
    }

    func merge(_ other: any Accumulator, mapping: [Int32], groupCount: Int) throws(QueryError) {
        guard let other = other as? DistinctCountAccumulator, other.precision == precision else { throw mismatch(other) }
        grow(groupCount)
        for g in other.sparse.indices {
            let target = Int(mapping[g])
            if let theirs = other.registers[g] {
                if registers[target] == nil { densify(target) }
                guard var regs = registers[target] else { continue }
                registers[target] = nil
                for k in regs.indices where theirs[k] > regs[k] { regs[k] = theirs[k] }
                registers[target] = regs
            } else {
                for h in other.sparse[g] { insert(h, into: target) }
            }
        }
    }

    func results(groupCount: Int) -> [Column] {
        var out: [Int64] = []
        for g in 0..<groupCount {
            guard g < sparse.count else { out.append(0); continue }
            guard let regs = registers[g] else { out.append(Int64(sparse[g].count)); continue }
            let m = Double(regs.count)
            let alpha = 0.7213 / (1 + 1.079 / m)
            var sum = 0.0
            var zeros = 0
            for r in regs {
                sum += 1 / Double(UInt64(1) << UInt64(r))
                if r == 0 { zeros += 1 }
            }
            var estimate = alpha * m * m / sum
            if estimate <= 2.5 * m, zeros > 0 { estimate = m * NaturalLog.ln(m / Double(zeros)) }  // linear counting
            out.append(Int64(estimate.rounded()))
        }
        return [Column(.int64(out))]
    }

    var estimatedBytes: Int {
        sparse.reduce(0) { $0 + $1.count * 16 } + registers.reduce(0) { $0 + ($1?.count ?? 0) }
    }

    func encode(groupCount: Int, into writer: inout StateWriter) {
        writer.byte(UInt8(precision))
        for g in 0..<groupCount {
            if g < registers.count, let regs = registers[g] {
                writer.byte(1)
                writer.bytes(regs)
            } else {
                writer.byte(0)
                let hashes = g < sparse.count ? sparse[g].sorted() : []
                writer.uint32(UInt32(hashes.count))
                for h in hashes { writer.uint64(h) }
            }
        }
    }

    func decode(groupCount: Int, from reader: inout StateReader) throws(QueryError) {
        guard Int(try reader.byte()) == precision else { throw reader.corrupt("dcount precision differs") }
        sparse = []; registers = []
        for _ in 0..<groupCount {
            if try reader.byte() == 1 {
                let regs = try reader.bytes()
                guard regs.count == 1 << precision else { throw reader.corrupt("dcount registers") }
                sparse.append([])
                registers.append(regs)
            } else {
                let n = try reader.count(elementBytes: 8)
                var set = Set<UInt64>(minimumCapacity: n)
                for _ in 0..<n { set.insert(try reader.uint64()) }
                sparse.append(set)
                registers.append(nil)
            }
        }
    }
}

/// Natural logarithm without Foundation: ln x = 2 atanh((m - 1)/(m + 1)) + e ln 2 for
/// x = m 2^e, m in [1, 2), a fast-converging series.
public enum NaturalLog {
    public static func ln(_ x: Double) -> Double {
        guard x > 0 else { return -.infinity }
        guard x.isFinite else { return x }
        let exponent = Double(x.exponent)
        let mantissa = x.significand
        let y = (mantissa - 1) / (mantissa + 1)
        let y2 = y * y
        var term = y
        var sum = 0.0
        var k = 1.0
        while k < 60 {
            sum += term / k
            term *= y2
            k += 2
        }
        return 2 * sum + exponent * 0.693_147_180_559_945_3
    }
}
