// The stable encoding of partial aggregate states: what a scan of some units sends to whoever
// merges them. Little-endian, length-prefixed, versioned; decoding checks every length against
// what is left, so damaged bytes are a `corruptData` error, never a crash.
//
//   state   := "KAGG" version:u8(=1) aggregates:u32 groups:u32 keyColumns:u16
//              key[groups * keyColumns] (payload:u32-length-prefixed)[aggregates]
//   scalar  := tag:u8 (0 null, 1 false, 2 true, 3 int64, 4 float64, 5 timestamp, 6 string, 7 binary)
//              then 8 bytes for 3/4/5, or length:u32 + bytes for 6/7
//
// Payloads are per aggregate function (Accumulators.swift): counts, sums, extremes, HyperLogLog
// registers or hash sets, value lists, distinct tuples.

import KymaCore
import KymaPlan

struct StateWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ v: UInt8) { bytes.append(v) }
    mutating func uint16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func uint64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func int64(_ v: Int64) { uint64(UInt64(bitPattern: v)) }
    mutating func double(_ v: Double) { uint64(v.bitPattern) }

    mutating func bytes(_ data: [UInt8]) {
        uint32(UInt32(data.count))
        bytes.append(contentsOf: data)
    }

    mutating func scalar(_ value: ScalarValue) {
        switch value {
        case .null: byte(0)
        case .bool(let b): byte(b ? 2 : 1)
        case .int64(let v): byte(3); int64(v)
        case .float64(let v): byte(4); double(v)
        case .timestamp(let v): byte(5); int64(v)
        case .string(let s): byte(6); bytes(Array(s.utf8))
        case .binary(let b): byte(7); bytes(b)
        }
    }
}

struct StateReader {
    let data: [UInt8]
    var position = 0

    init(_ data: [UInt8]) { self.data = data }

    func corrupt(_ what: String) -> QueryError {
        .corruptData(object: "aggregate state", detail: "\(what) at byte \(position)")
    }

    mutating func take(_ count: Int) throws(QueryError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= data.count - position else { throw corrupt("truncated") }
        defer { position += count }
        return data[position..<position + count]
    }

    mutating func byte() throws(QueryError) -> UInt8 { try take(1).first! }

    mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws(QueryError) -> T {
        var value: T = 0
        for (i, b) in try take(MemoryLayout<T>.size).enumerated() { value |= T(b) << (8 * i) }
        return value
    }

    mutating func uint16() throws(QueryError) -> UInt16 { try fixed(UInt16.self) }
    mutating func uint32() throws(QueryError) -> UInt32 { try fixed(UInt32.self) }
    mutating func uint64() throws(QueryError) -> UInt64 { try fixed(UInt64.self) }
    mutating func int64() throws(QueryError) -> Int64 { Int64(bitPattern: try uint64()) }
    mutating func double() throws(QueryError) -> Double { Double(bitPattern: try uint64()) }

    /// A count of elements of at least `elementBytes` each: larger than what is left is damage.
    mutating func count(elementBytes: Int) throws(QueryError) -> Int {
        let n = Int(try uint32())
        guard n <= (data.count - position) / max(1, elementBytes) else { throw corrupt("count \(n) past the end") }
        return n
    }

    mutating func bytes() throws(QueryError) -> [UInt8] {
        Array(try take(Int(try uint32())))
    }

    mutating func scalar() throws(QueryError) -> ScalarValue {
        switch try byte() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int64(try int64())
        case 4: return .float64(try double())
        case 5: return .timestamp(try int64())
        case 6: return .string(String(decoding: try bytes(), as: UTF8.self))
        case 7: return .binary(try bytes())
        default: throw corrupt("unknown scalar tag")
        }
    }
}

extension HashAggregator {
    static let magic: [UInt8] = Array("KAGG".utf8)
    static let stateVersion: UInt8 = 1

    /// The partial state: group keys and every aggregate's state, in the stable encoding.
    public func encodedState() -> [UInt8] {
        var writer = StateWriter()
        writer.bytes.append(contentsOf: Self.magic)
        writer.byte(Self.stateVersion)
        let groupCount = stateGroupCount
        writer.uint32(UInt32(accumulators.count))
        writer.uint32(UInt32(groupCount))
        writer.uint16(UInt16(keys.count))
        for g in 0..<groupCount {
            let row = g < groups.keys.count ? groups.keys[g] : []
            for k in 0..<keys.count { writer.scalar(k < row.count ? row[k] : .null) }
        }
        for accumulator in accumulators {
            var payload = StateWriter()
            accumulator.encode(groupCount: groupCount, into: &payload)
            writer.bytes(payload.bytes)
        }
        return writer.bytes
    }

    /// Folds an encoded partial state (of an aggregator with the same keys and aggregates) in,
    /// as rows that come after the ones already here.
    public func merge(encoded bytes: [UInt8]) throws(QueryError) {
        let other = HashAggregator(keys: keys, aggregates: aggregates, memoryLimit: memoryLimit, now: now)
        var reader = StateReader(bytes)
        guard Array(try reader.take(4)) == Self.magic else { throw reader.corrupt("not an aggregate state") }
        guard try reader.byte() == Self.stateVersion else { throw reader.corrupt("unknown state version") }
        guard Int(try reader.uint32()) == accumulators.count else { throw reader.corrupt("aggregate count differs") }
        let groupCount = try reader.count(elementBytes: keys.count)
        guard Int(try reader.uint16()) == keys.count else { throw reader.corrupt("key count differs") }
        var rows: [[ScalarValue]] = []
        for _ in 0..<groupCount {
            var row: [ScalarValue] = []
            for _ in 0..<keys.count { row.append(try reader.scalar()) }
            rows.append(row)
        }
        other.groups.restore(rows, keyless: keys.isEmpty)
        // Damaged keys can collide: every group must be a group of its own.
        guard keys.isEmpty ? groupCount == 1 : other.groups.count == groupCount else { throw reader.corrupt("group keys repeat") }
        for accumulator in other.accumulators {
            var payload = StateReader(try reader.bytes())
            try accumulator.decode(groupCount: groupCount, from: &payload)
            guard payload.position == payload.data.count else { throw payload.corrupt("trailing bytes") }
        }
        guard reader.position == bytes.count else { throw reader.corrupt("trailing bytes") }
        try merge(other)
    }
}
