// The hot buffer's key index: the 64-bit hash of a key's text -> the running row number of the
// latest row with that key. Open addressing with linear probing over two flat arrays, so an
// insert is a hash the decoder already computed (on its own thread) and a probe or two, with no
// String per key and no rehash of strings when it grows. A lookup verifies the row's key, so
// a hash collision (about 1 in 10^7 for a million live keys) reads as a miss, never as another
// key's row.

import KymaIndex

struct KeyIndex: Sendable {
    /// 0 marks an empty slot (`hash` never returns 0).
    private var hashes: [UInt64]
    private var rows: [Int]
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        hashes = Array(repeating: 0, count: size)
        rows = Array(repeating: 0, count: size)
    }

    /// The hash of a key's text (its UTF-8 bytes), never 0.
    static func hash(_ text: UnsafeRawBufferPointer) -> UInt64 { max(1, XXHash64.hash(text, seed: 0x6B32_6900)) }
    static func hash(_ text: String) -> UInt64 {
        var text = text
        return text.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// Points `hash` at `row` (a later row with the same key replaces the earlier one).
    mutating func insert(_ hash: UInt64, row: Int) {
        if (count + 1) * 2 > hashes.count { grow() }
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let present = hashes[slot]
            if present == 0 {
                hashes[slot] = hash
                rows[slot] = row
                count += 1
                return
            }
            if present == hash {
                rows[slot] = row
                return
            }
            slot = (slot + 1) & mask
        }
    }

    func row(_ hash: UInt64) -> Int? {
        let mask = hashes.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let present = hashes[slot]
            if present == 0 { return nil }
            if present == hash { return rows[slot] }
            slot = (slot + 1) & mask
        }
    }

    /// The index without the rows before `firstLive` (committed and dropped).
    func keeping(rowsFrom firstLive: Int) -> KeyIndex {
        var live = 0
        for (slot, hash) in hashes.enumerated() where hash != 0 && rows[slot] >= firstLive { live += 1 }
        var out = KeyIndex(capacity: max(1024, live))
        for (slot, hash) in hashes.enumerated() where hash != 0 && rows[slot] >= firstLive { out.insert(hash, row: rows[slot]) }
        return out
    }

    private mutating func grow() {
        var bigger = KeyIndex(capacity: hashes.count)
        for (slot, hash) in hashes.enumerated() where hash != 0 { bigger.insert(hash, row: rows[slot]) }
        self = bigger
    }
}
