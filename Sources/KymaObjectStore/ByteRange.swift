// Byte ranges for partial reads.

/// A range of bytes of an object.
public enum ByteRange: Sendable, Hashable, CustomStringConvertible {
    /// `length` bytes starting at `offset`.
    case bounded(offset: Int, length: Int)
    /// Every byte from `offset` to the end.
    case from(offset: Int)
    /// The last `length` bytes (the whole object when it is shorter).
    case suffix(length: Int)

    /// The HTTP `Range` header value (`bytes=0-99`, `bytes=100-`, `bytes=-8`).
    public var httpHeaderValue: String {
        switch self {
        case .bounded(let offset, let length): "bytes=\(offset)-\(offset + length - 1)"
        case .from(let offset): "bytes=\(offset)-"
        case .suffix(let length): "bytes=-\(length)"
        }
    }

    public var description: String { httpHeaderValue }

    /// Checks the range's own numbers; throws `.invalidRange` for a negative offset or a
    /// length below 1.
    public func validate(key: ObjectKey) throws(ObjectStoreError) {
        switch self {
        case .bounded(let offset, let length):
            guard offset >= 0, length >= 1 else { throw ObjectStoreError(.invalidRange, key: key.rawValue, "bad range \(self)") }
        case .from(let offset):
            guard offset >= 0 else { throw ObjectStoreError(.invalidRange, key: key.rawValue, "bad range \(self)") }
        case .suffix(let length):
            guard length >= 1 else { throw ObjectStoreError(.invalidRange, key: key.rawValue, "bad range \(self)") }
        }
    }

    /// The half-open byte interval this range selects in an object of `size` bytes, following
    /// the `ObjectStore` contract. Throws `.invalidRange` when it starts at or past the end.
    public func resolve(size: Int, key: ObjectKey) throws(ObjectStoreError) -> Range<Int> {
        try validate(key: key)
        switch self {
        case .bounded(let offset, let length):
            guard offset < size else {
                throw ObjectStoreError(.invalidRange, key: key.rawValue, "range \(self) starts past the end (size \(size))")
            }
            return offset..<min(size, offset + length)
        case .from(let offset):
            guard offset < size else {
                throw ObjectStoreError(.invalidRange, key: key.rawValue, "range \(self) starts past the end (size \(size))")
            }
            return offset..<size
        case .suffix(let length):
            return max(0, size - length)..<size
        }
    }
}
