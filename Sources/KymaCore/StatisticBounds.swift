// Bounds of a column's values short enough to keep in footers and index in the catalog.

/// A column's minimum and maximum, kept as bounds rather than exact values: a string or binary
/// value longer than `maxBytes` (or, for strings, holding a NUL, which PostgreSQL text cannot)
/// is replaced by a lower bound (a prefix of it) or an upper bound (a prefix with its last
/// character incremented). Pruning with bounds stays correct: every value lies between them.
/// Numbers, booleans and timestamps are kept exactly.
public enum StatisticBounds {
    /// The longest string or binary bound kept, in bytes (an upper bound may grow by up to 3
    /// bytes when its last character is incremented into a longer UTF-8 encoding).
    public static let maxBytes = 256

    /// A value no greater than `value`, at most `maxBytes` long, with no NUL in a string.
    public static func lower(_ value: ScalarValue) -> ScalarValue {
        switch value {
        case .string(let text):
            let kept = prefix(text)
            return kept.count == text.utf8.count ? value : .string(String(decoding: kept, as: UTF8.self))
        case .binary(let bytes):
            return bytes.count <= maxBytes ? value : .binary(Array(bytes.prefix(maxBytes)))
        default:
            return value
        }
    }

    /// A value no less than `value`, at most `maxBytes` (+3) long, with no NUL in a string; nil
    /// when no such value exists (a string that starts with NUL, or with `maxBytes` of U+10FFFF).
    public static func upper(_ value: ScalarValue) -> ScalarValue? {
        switch value {
        case .string(let text):
            let kept = prefix(text)
            if kept.count == text.utf8.count { return value }
            var scalars = Array(String(decoding: kept, as: UTF8.self).unicodeScalars)
            // The shortest string above every string starting with `kept`: increment the last
            // scalar that can be, dropping those after it.
            while let last = scalars.popLast() {
                if let next = nextScalar(after: last) {
                    scalars.append(next)
                    var result = String.UnicodeScalarView()
                    result.append(contentsOf: scalars)
                    return .string(String(result))
                }
            }
            return nil
        case .binary(let bytes):
            if bytes.count <= maxBytes { return value }
            var kept = Array(bytes.prefix(maxBytes))
            while let last = kept.popLast() {
                if last < 0xFF {
                    kept.append(last + 1)
                    return .binary(kept)
                }
            }
            return nil
        default:
            return value
        }
    }

    /// Whether `value` is kept as it is (so a bound equals the value).
    public static func isExact(_ value: ScalarValue) -> Bool {
        lower(value) == value && upper(value) == value
    }

    /// The UTF-8 bytes of `text` before its first NUL, cut to at most `maxBytes` at a character
    /// (scalar) boundary.
    static func prefix(_ text: String) -> ArraySlice<UInt8> {
        let utf8 = Array(text.utf8)
        var end = utf8.firstIndex(of: 0) ?? utf8.count
        if end > maxBytes {
            end = maxBytes
            while end > 0 && utf8[end] & 0xC0 == 0x80 { end -= 1 }  // back to a scalar's first byte
        }
        return utf8[..<end]
    }

    /// The next Unicode scalar in code point order (which is UTF-8 byte order), skipping the
    /// surrogate range; nil after U+10FFFF.
    static func nextScalar(after scalar: Unicode.Scalar) -> Unicode.Scalar? {
        var value = scalar.value + 1
        if value >= 0xD800 && value <= 0xDFFF { value = 0xE000 }
        return Unicode.Scalar(value)
    }
}
