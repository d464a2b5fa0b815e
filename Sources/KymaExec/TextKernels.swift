// Byte-level string predicates with Kusto's semantics: whole-term `has` (terms are maximal runs
// of ASCII letters, digits and non-ASCII bytes, as the TLM inverted index cuts them), substring,
// prefix and suffix, case-insensitive for ASCII letters.

public enum TextKernels {
    @inlinable
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// ASCII letters lowercased, other bytes kept: the case folding of terms and of the kernels.
    public static func asciiLowercased(_ text: String) -> [UInt8] { text.utf8.map(lower) }

    @inlinable
    static func isTermByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b >= 0x80
    }

    /// Where `needle` (already lowercased when `ignoreCase`) occurs in `haystack[start..<end]`,
    /// calling `accept` with each match start until it returns true.
    @inlinable
    static func search(_ haystack: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ needle: UnsafeBufferPointer<UInt8>,
                       ignoreCase: Bool, _ accept: (Int) -> Bool) -> Bool {
        let n = needle.count
        if n == 0 { return accept(start) }
        guard end - start >= n else { return false }
        let first = needle[0]
        var i = start
        let last = end - n
        while i <= last {
            let b = ignoreCase ? lower(haystack[i]) : haystack[i]
            if b == first {
                var k = 1
                while k < n {
                    let c = ignoreCase ? lower(haystack[i + k]) : haystack[i + k]
                    if c != needle[k] { break }
                    k += 1
                }
                if k == n, accept(i) { return true }
            }
            i += 1
        }
        return false
    }

    /// Kusto `has`: `needle` occurs with no term byte just before or just after it (so a
    /// one-term needle matches a whole term, and a phrase matches whole terms at its ends).
    @inlinable
    public static func has(_ haystack: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ needle: UnsafeBufferPointer<UInt8>,
                           ignoreCase: Bool) -> Bool {
        let n = needle.count
        return search(haystack, start, end, needle, ignoreCase: ignoreCase) { at in
            (at == start || !isTermByte(haystack[at - 1])) && (at + n == end || !isTermByte(haystack[at + n]))
        }
    }

    @inlinable
    public static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ needle: UnsafeBufferPointer<UInt8>,
                                ignoreCase: Bool) -> Bool {
        search(haystack, start, end, needle, ignoreCase: ignoreCase) { _ in true }
    }

    @inlinable
    public static func equal(_ haystack: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ needle: UnsafeBufferPointer<UInt8>,
                             ignoreCase: Bool, at position: Int) -> Bool {
        guard position >= start, position + needle.count <= end else { return false }
        for k in 0..<needle.count {
            let c = ignoreCase ? lower(haystack[position + k]) : haystack[position + k]
            if c != needle[k] { return false }
        }
        return true
    }
}
