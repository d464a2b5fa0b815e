// Interns byte strings into dense ids (0, 1, 2... in first-seen order) with open addressing:
// the strings live in one arena, slots hold (hash, id), so a lookup is one hash over the bytes
// (eight at a time) and usually one comparison. The one such table: grouping keys, dictionary
// encoding and inverted-index terms use it (Swift's Dictionary over [UInt8] hashes byte by byte
// through `Hasher`, which was most of a grouped scan and a fifth of ingest).

public struct ByteStringTable: Sendable {
    @usableFromInline var arena: [UInt8] = []
    @usableFromInline var starts: [Int] = [0]
    @usableFromInline var slotHashes: [UInt64]
    @usableFromInline var slotIDs: [Int32]
    @usableFromInline var mask: Int

    public init() {
        slotHashes = [UInt64](repeating: 0, count: 64)
        slotIDs = [Int32](repeating: -1, count: 64)
        mask = 63
    }

    public var count: Int { starts.count - 1 }

    /// Bytes held, for memory budgets.
    public var bytes: Int { arena.count + starts.count * 8 + slotIDs.count * 12 }

    /// The bytes of string `id`.
    @inlinable
    public func string(_ id: Int) -> ArraySlice<UInt8> { arena[starts[id]..<starts[id + 1]] }

    @inlinable @inline(__always)
    public static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        if let base = key.baseAddress {
            while i + 8 <= key.count {
                let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                h = (h ^ word) &* 0x0000_0100_0000_01B3
                h ^= h >> 29
                i += 8
            }
        }
        while i < key.count {
            h = (h ^ UInt64(key[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        h ^= h >> 32
        h = h &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 32)
    }

    /// The id of `key`, and whether it was inserted now.
    @inlinable
    public mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> (id: Int32, inserted: Bool) {
        let h = Self.hash(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = slotIDs[slot]
            if id < 0 { break }
            if slotHashes[slot] == h {
                let start = starts[Int(id)], end = starts[Int(id) + 1]
                if end - start == key.count, arena.withUnsafeBufferPointer({ a in Self.equal(a, start, key) }) { return (id, false) }
            }
            slot = (slot + 1) & mask
        }
        let id = Int32(count)
        arena.append(contentsOf: key)
        starts.append(arena.count)
        slotHashes[slot] = h
        slotIDs[slot] = id
        if count * 2 > mask { grow() }
        return (id, true)
    }

    /// `intern` of an array's bytes.
    @inlinable
    public mutating func intern(_ key: ArraySlice<UInt8>) -> (id: Int32, inserted: Bool) {
        key.withUnsafeBufferPointer { intern($0) }
    }

    @inlinable
    static func equal(_ a: UnsafeBufferPointer<UInt8>, _ start: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        for k in 0..<key.count where a[start + k] != key[k] { return false }
        return true
    }

    @usableFromInline
    mutating func grow() {
        let newSize = (mask + 1) * 2
        var hashes = [UInt64](repeating: 0, count: newSize)
        var ids = [Int32](repeating: -1, count: newSize)
        for slot in 0...mask where slotIDs[slot] >= 0 {
            var s = Int(truncatingIfNeeded: slotHashes[slot]) & (newSize - 1)
            while ids[s] >= 0 { s = (s + 1) & (newSize - 1) }
            hashes[s] = slotHashes[slot]
            ids[s] = slotIDs[slot]
        }
        slotHashes = hashes
        slotIDs = ids
        mask = newSize - 1
    }
}
