// KymaExtentSource: Kyma's own tables as a `TableSource` — the pruning cascade over the catalog's
// extent manifests, extent footers and blocks/posting lists — and the readers of their extents.
// Sees storage only through `Catalog`, `ObjectStore` and `FormatRegistry`.
//
// Opened extent readers (their parsed footers) kept in memory across queries. A cache, never the
// master: an entry is only a faster way to a footer the object store holds, keyed by the
// immutable object's key, and losing it costs one ranged GET.

import KymaFormat
import KymaObjectStore
import KymaTableSource
import Synchronization

public final class FooterCache: Sendable {
    private struct State {
        var readers: [ObjectKey: any ExtentReader] = [:]
        var order: [ObjectKey] = []
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int = 4096) { self.capacity = max(0, capacity) }

    public var count: Int { state.withLock { $0.readers.count } }

    public func reader(key: ObjectKey, size: Int, store: any ObjectStore, formats: FormatRegistry) async throws(FormatError) -> any ExtentReader {
        if let cached = state.withLock({ $0.readers[key] }) { return cached }
        let reader = try await formats.open(store: store, key: key, size: size)
        guard capacity > 0 else { return reader }
        state.withLock { state in
            if state.readers.updateValue(reader, forKey: key) == nil { state.order.append(key) }
            while state.order.count > capacity {
                state.readers.removeValue(forKey: state.order.removeFirst())
            }
        }
        return reader
    }
}

/// Forwards to a store and adds the bytes every read returns to the current query's counter.
public struct CountingObjectStore: ObjectStore {
    let base: any ObjectStore

    public init(_ base: any ObjectStore) { self.base = base }

    public var description: String { base.description }

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) { try await base.put(key, bytes) }
    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) { try await base.putIfAbsent(key, bytes) }
    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let bytes = try await base.get(key)
        ByteCounter.current?.add(bytes.count)
        return bytes
    }
    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        let bytes = try await base.get(key, range: range)
        ByteCounter.current?.add(bytes.count)
        return bytes
    }
    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata { try await base.head(key) }
    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }
    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) { try await base.delete(key) }
}
