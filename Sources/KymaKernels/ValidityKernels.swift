// Validity bitmaps processed one branch per 64 rows (DuckDB's habit): a word is all valid,
// all null, or mixed, and only mixed words look at single bits.

public enum ValidityKernels {
    /// The rows (ascending) whose validity bit is set, among the first `count` rows.
    public static func validRows(_ words: UnsafeBufferPointer<UInt64>, count: Int) -> [UInt32] {
        var rows: [UInt32] = []
        rows.reserveCapacity(count)
        for w in 0..<min(words.count, (count + 63) / 64) {
            let base = w * 64
            let limit = min(64, count - base)
            var word = words[w]
            if limit < 64 { word &= (1 << UInt64(limit)) - 1 }
            if word == 0 { continue }                                            // all null
            if word == ~0 {                                                      // all valid
                for bit in 0..<64 { rows.append(UInt32(base + bit)) }
                continue
            }
            while word != 0 {                                                    // mixed: set bits only
                rows.append(UInt32(base + word.trailingZeroBitCount))
                word &= word &- 1
            }
        }
        return rows
    }

    /// Sum of `values[i]` over valid rows (wrapping), skipping null placeholders.
    public static func sumValid(_ values: UnsafeBufferPointer<Int64>, _ words: UnsafeBufferPointer<UInt64>) -> Int64 {
        var total: Int64 = 0
        let count = values.count
        for w in 0..<min(words.count, (count + 63) / 64) {
            let base = w * 64
            let limit = min(64, count - base)
            var word = words[w]
            if limit < 64 { word &= (1 << UInt64(limit)) - 1 }
            if word == 0 { continue }
            if word == ~0 {
                for i in base..<base + 64 { total &+= values[i] }   // no per-row test: vectorises
                continue
            }
            while word != 0 {
                total &+= values[base + word.trailingZeroBitCount]
                word &= word &- 1
            }
        }
        return total
    }

    /// The scalar reference: one bit test per row.
    public static func validRowsReference(_ words: [UInt64], count: Int) -> [UInt32] {
        (0..<count).filter { words[$0 / 64] >> UInt64($0 % 64) & 1 == 1 }.map(UInt32.init)
    }
}
