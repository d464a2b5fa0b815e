// A store whose puts wait at a gate the test opens: for tests that need a write in flight at a
// known moment (an ingest holding its admission slot, a catalog outage between upload and commit).

import KymaObjectStore
import Synchronization

/// Holds every put until opened: a store for tests that need an ingest in flight.
public final class StoreGate: Sendable {
    public init() {}

    private let state = Mutex<(open: Bool, waiting: Int, continuations: [CheckedContinuation<Void, Never>])>((true, 0, []))

    public func close() { state.withLock { $0.open = false } }

    public func open() {
        let waiting = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            s.waiting = 0
            defer { s.continuations = [] }
            return s.continuations
        }
        for continuation in waiting { continuation.resume() }
    }

    public func pass() async {
        await withCheckedContinuation { continuation in
            let through = state.withLock { s -> Bool in
                if s.open { return true }
                s.waiting += 1
                s.continuations.append(continuation)
                return false
            }
            if through { continuation.resume() }
        }
    }

    /// Whether a put is held at the gate (since it was last opened) within `seconds`.
    public func waitForWaiter(seconds: Double) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.waiting > 0 }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }
}

/// A store whose puts wait at a gate; everything else goes straight to the base store.
public struct GatedStore: ObjectStore {
    public let base: any ObjectStore
    public let gate: StoreGate

    public init(base: any ObjectStore, gate: StoreGate) {
        self.base = base
        self.gate = gate
    }

    public var description: String { "gated(\(base.description))" }

    public func put(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        await gate.pass()
        try await base.put(key, bytes)
    }

    public func putIfAbsent(_ key: ObjectKey, _ bytes: [UInt8]) async throws(ObjectStoreError) {
        await gate.pass()
        try await base.putIfAbsent(key, bytes)
    }

    public func get(_ key: ObjectKey) async throws(ObjectStoreError) -> [UInt8] { try await base.get(key) }
    public func get(_ key: ObjectKey, range: ByteRange) async throws(ObjectStoreError) -> [UInt8] { try await base.get(key, range: range) }
    public func head(_ key: ObjectKey) async throws(ObjectStoreError) -> ObjectMetadata { try await base.head(key) }
    public func list(prefix: String, pageToken: String?, maxKeys: Int) async throws(ObjectStoreError) -> ObjectListing {
        try await base.list(prefix: prefix, pageToken: pageToken, maxKeys: maxKeys)
    }
    public func delete(_ key: ObjectKey) async throws(ObjectStoreError) { try await base.delete(key) }
}
