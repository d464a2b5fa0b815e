// The caching wrapper: hits after the first read, invalidation on write, LRU capacity, and
// losing the whole cache directory at any moment loses nothing.

import Testing
import KymaObjectStore
import KymaObjectStoreCache
import KymaObjectStoreLocal
import KymaTestSupport

@Suite("CachingObjectStore")
struct CachingStoreTests {
    func makeCache(capacity: Int) async throws -> (CachingObjectStore, source: LocalFileSystemObjectStore, cacheRoot: String) {
        let source = try LocalFileSystemObjectStore(root: TestServices.makeTemporaryDirectory("kyma-src"))
        let cacheRoot = TestServices.makeTemporaryDirectory("kyma-cache")
        let cache = await CachingObjectStore(source: source, cache: try LocalFileSystemObjectStore(root: cacheRoot), capacityBytes: capacity)
        return (cache, source, cacheRoot)
    }

    @Test func secondReadIsAHitAndWritesInvalidate() async throws {
        let (store, source, _) = try await makeCache(capacity: 1 << 20)
        let k = try ObjectKey("t/one")
        try await store.put(k, [1, 2, 3])
        #expect(try await store.get(k) == [1, 2, 3])
        #expect(store.statistics.misses == 1)
        #expect(try await store.get(k) == [1, 2, 3])
        #expect(store.statistics.hits == 1)
        try await store.put(k, [4, 5])
        #expect(try await store.get(k) == [4, 5], "a put through the cache invalidates the copy")
        #expect(try await source.get(k) == [4, 5], "writes reach the source")
    }

    @Test func deletingTheCacheDirectoryLosesNothing() async throws {
        let (store, _, cacheRoot) = try await makeCache(capacity: 1 << 20)
        var expected: [String: [UInt8]] = [:]
        for i in 0..<20 {
            let bytes = randomBytes(1000 + i)
            expected["obj/\(i)"] = bytes
            try await store.put(try ObjectKey("obj/\(i)"), bytes)
            _ = try await store.get(try ObjectKey("obj/\(i)"))
            if i == 10 { TestServices.removeTree(cacheRoot) }  // mid-way, while in use
        }
        TestServices.removeTree(cacheRoot)
        for (name, bytes) in expected {
            #expect(try await store.get(try ObjectKey(name)) == bytes)
            #expect(try await store.get(try ObjectKey(name), range: .suffix(length: 10)) == Array(bytes.suffix(10)))
        }
        // The same data through a brand-new cache over the same source.
        let reopened = await CachingObjectStore(source: store.source, cache: try LocalFileSystemObjectStore(root: cacheRoot), capacityBytes: 1 << 20)
        for (name, bytes) in expected { #expect(try await reopened.get(try ObjectKey(name)) == bytes) }
    }

    @Test func evictsLeastRecentlyUsedPastCapacity() async throws {
        let (store, _, _) = try await makeCache(capacity: 40_000)
        for i in 0..<10 { try await store.put(try ObjectKey("big/\(i)"), randomBytes(10_000)) }
        for i in 0..<10 { _ = try await store.get(try ObjectKey("big/\(i)")) }
        let cached = try await store.cache.listAll(prefix: "")
        let total = cached.reduce(0) { $0 + $1.size }
        #expect(total <= 40_000, "cache holds \(total) bytes")
        #expect(cached.count >= 2)
        // The most recent object is still a hit.
        let hitsBefore = store.statistics.hits
        _ = try await store.get(try ObjectKey("big/9"))
        #expect(store.statistics.hits == hitsBefore + 1)
    }
}
