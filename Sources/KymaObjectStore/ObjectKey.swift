// Validated object keys.

/// A validated object key: `/`-separated segments, relative, with no empty, `.` or `..`
/// segment, no control characters, and at most `maxUTF8Length` bytes of UTF-8 (S3's limit).
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maxUTF8Length = 1024

    public let rawValue: String

    public init(_ rawValue: String) throws(ObjectStoreError) {
        if let reason = Self.invalidReason(rawValue) {
            throw ObjectStoreError(.invalidKey, key: rawValue, reason)
        }
        self.rawValue = rawValue
    }

    /// Why `candidate` is not a valid key, or nil when it is.
    public static func invalidReason(_ candidate: String) -> String? {
        let utf8 = candidate.utf8
        if utf8.isEmpty { return "key is empty" }
        if utf8.count > maxUTF8Length { return "key is \(utf8.count) bytes long, the limit is \(maxUTF8Length)" }
        if utf8.first == UInt8(ascii: "/") { return "key is absolute (starts with '/')" }
        if utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "key contains a control character" }
        if utf8.contains(UInt8(ascii: "\\")) { return "key contains a backslash" }
        for segment in candidate.split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "key has an empty segment" }
            if segment == "." || segment == ".." { return "key has a '\(segment)' segment" }
        }
        return nil
    }

    /// Joins segments with `/` and validates the result.
    public static func join(_ segments: String...) throws(ObjectStoreError) -> ObjectKey {
        try ObjectKey(segments.joined(separator: "/"))
    }

    public var description: String { rawValue }

    /// Lexicographic order of the UTF-8 bytes, the order of S3 listings.
    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }
}
