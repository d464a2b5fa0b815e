// Bytes a query read from storage, counted by whoever reads (a counting store wrapper, a
// reader provider) for the query's task tree: the budget's "bytes read" and EXPLAIN's numbers.

import Synchronization

/// Bytes a query read, counted by the store wrapper for the query's task tree.
public final class ByteCounter: Sendable {
    /// The counter of the query running on this task (set by whoever runs the query).
    @TaskLocal public static var current: ByteCounter?
    private let bytes = Atomic<Int>(0)
    private let reads = Atomic<Int>(0)
    public init() {}
    public var value: Int { bytes.load(ordering: .relaxed) }
    /// Read requests made (GETs, ranged or whole): what an object store bills and waits for.
    public var requests: Int { reads.load(ordering: .relaxed) }
    /// One read request that returned `count` bytes.
    public func add(_ count: Int) {
        bytes.add(count, ordering: .relaxed)
        reads.add(1, ordering: .relaxed)
    }
}

