// An object store slowed to look like a remote one: every request waits a first-byte latency,
// and transfers at a bandwidth per request. For benchmarks and fault drills on one machine
// (harness/bench-scaleout, the node-death gate): configured with KYMA_STORE_THROTTLE, it sits
// under the node's cache, so cache hits stay fast as they would against S3.

/// Latency and bandwidth of each request.
public struct StoreThrottle: Sendable, Hashable {
    public var latencyMillis: Double
    /// Bytes per second of one request's transfer; nil: unlimited.
    public var bytesPerSecond: Double?

    public init(latencyMillis: Double, bytesPerSecond: Double? = nil) {
        self.latencyMillis = latencyMillis
        self.bytesPerSecond = bytesPerSecond
    }

    /// Parses `latency_ms=N[,mbps=M]` (M in megabytes per second).
    public static func parse(_ text: String) -> StoreThrottle? {
        var latency: Double?
        var rate: Double?
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: " ") }
            guard pair.count == 2, let value = Double(pair[1]), value >= 0, value.isFinite else { return nil }
            switch pair[0] {
            case "latency_ms": latency = value
            case "mbps": guard value > 0 else { return nil }; rate = value * 1_000_000
            default: return nil
            }
        }
        guard let latency else { return nil }
        return StoreThrottle(latencyMillis: latency, bytesPerSecond: rate)
    }

    func delay(bytes: Int) async throws(ObjectStoreError) {
        let seconds = latencyMillis / 1000 + (bytesPerSecond.map { Double(bytes) / $0 } ?? 0)
        do {
            try await Task.sleep(for: .nanoseconds(Int64(seconds * 1e9)))
        } catch {
            throw ObjectStoreError(.cancelled, "cancelled while throttled")
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(self.drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

/// `base` behind a `StoreThrottle`.
public struct ThrottledObjectStore: ObjectStore {
    public let base: any ObjectStore
    public let throttle: StoreThrottle

    public init(base: any ObjectStore, throttle: StoreThrottle) {
        self.base = base
        self.throttle = throttle
    }

    public var description: String { "\(base.description) (throttled: \(throttle.latencyMillis) ms per request)" }

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await throttle.delay(bytes: bytes.count)
        try await base.put(key, bytes)
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        try await throttle.delay(bytes: bytes.count)
        try await base.putIfAbsent(key, bytes)
    }

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] {
        let bytes = try await base.get(key)
        try await throttle.delay(bytes: bytes.count)
        return bytes
    }

    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] {
        let bytes = try await base.get(key, range: range)
        try await throttle.delay(bytes: bytes.count)
        return bytes
    }

    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata {
        try await throttle.delay(bytes: 0)
        return try await base.head(key)
    }

    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await throttle.delay(bytes: 0)
        return try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }

    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) {
        try await throttle.delay(bytes: 0)
        try await base.delete(key)
    }
}
