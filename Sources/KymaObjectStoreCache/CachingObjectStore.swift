// KymaObjectStoreCache: a read-through, size-capped LRU cache in front of any `ObjectStore`.
// The cache is only ever a copy: writes go to the source store first, and deleting the cache's
// directory at any moment loses nothing (the next read is a miss that goes to the source).

import Synchronization
import KymaObjectStore

/// A read-through cache: reads are served from `cache` when present, else fetched from
/// `source` and copied into `cache`; writes and deletes go to `source` and invalidate the copy.
///
/// Entries: a whole object is cached under `o/<h(key)>`, a byte range under
/// `r/<h(key)>-<h(range)>`. Each entry starts with a header holding the original key and
/// range, checked on every hit, so a hash collision or a foreign file is a miss, not wrong data.
/// Failures of the cache store are never surfaced to the caller: the cache is skipped.
///
/// Capacity: when the entries pass `capacityBytes`, the least recently used are deleted until
/// they fit in 90% of it.
public final class CachingObjectStore: ObjectStore {
    public let source: any ObjectStore
    public let cache: any ObjectStore
    public let capacityBytes: Int

    private struct Entry {
        var size: Int
        var lastUse: UInt64
    }

    private struct Index {
        var entries: [String: Entry] = [:]
        var totalBytes = 0
        var clock: UInt64 = 0
    }

    private let index = Mutex(Index())

    /// Hit and miss counters, for tests and EXPLAIN output.
    public struct Statistics: Sendable, Hashable {
        public var hits = 0
        public var misses = 0
    }

    private let statisticsState = Mutex(Statistics())

    public var statistics: Statistics { statisticsState.withLock { $0 } }

    /// Opens the cache, indexing the entries already in `cache` (oldest first in LRU order).
    public init(source: any ObjectStore, cache: any ObjectStore, capacityBytes: Int) async {
        self.source = source
        self.cache = cache
        self.capacityBytes = max(0, capacityBytes)
        // One large page: the local store walks its tree once per page, so small pages would
        // make indexing a big cache quadratic.
        let existing = (try? await cache.listAll(prefix: "", pageSize: 1 << 30)) ?? []
        index.withLock { index in
            for object in existing.sorted(by: { ($0.lastModifiedMillis ?? 0) < ($1.lastModifiedMillis ?? 0) }) {
                index.clock += 1
                index.entries[object.key.rawValue] = Entry(size: object.size, lastUse: index.clock)
                index.totalBytes += object.size
            }
        }
    }

    public var description: String { "cache(\(cache.description)) over \(source.description)" }

