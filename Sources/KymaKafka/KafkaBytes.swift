// The bytes of a record's key or value. A consumed record's bytes are not copied: they stay in
// librdkafka's fetch buffer, held (with the rest of the records of the same poll) for as long as
// any of them is referenced. Bytes made in Swift (tests, the transaction log's recovery) own a
// copy. Either way they are read-only.

#if canImport(Glibc)
import Glibc
#endif

/// A record's key or value bytes, read-only, contiguous.
public struct KafkaBytes: @unchecked Sendable {
    // @unchecked: the memory behind `base` never changes, and `owner` keeps it alive.
    @usableFromInline let owner: AnyObject?
    @usableFromInline let base: UnsafeRawPointer?
    public let count: Int

    /// Bytes in memory `owner` keeps alive and nobody writes.
    init(borrowing base: UnsafeRawPointer?, count: Int, owner: AnyObject) {
        self.owner = owner
        self.base = count > 0 ? base : nil
        self.count = count > 0 ? count : 0
    }

    /// A copy of `bytes`.
    public init<S: Sequence<UInt8>>(_ bytes: S) {
        let array = Array(bytes)
        let storage = OwnedBytes(array)
        owner = storage
        base = storage.count > 0 ? UnsafeRawPointer(storage.pointer) : nil
        count = storage.count
    }

    /// The first byte's address (nil when empty), valid for as long as this value or a copy of
    /// it is alive: for handing many records' bytes to one system call, the caller keeping the
    /// records alive until it returns.
    public var baseAddress: UnsafeRawPointer? { base }

    // The accessors below need no `withExtendedLifetime(owner)`: `self` is borrowed for the
    // call, so its owner lives until they return (and an extra retain per record was an atomic
    // the decoding threads shared).

    /// The bytes, valid during `body`.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// The bytes, valid during `body`.
    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: base?.assumingMemoryBound(to: UInt8.self), count: count))
    }
}

/// Memory for bytes made in Swift.
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    init(_ bytes: [UInt8]) {
        count = bytes.count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 16)
        bytes.withUnsafeBytes { pointer.copyMemory(from: $0.baseAddress!, byteCount: count) }
    }

    deinit { pointer.deallocate() }
}

extension KafkaBytes: RandomAccessCollection {
    public typealias Index = Int
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "KafkaBytes index \(position) out of range 0..<\(count)")
        return base!.load(fromByteOffset: position, as: UInt8.self)
    }

    @inlinable
    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try body(UnsafeBufferPointer(start: base?.assumingMemoryBound(to: UInt8.self), count: count))
    }
}

extension KafkaBytes: ExpressibleByArrayLiteral {
    public init(arrayLiteral elements: UInt8...) { self.init(elements) }
}

extension KafkaBytes: Equatable, Hashable {
    public static func == (a: KafkaBytes, b: KafkaBytes) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

extension KafkaBytes: CustomStringConvertible {
    public var description: String { "\(count) bytes" }
}