    // MARK: - Writes go to the source, then invalidate

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await source.put(key, bytes)
        await invalidate(key)
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await source.putIfAbsent(key, bytes)
        await invalidate(key)
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        try await source.delete(key)
        await invalidate(key)
    }

    // MARK: - Reads

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let entryName = Self.objectEntryName(key)
        if let bytes = await lookup(entryName, key: key, range: nil) { return bytes }
        let bytes = try await source.get(key)
        await store(entryName, key: key, range: nil, bytes: bytes)
        return bytes
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        try range.validate(key: key)
        // A cached whole object serves any range.
        if let whole = await lookup(Self.objectEntryName(key), key: key, range: nil) {
            return Array(whole[try range.resolve(size: whole.count, key: key)])
        }
        let entryName = Self.rangeEntryName(key, range)
        if let bytes = await lookup(entryName, key: key, range: range) { return bytes }
        let bytes = try await source.get(key, range: range)
        await store(entryName, key: key, range: range, bytes: bytes)
        return bytes
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        try await source.head(key)
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await source.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }

    // MARK: - Entries

    static func objectEntryName(_ key: ObjectKey) -> String { "o/" + Self.hash(key.rawValue) }

    static func rangeEntryName(_ key: ObjectKey, _ range: ByteRange) -> String {
        "r/" + Self.hash(key.rawValue) + "-" + Self.hash(range.httpHeaderValue)
    }

    private func lookup(_ entryName: String, key: ObjectKey, range: ByteRange?) async -> [UInt8]? {
        let known = index.withLock { index -> Bool in
            guard index.entries[entryName] != nil else { return false }
            index.clock += 1
            index.entries[entryName]?.lastUse = index.clock
            return true
        }
        guard known, let entryKey = try? ObjectKey(entryName), let stored = try? await cache.get(entryKey),
              let payload = CacheEntryHeader.payload(of: stored, key: key, range: range) else {
            if known { forget(entryName) }
            statisticsState.withLock { $0.misses += 1 }
            return nil
        }
        statisticsState.withLock { $0.hits += 1 }
        return payload
    }

    private func store(_ entryName: String, key: ObjectKey, range: ByteRange?, bytes: [UInt8]) async {
        guard bytes.count <= capacityBytes / 2, let entryKey = try? ObjectKey(entryName) else { return }
        let stored = CacheEntryHeader.encode(key: key, range: range) + bytes
        guard (try? await cache.put(entryKey, stored)) != nil else { return }
        let victims = index.withLock { index -> [String] in
            index.clock += 1
            if let old = index.entries[entryName] { index.totalBytes -= old.size }
            index.entries[entryName] = Entry(size: stored.count, lastUse: index.clock)
            index.totalBytes += stored.count
            guard index.totalBytes > capacityBytes else { return [] }
            var victims: [String] = []
            let target = capacityBytes / 10 * 9
            for (name, entry) in index.entries.sorted(by: { $0.value.lastUse < $1.value.lastUse }) {
                guard index.totalBytes > target else { break }
                index.totalBytes -= entry.size
                index.entries[name] = nil
                victims.append(name)
            }
            return victims
        }
        for victim in victims {
            if let victimKey = try? ObjectKey(victim) { try? await cache.delete(victimKey) }
        }
    }

    private func forget(_ entryName: String) {
        index.withLock { index in
            if let old = index.entries.removeValue(forKey: entryName) { index.totalBytes -= old.size }
        }
    }

    private func invalidate(_ key: ObjectKey) async {
        let objectEntry = Self.objectEntryName(key)
        let rangePrefix = "r/" + Self.hash(key.rawValue) + "-"
        let names = index.withLock { index -> [String] in
            let names = index.entries.keys.filter { $0 == objectEntry || $0.hasPrefix(rangePrefix) }
            for name in names {
                if let old = index.entries.removeValue(forKey: name) { index.totalBytes -= old.size }
            }
            return names
        }
        for name in names {
            if let entryKey = try? ObjectKey(name) { try? await cache.delete(entryKey) }
        }
    }

    /// 128 bits of FNV-1a (two offset bases) as hex: short, fixed-length entry names.
    static func hash(_ text: String) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x6c62_272e_07bb_0142
        for byte in text.utf8 {
            a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let hexA = String(a, radix: 16), hexB = String(b, radix: 16)
        return String(repeating: "0", count: 16 - hexA.count) + hexA + String(repeating: "0", count: 16 - hexB.count) + hexB
    }
}

/// The header of a cache entry: `"KYC1"`, u32 LE length of the identity, then the identity
/// (`key` + NUL + range), then the cached bytes.
enum CacheEntryHeader {
    static let magic: [UInt8] = Array("KYC1".utf8)

    static func identity(key: ObjectKey, range: ByteRange?) -> [UInt8] {
        Array(key.rawValue.utf8) + [0] + Array((range?.httpHeaderValue ?? "whole").utf8)
    }

    static func encode(key: ObjectKey, range: ByteRange?) -> [UInt8] {
        let id = identity(key: key, range: range)
        let length = UInt32(id.count)
        return magic + [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)] + id
    }

    /// The cached bytes when `stored` is the entry of exactly this key and range, else nil.
    static func payload(of stored: [UInt8], key: ObjectKey, range: ByteRange?) -> [UInt8]? {
        guard stored.count >= 8, Array(stored[0..<4]) == magic else { return nil }
        let length = Int(stored[4]) | Int(stored[5]) << 8 | Int(stored[6]) << 16 | Int(stored[7]) << 24
        guard stored.count >= 8 + length, Array(stored[8..<8 + length]) == identity(key: key, range: range) else { return nil }
        return Array(stored[(8 + length)...])
    }
}
